/* Unit tests of src/jobs/job.c: the job record's ownership helpers, jobs
 * made from requests, the status JSON of DESIGN.md §3 (every field, nulls,
 * RFC 3339 times, never the secret), the callback body of §9, and the
 * SHA-256 / HMAC-SHA256 digests against published vectors. */
#include "hc_test.h"
#include "jobs/hc_jobs.h"

#include <jansson.h>
#include <string.h>

static hc_request *parse(const char *body) {
    hc_request_opts opts = {false, NULL};
    hc_request *req = NULL;
    hc_err err = {0};
    if (hc_request_parse(body, strlen(body), &opts, &req, &err) < 0) {
        fprintf(stderr, "    parse: %s\n", err.msg);
        return NULL;
    }
    return req;
}

static const char *secret_body =
    "{\"job_id\":\"cb-1\",\"images\":[\"https://a.example/x.jpg\"],"
    "\"callback_url\":\"https://app.example/hook\",\"callback_secret\":\"s3cr3t-value\","
    "\"metadata\":{\"user\":42,\"tag\":\"x\"},\"priority\":7,\"settings\":{\"hardware\":\"gpu\"}}";

/* A finished job with every field set (2024-01-02T03:04:05.678Z etc.). */
static void full_job(hc_job *job) {
    hc_request *req = parse(secret_body);
    hc_job_from_request(job, req);
    hc_request_free(req);
    job->status = HC_JOB_COMPLETED;
    job->progress = 100;
    snprintf(job->current_step, sizeof job->current_step, "finalizing");
    job->frames_done = 450;
    job->frames_total = 450;
    hc_job_set_str(&job->output_url, "https://cdn.example/renders/cb-1.mp4");
    hc_job_set_str(&job->poster_url, "https://cdn.example/renders/cb-1.jpg");
    snprintf(job->batch_job_id, sizeof job->batch_job_id, "local-1234");
    job->created_us = 1704164645678000;
    job->started_us = 1704164646000000;
    job->finished_us = 1704164700500000;
    job->duration_s = 15.0;
    job->render_s = 12.5;
    snprintf(job->encoder, sizeof job->encoder, "libx264");
    hc_job_set_str(&job->encoder_reason, "NVENC unavailable: no device");
    job->attempts = 2;
    hc_job_set_str(&job->warnings, "[\"images[1]: upscaled\"]");
}

static json_t *load(const char *text) {
    return json_loads(text, 0, NULL);
}

HC_TEST(job_status_names) {
    CHECK(strcmp(hc_job_status_names[HC_JOB_QUEUED], "queued") == 0);
    CHECK(strcmp(hc_job_status_names[HC_JOB_PROCESSING], "processing") == 0);
    CHECK(strcmp(hc_job_status_names[HC_JOB_COMPLETED], "completed") == 0);
    CHECK(strcmp(hc_job_status_names[HC_JOB_FAILED], "failed") == 0);
    CHECK(strcmp(hc_job_status_names[HC_JOB_CANCELED], "canceled") == 0);
    CHECK(hc_job_status_names[HC_JOB_STATUS_COUNT] == NULL);
    CHECK(!hc_job_status_final(HC_JOB_QUEUED) && !hc_job_status_final(HC_JOB_PROCESSING));
    CHECK(hc_job_status_final(HC_JOB_COMPLETED) && hc_job_status_final(HC_JOB_FAILED) &&
          hc_job_status_final(HC_JOB_CANCELED));
    CHECK(HC_JOB_MASK_FINAL == (HC_JOB_MASK(HC_JOB_COMPLETED) | HC_JOB_MASK(HC_JOB_FAILED) |
                                HC_JOB_MASK(HC_JOB_CANCELED)));
}

HC_TEST(job_from_request_fields) {
    hc_request *req = parse(secret_body);
    CHECK(req);
    hc_job job;
    hc_job_from_request(&job, req);
    CHECK(strcmp(job.job_id, "cb-1") == 0);
    CHECK(job.status == HC_JOB_QUEUED);
    CHECK(job.request && strcmp(job.request, req->canonical_json) == 0);
    char hex[65];
    hc_sha256_hex(req->canonical_json, strlen(req->canonical_json), hex);
    CHECK(strcmp(job.request_sha256, hex) == 0);
    CHECK(job.priority == 7);
    CHECK(job.hardware == HC_HW_GPU);
    CHECK(job.metadata && strcmp(job.metadata, req->metadata_json) == 0);
    CHECK(job.output_key && strcmp(job.output_key, "renders/cb-1.mp4") == 0);
    CHECK(job.created_us > 1600000000000000 && job.updated_us == job.created_us);
    CHECK(job.progress == 0 && job.attempts == 0 && job.seq == 0);
    CHECK(job.cb_state == HC_CB_NONE && !job.output_url && !job.error_message);
    CHECK(hc_job_has_callback(&job));
    hc_job_fini(&job);
    hc_request_free(req);
}

HC_TEST(job_from_request_output_key) {
    hc_request *req = parse("{\"job_id\":\"k-1\",\"images\":[\"https://a.example/x.jpg\"],"
                            "\"output\":{\"s3_bucket\":\"b\",\"s3_key\":\"custom/out.mp4\"}}");
    CHECK(req);
    hc_job job;
    hc_job_from_request(&job, req);
    hc_request_free(req);
    CHECK(strcmp(job.output_key, "custom/out.mp4") == 0);
    CHECK(!job.metadata && job.priority == 0 && job.hardware == HC_HW_AUTO);
    CHECK(!hc_job_has_callback(&job));
    hc_job_fini(&job);
}

HC_TEST(job_has_callback) {
    hc_job job = {0};
    CHECK(!hc_job_has_callback(&job));
    CHECK(!hc_job_has_callback(NULL));
    hc_job_set_str(&job.request, "{\"callback_url\":\"\"}");
    CHECK(!hc_job_has_callback(&job));
    hc_job_set_str(&job.request, "{\"callback_url\":null}");
    CHECK(!hc_job_has_callback(&job));
    hc_job_set_str(&job.request, "not json");
    CHECK(!hc_job_has_callback(&job));
    hc_job_set_str(&job.request, "{\"callback_url\":\"http://h/cb\"}");
    CHECK(hc_job_has_callback(&job));
    hc_job_fini(&job);
}

HC_TEST(job_copy_is_deep_and_fini_zeroes) {
    hc_job a;
    full_job(&a);
    hc_job_set_str(&a.error_message, "boom");
    hc_job_set_str(&a.cb_last_error, "HTTP 500");
    hc_job b;
    hc_job_copy(&b, &a);
    CHECK(strcmp(b.job_id, a.job_id) == 0 && b.created_us == a.created_us);
    CHECK(b.request != a.request && strcmp(b.request, a.request) == 0);
    CHECK(b.output_url != a.output_url && strcmp(b.output_url, a.output_url) == 0);
    CHECK(b.error_message != a.error_message && strcmp(b.cb_last_error, "HTTP 500") == 0);
    CHECK(b.warnings != a.warnings && b.metadata != a.metadata && b.output_key != a.output_key);
    hc_job_fini(&a);
    CHECK(a.request == NULL && a.job_id[0] == 0 && a.created_us == 0);
    hc_job_fini(&a); /* twice is harmless */
    CHECK(strcmp(b.encoder_reason, "NVENC unavailable: no device") == 0);
    hc_job_fini(&b);
}

HC_TEST(job_set_str_and_error) {
    hc_job job = {0};
    hc_job_set_str(&job.output_url, "a");
    hc_job_set_str(&job.output_url, job.output_url); /* self-assignment is safe */
    CHECK(strcmp(job.output_url, "a") == 0);
    hc_job_set_str(&job.output_url, NULL);
    CHECK(job.output_url == NULL);
    job.status = HC_JOB_PROCESSING;
    hc_job_set_error(&job, HC_EMEDIA, "images[0]: not an image");
    CHECK(job.status == HC_JOB_FAILED);
    CHECK(strcmp(job.error_code, "MEDIA") == 0);
    CHECK(strcmp(job.error_message, "images[0]: not an image") == 0);
    CHECK(job.finished_us > 0);
    hc_job_fini(&job);
}

HC_TEST(job_status_json_every_field) {
    hc_job job;
    full_job(&job);
    char *text = hc_job_status_json(&job, NULL, NULL);
    json_t *o = load(text);
    CHECKF(json_is_object(o), "not an object: %s", text);
    const char *keys[] = {"job_id",     "status",      "progress",       "current_step",
                          "output_url", "poster_url",  "error",          "batch_job_id",
                          "created_at", "started_at",  "finished_at",    "duration_s",
                          "render_s",   "encoder",     "encoder_reason", "attempts",
                          "metadata",   "frames_done", "frames_total",   "priority",
                          "warnings",   "callback"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        CHECKF(json_object_get(o, keys[i]), "missing %s in %s", keys[i], text);
    CHECK(json_object_size(o) == sizeof keys / sizeof keys[0]);
    CHECK(strcmp(json_string_value(json_object_get(o, "job_id")), "cb-1") == 0);
    CHECK(strcmp(json_string_value(json_object_get(o, "status")), "completed") == 0);
    CHECK(json_integer_value(json_object_get(o, "progress")) == 100);
    CHECK(strcmp(json_string_value(json_object_get(o, "current_step")), "finalizing") == 0);
    CHECK(strcmp(json_string_value(json_object_get(o, "output_url")),
                 "https://cdn.example/renders/cb-1.mp4") == 0);
    CHECK(strcmp(json_string_value(json_object_get(o, "poster_url")),
                 "https://cdn.example/renders/cb-1.jpg") == 0);
    CHECK(json_is_null(json_object_get(o, "error")));
    CHECK(strcmp(json_string_value(json_object_get(o, "batch_job_id")), "local-1234") == 0);
    CHECK(strcmp(json_string_value(json_object_get(o, "created_at")), "2024-01-02T03:04:05.678Z") ==
          0);
    CHECK(strcmp(json_string_value(json_object_get(o, "started_at")), "2024-01-02T03:04:06.000Z") ==
          0);
    CHECK(strcmp(json_string_value(json_object_get(o, "finished_at")),
                 "2024-01-02T03:05:00.500Z") == 0);
    CHECK(json_number_value(json_object_get(o, "duration_s")) == 15.0);
    CHECK(json_number_value(json_object_get(o, "render_s")) == 12.5);
    CHECK(strcmp(json_string_value(json_object_get(o, "encoder")), "libx264") == 0);
    CHECK(strcmp(json_string_value(json_object_get(o, "encoder_reason")),
                 "NVENC unavailable: no device") == 0);
    CHECK(json_integer_value(json_object_get(o, "attempts")) == 2);
    json_t *m = json_object_get(o, "metadata");
    CHECK(json_is_object(m) && json_integer_value(json_object_get(m, "user")) == 42);
    CHECK(strcmp(json_string_value(json_object_get(m, "tag")), "x") == 0);
    CHECK(json_integer_value(json_object_get(o, "frames_done")) == 450);
    CHECK(json_integer_value(json_object_get(o, "frames_total")) == 450);
    CHECK(json_integer_value(json_object_get(o, "priority")) == 7);
    json_t *w = json_object_get(o, "warnings");
    CHECK(json_is_array(w) && json_array_size(w) == 1);
    CHECK(strcmp(json_string_value(json_array_get(w, 0)), "images[1]: upscaled") == 0);
    json_decref(o);
    free(text);
    hc_job_fini(&job);
}

HC_TEST(job_status_json_queued_nulls) {
    hc_request *req = parse("{\"job_id\":\"q-1\",\"images\":[\"https://a.example/x.jpg\"]}");
    CHECK(req);
    hc_job job;
    hc_job_from_request(&job, req);
    hc_request_free(req);
    char *text = hc_job_status_json(&job, NULL, NULL);
    json_t *o = load(text);
    CHECK(json_is_object(o));
    CHECK(strcmp(json_string_value(json_object_get(o, "status")), "queued") == 0);
    CHECK(json_integer_value(json_object_get(o, "progress")) == 0);
    const char *nulls[] = {"current_step", "output_url", "poster_url",     "error",
                           "batch_job_id", "started_at", "finished_at",    "duration_s",
                           "render_s",     "encoder",    "encoder_reason", "metadata"};
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
        CHECKF(json_is_null(json_object_get(o, nulls[i])), "%s not null in %s", nulls[i], text);
    const char *created = json_string_value(json_object_get(o, "created_at"));
    /* RFC 3339 UTC with milliseconds: YYYY-MM-DDTHH:MM:SS.mmmZ */
    CHECK(created && strlen(created) == 24 && created[4] == '-' && created[10] == 'T' &&
          created[19] == '.' && created[23] == 'Z');
    CHECK(json_is_array(json_object_get(o, "warnings")) &&
          json_array_size(json_object_get(o, "warnings")) == 0);
    json_decref(o);
    free(text);
    hc_job_fini(&job);
}

HC_TEST(job_status_json_error_and_url_override) {
    hc_job job;
    full_job(&job);
    hc_job_set_error(&job, HC_ETIMEOUT, "render exceeded 900 s");
    char *text = hc_job_status_json(&job, "https://signed.example/a?sig=1", "https://signed/p");
    json_t *o = load(text);
    CHECK(strcmp(json_string_value(json_object_get(o, "status")), "failed") == 0);
    json_t *e = json_object_get(o, "error");
    CHECK(json_is_object(e));
    CHECK(strcmp(json_string_value(json_object_get(e, "code")), "TIMEOUT") == 0);
    CHECK(strcmp(json_string_value(json_object_get(e, "message")), "render exceeded 900 s") == 0);
    CHECK(strcmp(json_string_value(json_object_get(o, "output_url")),
                 "https://signed.example/a?sig=1") == 0);
    CHECK(strcmp(json_string_value(json_object_get(o, "poster_url")), "https://signed/p") == 0);
    json_decref(o);
    free(text);
    hc_job_fini(&job);
}

/* DESIGN.md §3: a job with a callback_url shows the delivery state. */
HC_TEST(job_status_json_callback) {
    hc_job job;
    full_job(&job);
    char *text = hc_job_status_json(&job, NULL, NULL);
    json_t *o = load(text);
    json_t *c = json_object_get(o, "callback");
    CHECKF(json_is_object(c), "%s", text);
    CHECK(strcmp(json_string_value(json_object_get(c, "state")), "pending") == 0);
    CHECK(json_integer_value(json_object_get(c, "attempts")) == 0);
    CHECK(json_is_null(json_object_get(c, "last_error")));
    CHECK(json_is_null(json_object_get(c, "delivered_at")));
    json_decref(o);
    free(text);
    job.cb_state = HC_CB_DELIVERED;
    job.cb_attempts = 2;
    job.cb_delivered_us = 1700000000500000;
    hc_job_set_str(&job.cb_last_error, "HTTP 502");
    text = hc_job_status_json(&job, NULL, NULL);
    o = load(text);
    c = json_object_get(o, "callback");
    CHECK(strcmp(json_string_value(json_object_get(c, "state")), "delivered") == 0);
    CHECK(json_integer_value(json_object_get(c, "attempts")) == 2);
    CHECK(strcmp(json_string_value(json_object_get(c, "last_error")), "HTTP 502") == 0);
    const char *at = json_string_value(json_object_get(c, "delivered_at"));
    CHECKF(at && strncmp(at, "2023-11-14T22:13:20", 19) == 0, "%s", at ? at : "(null)");
    json_decref(o);
    free(text);
    job.cb_state = HC_CB_GAVE_UP;
    text = hc_job_status_json(&job, NULL, NULL);
    CHECK(strstr(text, "\"state\":\"failed\""));
    free(text);
    hc_job_fini(&job);
    /* No callback_url: no callback object. */
    memset(&job, 0, sizeof job);
    snprintf(job.job_id, sizeof job.job_id, "plain");
    job.request = hc_strdup("{\"images\":[]}");
    text = hc_job_status_json(&job, NULL, NULL);
    CHECK(!strstr(text, "callback"));
    free(text);
    hc_job_fini(&job);
}

HC_TEST(job_status_json_never_has_secret) {
    hc_job job;
    full_job(&job);
    job.cb_state = HC_CB_PENDING;
    snprintf(job.cb_delivery, sizeof job.cb_delivery, "dlv_0123");
    hc_job_set_str(&job.cb_last_error, "HTTP 500");
    CHECK(strstr(job.request, "s3cr3t-value")); /* the stored request does carry it */
    char *text = hc_job_status_json(&job, NULL, NULL);
    CHECK(!strstr(text, "s3cr3t-value"));
    CHECK(!strstr(text, "callback_url") && !strstr(text, "callback_secret"));
    CHECK(!strstr(text, "app.example/hook"));
    CHECK(!strstr(text, "a.example/x.jpg")); /* nor the request */
    free(text);
    /* A metadata value cannot smuggle anything either: it is echoed as is. */
    text = hc_job_callback_json(&job, NULL);
    CHECK(!strstr(text, "s3cr3t-value") && !strstr(text, "\"secret\""));
    free(text);
    hc_job_fini(&job);
}

HC_TEST(job_callback_json) {
    hc_job job;
    full_job(&job);
    char *text = hc_job_callback_json(&job, NULL);
    json_t *o = load(text);
    CHECKF(json_is_object(o), "%s", text);
    const char *keys[] = {"job_id", "status",   "output_url", "poster_url",
                          "error",  "metadata", "duration_s", "render_s"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        CHECKF(json_object_get(o, keys[i]), "missing %s in %s", keys[i], text);
    CHECK(json_object_size(o) == sizeof keys / sizeof keys[0]);
    CHECK(strcmp(json_string_value(json_object_get(o, "status")), "completed") == 0);
    CHECK(json_number_value(json_object_get(o, "duration_s")) == 15.0);
    CHECK(json_integer_value(json_object_get(json_object_get(o, "metadata"), "user")) == 42);
    CHECK(json_is_null(json_object_get(o, "error")));
    json_decref(o);
    free(text);

    text = hc_job_callback_json(&job, "legacy-secret");
    o = load(text);
    CHECK(json_object_size(o) == sizeof keys / sizeof keys[0] + 1);
    CHECK(strcmp(json_string_value(json_object_get(o, "secret")), "legacy-secret") == 0);
    json_decref(o);
    free(text);
    hc_job_fini(&job);
}

HC_TEST(job_sha256_vectors) {
    char hex[65];
    hc_sha256_hex("", 0, hex);
    CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
    hc_sha256_hex("abc", 3, hex);
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hc_sha256_hex(two, strlen(two), hex);
    CHECK(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0);
}

HC_TEST(job_hmac_sha256_vectors) {
    char hex[65];
    /* RFC 4231 test case 2. */
    const char *data = "what do ya want for nothing?";
    hc_hmac_sha256_hex("Jefe", data, strlen(data), hex);
    CHECK(strcmp(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") == 0);
    /* RFC 4231 test case 1: key 0x0b x 20, "Hi There". */
    char key[21];
    memset(key, 0x0b, 20);
    key[20] = 0;
    hc_hmac_sha256_hex(key, "Hi There", 8, hex);
    CHECK(strcmp(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7") == 0);
}
