/* The DynamoDB job store ("dynamodb:TABLE"): the store of the serverless
 * deployment (DESIGN.md §11), shared by the Lambda API, the Batch workers
 * and the `jobs` command. Every request goes through hc_aws_json (signed,
 * retried on throttling and 5xx).
 *
 * The table: hash key job_id (S); global secondary index status-created
 * (hash status S, range created_ms N, projection ALL). One item per job,
 * its attributes named and typed by the store's field table
 * (HC_JOB_FIELDS, the same one that drives SQLite): strings S (absent when
 * NULL or an empty buffer), numbers N, times "<x>_ms" in epoch
 * milliseconds, plus ttl (N, epoch seconds) 30 days after a final state.
 *
 * seq, the store's insertion order, is not an attribute of its own: it is
 * created_ms with six decimals, created_us * 1000 plus a per-process
 * counter in the last three digits, so the index sorts by it and no two
 * jobs created by one process share it.
 *
 * Invariants:
 *  - create is a PutItem conditional on attribute_not_exists(job_id), so
 *    a job id is taken once (the loser gets HC_EEXISTS and the stored job);
 *  - get is a consistent GetItem;
 *  - every other write is one UpdateItem of the fields it is given,
 *    conditional on the job existing, its status being in the expected set
 *    and (when asked) its attempt being the writer's: a late or duplicate
 *    worker, or one of an older attempt, never overwrites a final state or
 *    a newer attempt;
 *  - listings read the status-created index (one Query per status, paged
 *    with LastEvaluatedKey): they are eventually consistent, as DynamoDB's
 *    indexes are, and every caller that acts on a listed job re-reads it
 *    with get first. Queue order reads the whole of the statuses asked for
 *    (the index has no priority) and sorts here. */
#include "store/hc_store.h"
#include "store/store_int.h"
#include "cloud/hc_cloud.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INDEX_NAME     "status-created"
#define DEFAULT_TABLE  "hydra-compose-jobs" /* DESIGN.md §11, as the original's */
#define TTL_DAYS       30
#define TARGET         "DynamoDB_20120810."
#define ACTIVE_WAIT_US (120 * 1000000LL)

typedef struct ddb_priv {
    char *table;
    hc_aws *aws;
} ddb_priv;

/* The last three digits of seq: jobs one process creates in the same
 * microsecond still sort apart. */
static atomic_uint seq_tick;

/* ---- numbers ----------------------------------------------------------------- */

/* Unix µs as epoch milliseconds "MS.UUU". */
static void ms_text(int64_t us, char *buf, size_t len) {
    if (us < 0) us = 0;
    snprintf(buf, len, "%" PRId64 ".%03" PRId64, us / 1000, us % 1000);
}

/* seq as created_ms: "MS.UUUKKK". */
static void seq_text(int64_t seq, char *buf, size_t len) {
    if (seq < 0) seq = 0;
    snprintf(buf, len, "%" PRId64 ".%06" PRId64, seq / 1000000, seq % 1000000);
}

/* A DynamoDB number as an integer scaled by 10^decimals (truncated); false
 * when it is not a plain non-negative decimal (DynamoDB answers numbers as
 * they were written, with trailing zeros dropped). */
static bool parse_scaled(const char *s, int decimals, int64_t *out) {
    int64_t v = 0;
    const char *p = s;
    if (!p || !*p) return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (INT64_MAX - 9) / 10) return false;
        v = v * 10 + (*p - '0');
    }
    int d = 0;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (d < decimals) {
                v = v * 10 + (*p - '0');
                d++;
            }
    }
    if (*p) return false;
    for (; d < decimals; d++) {
        if (v > INT64_MAX / 10) return false;
        v *= 10;
    }
    *out = v;
    return true;
}

/* ---- the item codec (store_int.h) ---------------------------------------------- */

static json_t *av_s(const char *s) {
    return json_pack("{s:s}", "S", s);
}

static json_t *av_n(const char *n) {
    return json_pack("{s:s}", "N", n);
}

static json_t *av_i64(int64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return av_n(buf);
}

/* The attribute value of field f of job, or NULL when the item leaves it
 * out (a NULL string, an empty buffer, seq: created_ms carries it). */
static json_t *field_value(hc_job_field f, const hc_job *job) {
    const store_field *fd = &store_fields[f];
    const char *base = (const char *)job + fd->off;
    char buf[64];
    switch (fd->kind) {
    case STORE_K_SEQ:
        return NULL;
    case STORE_K_BUF:
        return *base ? av_s(base) : NULL;
    case STORE_K_STR: {
        const char *v = *(char *const *)(const void *)base;
        return v ? av_s(v) : NULL;
    }
    case STORE_K_INT:
        return av_i64(*(const int *)(const void *)base);
    case STORE_K_I64:
        return av_i64(*(const int64_t *)(const void *)base);
    case STORE_K_REAL: {
        double d = *(const double *)(const void *)base;
        if (!isfinite(d)) d = 0;
        /* Shortest exact form, but never an exponent. */
        snprintf(buf, sizeof buf, "%.17g", d);
        if (strchr(buf, 'e')) snprintf(buf, sizeof buf, "%.9f", d);
        return av_n(buf);
    }
    case STORE_K_TIME:
        if (f == HC_JOB_F_CREATED)
            seq_text(job->seq, buf, sizeof buf);
        else
            ms_text(*(const int64_t *)(const void *)base, buf, sizeof buf);
        return av_n(buf);
    case STORE_K_STATUS:
    case STORE_K_HW:
    case STORE_K_CB: {
        int v = *(const int *)(const void *)base;
        return av_s(store_kind_names(fd->kind)[v]);
    }
    }
    return NULL;
}

/* ttl for a job in status st whose state was written at at_us: epoch
 * seconds TTL_DAYS after a final state; 0 = none (not final). */
static int64_t ttl_for(hc_job_status st, int64_t at_us) {
    if (!hc_job_status_final(st)) return 0;
    return at_us / 1000000 + TTL_DAYS * 86400LL;
}

json_t *store_ddb_item(const hc_job *job) {
    json_t *item = json_object();
    for (int f = 0; f < HC_JOB_F_COUNT; f++) {
        json_t *v = field_value((hc_job_field)f, job);
        if (v) json_object_set_new(item, store_fields[f].name, v);
    }
    int64_t ttl = ttl_for(job->status, job->finished_us ? job->finished_us : job->updated_us);
    if (ttl) json_object_set_new(item, "ttl", av_i64(ttl));
    return item;
}

/* The text of attribute a of type "S" or "N", or NULL. */
static const char *av_text(json_t *a, const char *type) {
    return json_string_value(json_object_get(a, type));
}

int store_ddb_job_from_item(json_t *item, hc_job *out, const char *where, hc_err *err) {
    memset(out, 0, sizeof *out);
    if (!json_is_object(item))
        return hc_err_set(err, HC_EIO, "store %s: an item is not an object", where);
    for (int f = 0; f < HC_JOB_F_COUNT; f++) {
        const store_field *fd = &store_fields[f];
        char *base = (char *)out + fd->off;
        json_t *a = json_object_get(item, fd->name);
        if (fd->kind == STORE_K_SEQ || !a) continue;
        bool is_s = fd->kind == STORE_K_BUF || fd->kind == STORE_K_STR ||
                    fd->kind == STORE_K_STATUS || fd->kind == STORE_K_HW || fd->kind == STORE_K_CB;
        const char *t = av_text(a, is_s ? "S" : "N");
        int64_t v = 0;
        if (!t) goto bad;
        switch (fd->kind) {
        case STORE_K_SEQ:
            break;
        case STORE_K_BUF:
            snprintf(base, fd->size, "%s", t);
            break;
        case STORE_K_STR:
            *(char **)(void *)base = hc_strdup(t);
            break;
        case STORE_K_INT:
        case STORE_K_I64: {
            char *end = NULL;
            long long n = strtoll(t, &end, 10);
            if (end == t || *end) goto bad;
            if (fd->kind == STORE_K_INT)
                *(int *)(void *)base = (int)n;
            else
                *(int64_t *)(void *)base = n;
            break;
        }
        case STORE_K_REAL: {
            char *end = NULL;
            double d = strtod(t, &end);
            if (end == t || *end) goto bad;
            *(double *)(void *)base = d;
            break;
        }
        case STORE_K_TIME:
            if (f == HC_JOB_F_CREATED) {
                if (!parse_scaled(t, 6, &v)) goto bad;
                out->seq = v;
                out->created_us = v / 1000;
            } else {
                if (!parse_scaled(t, 3, &v)) goto bad;
                *(int64_t *)(void *)base = v;
            }
            break;
        case STORE_K_STATUS:
        case STORE_K_HW:
        case STORE_K_CB: {
            int i = store_name_index(store_kind_names(fd->kind), t);
            if (i < 0) goto bad;
            *(int *)(void *)base = i;
            break;
        }
        }
        continue;
    bad:
        hc_job_fini(out);
        return hc_err_set(err, HC_EIO, "store %s: job item has an unreadable %s", where, fd->name);
    }
    if (!out->job_id[0]) {
        hc_job_fini(out);
        return hc_err_set(err, HC_EIO, "store %s: an item has no job_id", where);
    }
    return 0;
}

static json_t *key_of(const char *job_id) {
    return json_pack("{s:o}", "job_id", av_s(job_id));
}

/* Placeholder names: #n<field index>, :v<field index>. */
static void use_name(json_t *names, hc_job_field f, char *ph, size_t len) {
    snprintf(ph, len, "#n%d", (int)f);
    json_object_set_new(names, ph, json_string(store_fields[f].name));
}

json_t *store_ddb_update_body(const char *table, const char *job_id, uint64_t fields,
                              const hc_job *values, unsigned expect_mask, int expect_attempt) {
    json_t *names = json_object(), *vals = json_object();
    hc_buf set = {0}, rem = {0}, cond = {0};
    char ph[16], vp[16];
    for (int f = 0; f < HC_JOB_F_COUNT; f++) {
        if (!((fields >> f) & 1)) continue;
        use_name(names, (hc_job_field)f, ph, sizeof ph);
        json_t *v = field_value((hc_job_field)f, values);
        if (v) {
            snprintf(vp, sizeof vp, ":v%d", f);
            json_object_set_new(vals, vp, v);
            hc_buf_printf(&set, "%s%s = %s", set.n ? ", " : "", ph, vp);
        } else {
            hc_buf_printf(&rem, "%s%s", rem.n ? ", " : "", ph);
        }
    }
    /* A final state starts the 30 days; leaving it (a retry) stops them. */
    if (fields & HC_JOB_FIELD(STATUS)) {
        json_object_set_new(names, "#ttl", json_string("ttl"));
        int64_t ttl =
            ttl_for(values->status, values->finished_us ? values->finished_us : values->updated_us);
        if (ttl) {
            json_object_set_new(vals, ":ttl", av_i64(ttl));
            hc_buf_printf(&set, "%s#ttl = :ttl", set.n ? ", " : "");
        } else {
            hc_buf_printf(&rem, "%s#ttl", rem.n ? ", " : "");
        }
    }
    use_name(names, HC_JOB_F_JOB_ID, ph, sizeof ph);
    hc_buf_printf(&cond, "attribute_exists(%s)", ph);
    use_name(names, HC_JOB_F_STATUS, ph, sizeof ph);
    hc_buf_printf(&cond, " AND %s IN (", ph);
    int n = 0;
    for (int st = 0; st < HC_JOB_STATUS_COUNT; st++) {
        if (!(expect_mask & HC_JOB_MASK(st))) continue;
        snprintf(vp, sizeof vp, ":e%d", st);
        json_object_set_new(vals, vp, av_s(hc_job_status_names[st]));
        hc_buf_printf(&cond, "%s%s", n++ ? ", " : "", vp);
    }
    hc_buf_puts(&cond, ")");
    if (expect_attempt != HC_STORE_ANY_ATTEMPT) {
        use_name(names, HC_JOB_F_ATTEMPT, ph, sizeof ph);
        json_object_set_new(vals, ":att", av_i64(expect_attempt));
        hc_buf_printf(&cond, " AND %s = :att", ph);
    }
    hc_buf expr = {0};
    if (set.n) hc_buf_printf(&expr, "SET %s", set.p);
    if (rem.n) hc_buf_printf(&expr, "%sREMOVE %s", expr.n ? " " : "", rem.p);
    json_t *body =
        json_pack("{s:s, s:o, s:s, s:s, s:o, s:o}", "TableName", table, "Key", key_of(job_id),
                  "UpdateExpression", expr.p ? expr.p : "", "ConditionExpression", cond.p,
                  "ExpressionAttributeNames", names, "ExpressionAttributeValues", vals);
    hc_buf_fini(&set);
    hc_buf_fini(&rem);
    hc_buf_fini(&cond);
    hc_buf_fini(&expr);
    return body;
}

json_t *store_ddb_create_table_body(const char *table) {
    return json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}], s:[{s:s, s:s}],"
                     " s:[{s:s, s:[{s:s, s:s}, {s:s, s:s}], s:{s:s}}], s:s}",
                     "TableName", table, "AttributeDefinitions", "AttributeName", "job_id",
                     "AttributeType", "S", "AttributeName", "status", "AttributeType", "S",
                     "AttributeName", "created_ms", "AttributeType", "N", "KeySchema",
                     "AttributeName", "job_id", "KeyType", "HASH", "GlobalSecondaryIndexes",
                     "IndexName", INDEX_NAME, "KeySchema", "AttributeName", "status", "KeyType",
                     "HASH", "AttributeName", "created_ms", "KeyType", "RANGE", "Projection",
                     "ProjectionType", "ALL", "BillingMode", "PAY_PER_REQUEST");
}

/* ---- calls ------------------------------------------------------------------- */

/* One API call: body (stolen) to TARGET op; *resp (if not NULL) receives
 * the parsed answer. aws_type gets the error type of a refused call.
 * Errors name the store; a refused request is HC_EIO (the table or our
 * request is wrong, not the caller's input). */
static int call(hc_aws *aws, const char *where, const char *op, json_t *body, json_t **resp,
                char *aws_type, size_t type_len, hc_err *err) {
    char target[64], type[128] = "";
    snprintf(target, sizeof target, TARGET "%s", op);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (resp) *resp = NULL;
    if (!text)
        return hc_err_set(err, HC_ENOMEM, "store %s: %s: cannot encode the request", where, op);
    hc_buf out = {0};
    hc_err local = {0};
    int rc = hc_aws_json(aws, "dynamodb", target, text, &out, type, sizeof type, &local);
    free(text);
    if (aws_type) snprintf(aws_type, type_len, "%s", type);
    if (rc < 0) {
        if (rc == HC_EINVAL) rc = HC_EIO;
        rc = hc_err_set(err, rc, "store %s: %s: %s", where, op, local.msg);
        goto done;
    }
    if (resp) {
        json_error_t je;
        *resp = json_loadb(out.p ? out.p : "{}", out.n ? out.n : 2, 0, &je);
        if (!json_is_object(*resp)) {
            json_decref(*resp);
            *resp = NULL;
            rc = hc_err_set(err, HC_EIO, "store %s: %s: the answer is not JSON: %s", where, op,
                            je.text);
        }
    }
done:
    hc_buf_fini(&out);
    return rc;
}

static const char *where_of(hc_store *s) {
    return s->spec;
}

/* ---- operations ---------------------------------------------------------------- */

static void ddb_close(hc_store *s) {
    ddb_priv *p = hc_store_priv(s);
    hc_aws_close(p->aws);
    free(p->table);
}

static int ddb_open(hc_store *s, const char *arg, hc_err *err) {
    ddb_priv *p = hc_store_priv(s);
    if (!arg || !*arg) arg = DEFAULT_TABLE;
    if (strlen(arg) < 3 || strlen(arg) > 255 ||
        strspn(arg, "abcdefghijklmnopqrstuvwxyz"
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(arg))
        return hc_err_set(err, HC_EINVAL,
                          "store dynamodb:%s: a table name is 3-255 of A-Z a-z 0-9 _ . -", arg);
    p->table = hc_strdup(arg);
    int rc = hc_aws_open(&p->aws, err);
    if (rc < 0) goto fail;
    /* Check the table now, so a wrong name or endpoint fails at open. */
    json_t *resp = NULL;
    char type[128] = "";
    rc = call(p->aws, where_of(s), "DescribeTable", json_pack("{s:s}", "TableName", p->table),
              &resp, type, sizeof type, err);
    json_decref(resp);
    if (rc < 0 && strcmp(type, "ResourceNotFoundException") == 0)
        hc_err_prefix(err, "the table does not exist (hydra-compose jobs create-table makes it): ");
    if (rc < 0) goto fail;
    return 0;
fail:
    ddb_close(s);
    memset(p, 0, sizeof *p);
    return rc;
}

static int ddb_get(hc_store *s, const char *job_id, hc_job *out, hc_err *err) {
    ddb_priv *p = hc_store_priv(s);
    json_t *resp = NULL;
    int rc = call(p->aws, where_of(s), "GetItem",
                  json_pack("{s:s, s:o, s:b}", "TableName", p->table, "Key", key_of(job_id),
                            "ConsistentRead", 1),
                  &resp, NULL, 0, err);
    if (rc < 0) return rc;
    json_t *item = json_object_get(resp, "Item");
    if (!item)
        rc = hc_err_set(err, HC_ENOTFOUND, "job %s: not found", job_id);
    else
        rc = store_ddb_job_from_item(item, out, where_of(s), err);
    json_decref(resp);
    return rc;
}

static int ddb_create(hc_store *s, hc_job *job, hc_job *existing, hc_err *err) {
    ddb_priv *p = hc_store_priv(s);
    int64_t now = hc_wall_us();
    hc_job row = *job; /* shallow: job changes on success only */
    if (!row.created_us) row.created_us = now;
    row.updated_us = now;
    row.seq = row.created_us * 1000 + (int64_t)(atomic_fetch_add(&seq_tick, 1) % 1000);
    char type[128] = "";
    json_t *body =
        json_pack("{s:s, s:o, s:s, s:{s:s}}", "TableName", p->table, "Item", store_ddb_item(&row),
                  "ConditionExpression", "attribute_not_exists(#id)", "ExpressionAttributeNames",
                  "#id", "job_id");
    hc_err local = {0};
    int rc = call(p->aws, where_of(s), "PutItem", body, NULL, type, sizeof type, &local);
    if (rc < 0 && strcmp(type, "ValidationException") == 0 && strstr(local.msg, "size"))
        /* A DynamoDB item holds at most 400 KB, the request included. */
        return hc_err_set(err, HC_ETOOBIG,
                          "request: too large for the job store %s (DynamoDB items hold at "
                          "most 400 KB): %s",
                          where_of(s), local.msg);
    if (rc < 0 && strcmp(type, "ConditionalCheckFailedException") == 0) {
        rc = HC_EEXISTS;
        if (existing) {
            rc = ddb_get(s, job->job_id, existing, err);
            if (rc == 0) rc = HC_EEXISTS;
        }
        if (rc == HC_EEXISTS) hc_err_set(err, HC_EEXISTS, "job %s: already exists", job->job_id);
        return rc;
    }
    if (rc < 0) return hc_err_set(err, rc, "%s", local.msg);
    job->seq = row.seq;
    job->created_us = row.created_us;
    job->updated_us = row.updated_us;
    return 0;
}

static int ddb_update(hc_store *s, const char *job_id, uint64_t fields, const hc_job *values,
                      unsigned expect_mask, int expect_attempt, hc_err *err) {
    ddb_priv *p = hc_store_priv(s);
    char type[128] = "";
    hc_err local = {0};
    int rc =
        call(p->aws, where_of(s), "UpdateItem",
             store_ddb_update_body(p->table, job_id, fields, values, expect_mask, expect_attempt),
             NULL, type, sizeof type, &local);
    if (rc == 0) return 0;
    if (strcmp(type, "ConditionalCheckFailedException") != 0)
        return hc_err_set(err, rc, "%s", local.msg);
    /* Nothing written: say why from what is stored now. */
    hc_job now;
    rc = ddb_get(s, job_id, &now, err);
    if (rc < 0) return rc;
    bool status_ok = expect_mask & HC_JOB_MASK(now.status);
    bool attempt_ok = expect_attempt == HC_STORE_ANY_ATTEMPT || now.attempt == expect_attempt;
    if (status_ok && attempt_ok) /* it changed back between the two requests */
        rc = hc_err_set(err, HC_ECONFLICT, "job %s: changed while it was written", job_id);
    else
        rc = store_conflict(job_id, now.status, now.attempt, expect_mask, expect_attempt, err);
    hc_job_fini(&now);
    return rc;
}

/* Query the index for status st. newest: created_ms descending, else
 * ascending. below_seq (> 0): only created_ms below that seq (newest).
 * Appends matching jobs to *v until `want` are collected (0 = all). */
typedef struct jobvec {
    hc_job *v;
    int n, cap;
} jobvec;

static int query_status(hc_store *s, hc_job_status st, const hc_store_query *q, bool newest,
                        int64_t below_seq, int want, jobvec *jv, int64_t *count, hc_err *err) {
    ddb_priv *p = hc_store_priv(s);
    json_t *start = NULL;
    int rc = 0;
    for (;;) {
        json_t *names = json_pack("{s:s}", "#s", "status");
        json_t *vals = json_pack("{s:o}", ":s", av_s(hc_job_status_names[st]));
        hc_buf kc = {0};
        hc_buf_puts(&kc, "#s = :s");
        if (below_seq > 0) {
            char buf[48];
            seq_text(below_seq, buf, sizeof buf);
            json_object_set_new(names, "#c", json_string("created_ms"));
            json_object_set_new(vals, ":c", av_n(buf));
            hc_buf_puts(&kc, " AND #c < :c");
        }
        json_t *body =
            json_pack("{s:s, s:s, s:s, s:b}", "TableName", p->table, "IndexName", INDEX_NAME,
                      "KeyConditionExpression", kc.p, "ScanIndexForward", !newest);
        hc_buf_fini(&kc);
        if (q && q->callbacks_due) {
            char buf[48];
            ms_text(q->now_us, buf, sizeof buf);
            json_object_set_new(names, "#cs", json_string(store_fields[HC_JOB_F_CB_STATE].name));
            json_object_set_new(names, "#cn", json_string(store_fields[HC_JOB_F_CB_NEXT].name));
            json_object_set_new(vals, ":p", av_s(store_cb_names[HC_CB_PENDING]));
            json_object_set_new(vals, ":now", av_n(buf));
            json_object_set_new(body, "FilterExpression", json_string("#cs = :p AND #cn <= :now"));
        }
        json_object_set_new(body, "ExpressionAttributeNames", names);
        json_object_set_new(body, "ExpressionAttributeValues", vals);
        if (count) json_object_set_new(body, "Select", json_string("COUNT"));
        if (want > 0 && !(q && q->callbacks_due))
            json_object_set_new(body, "Limit", json_integer(want - jv->n));
        if (start) json_object_set_new(body, "ExclusiveStartKey", start);
        start = NULL;
        json_t *resp = NULL;
        rc = call(p->aws, where_of(s), "Query", body, &resp, NULL, 0, err);
        if (rc < 0) break;
        if (count) *count += json_integer_value(json_object_get(resp, "Count"));
        json_t *items = json_object_get(resp, "Items");
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it) {
            if (want > 0 && jv->n >= want) break;
            if (jv->n == jv->cap) {
                jv->cap = jv->cap ? 2 * jv->cap : 16;
                hc_job *nv = realloc(jv->v, (size_t)jv->cap * sizeof *nv);
                if (!nv) abort();
                jv->v = nv;
            }
            rc = store_ddb_job_from_item(it, &jv->v[jv->n], where_of(s), err);
            if (rc < 0) break;
            jv->n++;
        }
        json_t *last = json_object_get(resp, "LastEvaluatedKey");
        if (rc == 0 && last && !(want > 0 && jv->n >= want)) start = json_incref(last);
        json_decref(resp);
        if (rc < 0 || !start) break;
    }
    json_decref(start);
    return rc;
}

static int newest_cmp(const void *a, const void *b) {
    const hc_job *x = a, *y = b;
    return (x->seq < y->seq) - (x->seq > y->seq);
}

static int queue_cmp(const void *a, const void *b) {
    const hc_job *x = a, *y = b;
    if (x->priority != y->priority) return x->priority > y->priority ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static int ddb_list(hc_store *s, const hc_store_query *q, hc_job_list *out, hc_err *err) {
    store_cursor cur;
    int rc = store_cursor_parse(q, &cur, err);
    if (rc) return rc;
    unsigned mask = q->status_mask ? q->status_mask : (1u << HC_JOB_STATUS_COUNT) - 1;
    /* Only a final state arms a callback. */
    if (q->callbacks_due) mask &= HC_JOB_MASK_FINAL;
    bool newest = q->order == HC_STORE_ORDER_NEWEST;
    jobvec jv = {0};
    for (int st = 0; st < HC_JOB_STATUS_COUNT && rc == 0; st++) {
        if (!(mask & HC_JOB_MASK(st))) continue;
        /* Newest: each status's first `limit` after the cursor suffice. */
        jobvec one = {0};
        rc = query_status(s, (hc_job_status)st, q, newest, newest && cur.set ? cur.seq : 0,
                          newest ? q->limit : 0, &one, NULL, err);
        for (int i = 0; i < one.n; i++) {
            if (!newest && cur.set &&
                !(one.v[i].priority < cur.priority ||
                  (one.v[i].priority == cur.priority && one.v[i].seq > cur.seq))) {
                hc_job_fini(&one.v[i]);
                continue;
            }
            if (jv.n == jv.cap) {
                jv.cap = jv.cap ? 2 * jv.cap : 16;
                hc_job *nv = realloc(jv.v, (size_t)jv.cap * sizeof *nv);
                if (!nv) abort();
                jv.v = nv;
            }
            jv.v[jv.n++] = one.v[i];
        }
        free(one.v);
    }
    if (rc == 0) {
        if (jv.n > 1) qsort(jv.v, (size_t)jv.n, sizeof *jv.v, newest ? newest_cmp : queue_cmp);
        int take = jv.n < q->limit ? jv.n : q->limit;
        for (int i = take; i < jv.n; i++)
            hc_job_fini(&jv.v[i]);
        out->v = jv.v;
        out->n = take;
        jv.v = NULL;
        if (take == q->limit)
            store_cursor_format(q->order, &out->v[take - 1], out->next_cursor,
                                sizeof out->next_cursor);
    }
    for (int i = 0; jv.v && i < jv.n; i++)
        hc_job_fini(&jv.v[i]);
    free(jv.v);
    return rc;
}

static int ddb_count(hc_store *s, int64_t counts[HC_JOB_STATUS_COUNT], hc_err *err) {
    for (int st = 0; st < HC_JOB_STATUS_COUNT; st++) {
        jobvec none = {0};
        int rc = query_status(s, (hc_job_status)st, NULL, false, 0, 0, &none, &counts[st], err);
        free(none.v);
        if (rc < 0) return rc;
    }
    return 0;
}

const hc_store_backend hc_store_dynamodb = {
    .name = "dynamodb",
    .priv_size = sizeof(ddb_priv),
    .open = ddb_open,
    .close = ddb_close,
    .create = ddb_create,
    .get = ddb_get,
    .update = ddb_update,
    .list = ddb_list,
    .count = ddb_count,
};

/* ---- the table -------------------------------------------------------------------- */

/* Is the table and its index ACTIVE? */
static bool table_active(json_t *resp) {
    json_t *t = json_object_get(resp, "Table");
    const char *st = json_string_value(json_object_get(t, "TableStatus"));
    if (!st || strcmp(st, "ACTIVE") != 0) return false;
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(t, "GlobalSecondaryIndexes"), i, g) {
        const char *gs = json_string_value(json_object_get(g, "IndexStatus"));
        if (gs && strcmp(gs, "ACTIVE") != 0) return false;
    }
    return true;
}

int hc_store_dynamodb_create_table(const char *table, hc_err *err) {
    hc_aws *aws = NULL;
    json_t *resp = NULL;
    char where[300], type[128] = "";
    if (!table || !*table) table = DEFAULT_TABLE;
    snprintf(where, sizeof where, "dynamodb:%s", table);
    int rc = hc_aws_open(&aws, err);
    if (rc < 0) return rc;
    hc_err local = {0};
    rc = call(aws, where, "CreateTable", store_ddb_create_table_body(table), NULL, type,
              sizeof type, &local);
    if (rc < 0 && strcmp(type, "ResourceInUseException") != 0) {
        hc_err_set(err, rc, "%s", local.msg);
        goto done;
    }
    /* Wait until it can be used (DynamoDB builds a table and its index in
     * seconds). */
    int64_t deadline = hc_now_us() + ACTIVE_WAIT_US;
    for (;;) {
        rc = call(aws, where, "DescribeTable", json_pack("{s:s}", "TableName", table), &resp, NULL,
                  0, err);
        if (rc < 0) goto done;
        bool active = table_active(resp);
        json_decref(resp);
        resp = NULL;
        if (active) break;
        if (hc_now_us() > deadline) {
            rc = hc_err_set(err, HC_ETIMEOUT, "store %s: the table is not ACTIVE after %lld s",
                            where, (long long)(ACTIVE_WAIT_US / 1000000));
            goto done;
        }
        usleep(200 * 1000);
    }
    local = (hc_err){0};
    type[0] = 0;
    rc = call(aws, where, "UpdateTimeToLive",
              json_pack("{s:s, s:{s:b, s:s}}", "TableName", table, "TimeToLiveSpecification",
                        "Enabled", 1, "AttributeName", "ttl"),
              NULL, type, sizeof type, &local);
    if (rc < 0 && strcmp(type, "UnknownOperationException") == 0) {
        /* DynamoDB always has it; a local emulator may not (items keep
         * their ttl attribute either way). */
        HC_WARN("store", "%s: UpdateTimeToLive is not supported by this endpoint; ttl not enabled",
                where);
        rc = 0;
    } else if (rc < 0 && strstr(local.msg, "already enabled")) {
        rc = 0;
    } else if (rc < 0) {
        hc_err_set(err, rc, "%s", local.msg);
    }
done:
    json_decref(resp);
    hc_aws_close(aws);
    return rc;
}
