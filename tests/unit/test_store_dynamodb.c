/* The DynamoDB store's codec and request bodies (src/store/store_dynamodb.c),
 * without a server: the item written for a job (names and types from the
 * field table, DESIGN.md §11), its decoding back, the conditional
 * UpdateItem of a field update and the CreateTable request. The store
 * against a DynamoDB-compatible server is tests/contract/test_store.c. */
#include "hc_test.h"
#include "store/store_int.h"

#include <jansson.h>
#include <string.h>

static const char *s_of(json_t *item, const char *name) {
    return json_string_value(json_object_get(json_object_get(item, name), "S"));
}

static const char *n_of(json_t *item, const char *name) {
    return json_string_value(json_object_get(json_object_get(item, name), "N"));
}

static void sample(hc_job *j) {
    memset(j, 0, sizeof *j);
    snprintf(j->job_id, sizeof j->job_id, "ddb-1");
    j->status = HC_JOB_COMPLETED;
    j->progress = 100;
    j->frames_done = j->frames_total = 450;
    j->request = hc_strdup("{\"job_id\":\"ddb-1\"}");
    snprintf(j->request_sha256, sizeof j->request_sha256, "%064d", 7);
    j->priority = -3;
    j->hardware = HC_HW_GPU;
    j->seq = 1700000000123456042; /* created_us 1700000000123456, tick 42 */
    j->created_us = 1700000000123456;
    j->started_us = 1700000001000001;
    j->finished_us = 1700000099999999;
    j->updated_us = 1700000100000000;
    j->output_url = hc_strdup("https://b.s3.amazonaws.com/renders/ddb-1.mp4");
    j->output_key = hc_strdup("renders/ddb-1.mp4");
    j->error_message = hc_strdup(""); /* an empty string, not NULL */
    j->duration_s = 15.25;
    j->render_s = 0.1;
    snprintf(j->encoder, sizeof j->encoder, "h264_nvenc");
    j->attempts = 2;
    j->attempt = 5;
    j->cb_state = HC_CB_DELIVERED;
    j->cb_attempts = 1;
    j->cb_delivered_us = 1700000101000000;
    snprintf(j->cb_delivery, sizeof j->cb_delivery, "dlv_00");
}

HC_TEST(store_dynamodb_item_names_and_types) {
    hc_job j;
    sample(&j);
    json_t *item = store_ddb_item(&j);
    CHECK(strcmp(s_of(item, "job_id"), "ddb-1") == 0);
    CHECK(strcmp(s_of(item, "status"), "completed") == 0);
    CHECK(strcmp(n_of(item, "progress"), "100") == 0);
    CHECK(strcmp(s_of(item, "hardware"), "gpu") == 0);
    CHECK(strcmp(n_of(item, "priority"), "-3") == 0);
    CHECK(strcmp(s_of(item, "request"), j.request) == 0);
    /* Times in epoch milliseconds; created_ms carries seq (6 decimals). */
    CHECKF(strcmp(n_of(item, "created_ms"), "1700000000123.456042") == 0, "%s",
           n_of(item, "created_ms"));
    CHECK(strcmp(n_of(item, "started_ms"), "1700000001000.001") == 0);
    CHECK(strcmp(n_of(item, "updated_ms"), "1700000100000.000") == 0);
    CHECK(strcmp(n_of(item, "callback_delivered_ms"), "1700000101000.000") == 0);
    CHECK(strcmp(n_of(item, "attempt"), "5") == 0 && strcmp(n_of(item, "attempts"), "2") == 0);
    CHECK(strcmp(s_of(item, "callback_state"), "delivered") == 0);
    CHECK(strcmp(n_of(item, "duration_s"), "15.25") == 0);
    /* ttl: 30 days after the final state, in epoch seconds. */
    CHECK(strcmp(n_of(item, "ttl"), "1702592099") == 0);
    /* NULL strings and empty buffers are left out; "" stays a string. */
    CHECK(!json_object_get(item, "poster_url") && !json_object_get(item, "error_code"));
    CHECK(!json_object_get(item, "current_step") && !json_object_get(item, "seq"));
    CHECK(s_of(item, "error_message") && !*s_of(item, "error_message"));
    /* Every attribute is a {"S"} or {"N"}. */
    const char *k;
    json_t *v;
    json_object_foreach(item, k, v) {
        CHECKF(json_object_size(v) == 1 && (json_object_get(v, "S") || json_object_get(v, "N")),
               "%s", k);
    }
    json_decref(item);
    /* Not final: no ttl. */
    j.status = HC_JOB_PROCESSING;
    item = store_ddb_item(&j);
    CHECK(!json_object_get(item, "ttl"));
    json_decref(item);
    hc_job_fini(&j);
}

HC_TEST(store_dynamodb_item_round_trip) {
    hc_job j, got;
    sample(&j);
    json_t *item = store_ddb_item(&j);
    hc_err err = {0};
    CHECKF(store_ddb_job_from_item(item, &got, "dynamodb:t", &err) == 0, "%s", err.msg);
    CHECK(strcmp(got.job_id, j.job_id) == 0 && got.status == j.status);
    CHECK(got.seq == j.seq && got.created_us == j.created_us);
    CHECK(got.started_us == j.started_us && got.finished_us == j.finished_us);
    CHECK(got.updated_us == j.updated_us && got.cb_delivered_us == j.cb_delivered_us);
    CHECK(got.duration_s == j.duration_s && got.render_s == j.render_s);
    CHECK(got.priority == -3 && got.hardware == HC_HW_GPU && got.attempt == 5);
    CHECK(got.poster_url == NULL && got.error_message && !*got.error_message);
    CHECK(strcmp(got.output_key, j.output_key) == 0 && strcmp(got.encoder, "h264_nvenc") == 0);
    CHECK(got.cb_state == HC_CB_DELIVERED && strcmp(got.cb_delivery, "dlv_00") == 0);
    hc_job_fini(&got);
    /* DynamoDB drops trailing zeros of numbers: still the same time. */
    json_object_set_new(item, "started_ms", json_pack("{s:s}", "N", "1700000001000"));
    json_object_set_new(item, "created_ms", json_pack("{s:s}", "N", "1700000000123.45"));
    CHECK(store_ddb_job_from_item(item, &got, "dynamodb:t", NULL) == 0);
    CHECK(got.started_us == 1700000001000000 && got.seq == 1700000000123450000);
    hc_job_fini(&got);
    /* Unreadable attributes name themselves. */
    json_object_set_new(item, "status", json_pack("{s:s}", "S", "exploded"));
    CHECK(store_ddb_job_from_item(item, &got, "dynamodb:t", &err) == HC_EIO);
    CHECKF(strstr(err.msg, "status") && strstr(err.msg, "dynamodb:t"), "%s", err.msg);
    json_object_set_new(item, "status", json_pack("{s:s}", "S", "queued"));
    json_object_set_new(item, "progress", json_pack("{s:s}", "S", "12"));
    err = (hc_err){0};
    CHECK(store_ddb_job_from_item(item, &got, "dynamodb:t", &err) == HC_EIO);
    CHECK(strstr(err.msg, "progress"));
    json_decref(item);
    hc_job_fini(&j);
}

HC_TEST(store_dynamodb_update_body) {
    hc_job j;
    sample(&j);
    j.status = HC_JOB_COMPLETED;
    j.current_step[0] = 0;
    uint64_t fields = HC_JOB_FIELD(STATUS) | HC_JOB_FIELD(PROGRESS) | HC_JOB_FIELD(CURRENT_STEP) |
                      HC_JOB_FIELD(FINISHED);
    json_t *b =
        store_ddb_update_body("tbl", "ddb-1", fields, &j, HC_JOB_MASK(HC_JOB_PROCESSING), 5);
    char *text = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK(strcmp(json_string_value(json_object_get(b, "TableName")), "tbl") == 0);
    CHECK(strcmp(s_of(json_object_get(b, "Key"), "job_id"), "ddb-1") == 0);
    const char *ue = json_string_value(json_object_get(b, "UpdateExpression"));
    const char *ce = json_string_value(json_object_get(b, "ConditionExpression"));
    json_t *names = json_object_get(b, "ExpressionAttributeNames");
    json_t *vals = json_object_get(b, "ExpressionAttributeValues");
    /* status, progress, finished_ms and ttl set; the empty step removed. */
    CHECKF(strcmp(ue, "SET #n2 = :v2, #n3 = :v3, #n19 = :v19, #ttl = :ttl REMOVE #n4") == 0, "%s",
           ue);
    CHECKF(strcmp(ce, "attribute_exists(#n1) AND #n2 IN (:e1) AND #n33 = :att") == 0, "%s", ce);
    CHECK(strcmp(json_string_value(json_object_get(names, "#n2")), "status") == 0);
    CHECK(strcmp(json_string_value(json_object_get(names, "#n4")), "current_step") == 0);
    CHECK(strcmp(json_string_value(json_object_get(names, "#n33")), "attempt") == 0);
    CHECK(strcmp(json_string_value(json_object_get(names, "#ttl")), "ttl") == 0);
    CHECK(strcmp(s_of(vals, ":v2"), "completed") == 0 &&
          strcmp(s_of(vals, ":e1"), "processing") == 0);
    CHECK(strcmp(n_of(vals, ":att"), "5") == 0 && strcmp(n_of(vals, ":ttl"), "1702592099") == 0);
    /* No name or value unused (DynamoDB refuses those). */
    const char *k;
    json_t *v;
    json_object_foreach(names, k, v) {
        CHECKF(strstr(ue, k) || strstr(ce, k), "unused name %s in %s", k, text);
    }
    json_object_foreach(vals, k, v) {
        CHECKF(strstr(ue, k) || strstr(ce, k), "unused value %s in %s", k, text);
    }
    free(text);
    json_decref(b);
    /* Back to queued (a retry): ttl removed; any attempt: no attempt condition. */
    j.status = HC_JOB_QUEUED;
    b = store_ddb_update_body("tbl", "ddb-1", HC_JOB_FIELD(STATUS), &j,
                              HC_JOB_MASK(HC_JOB_FAILED) | HC_JOB_MASK(HC_JOB_CANCELED),
                              HC_STORE_ANY_ATTEMPT);
    ue = json_string_value(json_object_get(b, "UpdateExpression"));
    ce = json_string_value(json_object_get(b, "ConditionExpression"));
    CHECKF(strcmp(ue, "SET #n2 = :v2 REMOVE #ttl") == 0, "%s", ue);
    CHECKF(strcmp(ce, "attribute_exists(#n1) AND #n2 IN (:e3, :e4)") == 0, "%s", ce);
    json_decref(b);
    hc_job_fini(&j);
}

/* DESIGN.md §11, exactly: hash job_id S; index status-created (status S,
 * created_ms N), projection ALL. */
HC_TEST(store_dynamodb_create_table_body) {
    json_t *b = store_ddb_create_table_body("hydra-compose-jobs");
    json_t *want = json_loads(
        "{\"TableName\":\"hydra-compose-jobs\",\"BillingMode\":\"PAY_PER_REQUEST\","
        "\"AttributeDefinitions\":[{\"AttributeName\":\"job_id\",\"AttributeType\":\"S\"},"
        "{\"AttributeName\":\"status\",\"AttributeType\":\"S\"},"
        "{\"AttributeName\":\"created_ms\",\"AttributeType\":\"N\"}],"
        "\"KeySchema\":[{\"AttributeName\":\"job_id\",\"KeyType\":\"HASH\"}],"
        "\"GlobalSecondaryIndexes\":[{\"IndexName\":\"status-created\","
        "\"KeySchema\":[{\"AttributeName\":\"status\",\"KeyType\":\"HASH\"},"
        "{\"AttributeName\":\"created_ms\",\"KeyType\":\"RANGE\"}],"
        "\"Projection\":{\"ProjectionType\":\"ALL\"}}]}",
        0, NULL);
    char *got = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
    CHECKF(want && json_equal(b, want), "%s", got);
    free(got);
    json_decref(want);
    json_decref(b);
}
