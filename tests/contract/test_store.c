/* The job store contract (src/store/hc_store.h): one suite run against every
 * backend. STORE_TEST(name) registers store_mem_<name>, store_sqlite_<name>
 * and store_dynamodb_<name>, each opening a fresh store ("mem:", a database
 * in the test's temporary directory, or the table of DESIGN.md §11 made by
 * hc_store_dynamodb_create_table in a DynamoDB-compatible server, dynalite,
 * that the test starts on an ephemeral loopback port) and handing it to the
 * same body, and store_fault_mem_<name> through the fault wrapper (set
 * never to fire) around mem. Every test of the suite runs on every backend.
 *
 * Then the SQLite-only properties (durability across kill -9, two
 * processes racing on one file, schema handling) and the fault-injecting
 * wrapper, whose errors must come back unchanged through the transitions. */
#include "hc_test.h"
#include "cloud/hc_cloud.h"
#include "store/hc_store.h"

#include <jansson.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef void (*store_body)(hc_store *s, const char *spec);

/* ---- the DynamoDB-compatible server ----------------------------------------- */

#define DDB_TABLE "hydra-compose-jobs"

static void store_spec(const char *backend, char *spec, size_t len) {
    if (strcmp(backend, "mem") == 0 || strcmp(backend, "fault") == 0)
        snprintf(spec, len, "mem:");
    else if (strcmp(backend, "dynamodb") == 0)
        snprintf(spec, len, "dynamodb:" DDB_TABLE);
    else
        snprintf(spec, len, "sqlite:%s/jobs.db", hc_test_tmpdir());
}

/* A DynamoDB-compatible server with the jobs table, for this test. */
static bool dynamodb_ready(void) {
    if (!hc_test_dynalite_installed()) {
        hc_test_skip("dynalite is not installed (scripts/install-deps.sh installs "
                     "tests/emulators)");
        return false;
    }
    if (hc_test_dynalite() < 0) {
        hc_test_fail(__FILE__, __LINE__, "cannot start dynalite (node %s)",
                     "tests/data/dynalite.js");
        return false;
    }
    hc_err err = {0};
    if (hc_store_dynamodb_create_table(DDB_TABLE, &err) != 0) {
        hc_test_fail(__FILE__, __LINE__, "create table: %s", err.msg);
        hc_test_dynalite_stop();
        return false;
    }
    return true;
}

static void run_store_test(const char *backend, store_body body) {
    char spec[PATH_MAX];
    store_spec(backend, spec, sizeof spec);
    bool ddb = strcmp(backend, "dynamodb") == 0;
    if (ddb && !dynamodb_ready()) return;
    hc_store *s = NULL;
    hc_err err = {0};
    int rc = hc_store_open(spec, &s, &err);
    /* "fault": the wrapper around mem, never firing, must pass it all on. */
    if (rc == 0 && strcmp(backend, "fault") == 0) {
        hc_store *w = NULL;
        rc = hc_store_fault_wrap(s, INT_MAX, HC_EIO, false, &w);
        if (rc == 0) s = w;
    }
    if (rc == 0 && s) {
        body(s, spec);
        hc_store_close(s);
    } else {
        hc_test_fail(__FILE__, __LINE__, "open %s: %d %s", spec, rc, err.msg);
    }
    if (ddb) hc_test_dynalite_stop();
}

#define STORE_TEST(name)                                                                           \
    static void body_##name(hc_store *s, const char *spec __attribute__((unused)));                \
    HC_TEST(store_mem_##name) {                                                                    \
        run_store_test("mem", body_##name);                                                        \
    }                                                                                              \
    HC_TEST(store_sqlite_##name) {                                                                 \
        run_store_test("sqlite", body_##name);                                                     \
    }                                                                                              \
    HC_TEST(store_fault_mem_##name) {                                                              \
        run_store_test("fault", body_##name);                                                      \
    }                                                                                              \
    HC_TEST_T(store_dynamodb_##name, 120) {                                                        \
        run_store_test("dynamodb", body_##name);                                                   \
    }                                                                                              \
    static void body_##name(hc_store *s, const char *spec __attribute__((unused)))

/* ---- helpers ---------------------------------------------------------------- */

/* A queued job as POST /render would make it; with a callback_url if cb. */
static void make_job(hc_job *j, const char *id, int priority, bool cb) {
    memset(j, 0, sizeof *j);
    snprintf(j->job_id, sizeof j->job_id, "%s", id);
    j->status = HC_JOB_QUEUED;
    j->priority = priority;
    char req[512];
    snprintf(req, sizeof req, "{\"images\":[\"https://a.example/x.jpg\"],\"job_id\":\"%s\"%s}", id,
             cb ? ",\"callback_secret\":\"k\",\"callback_url\":\"http://127.0.0.1:9/cb\"" : "");
    j->request = hc_strdup(req);
    hc_sha256_hex(req, strlen(req), j->request_sha256);
    char key[256];
    snprintf(key, sizeof key, "renders/%s.mp4", id);
    j->output_key = hc_strdup(key);
    j->created_us = hc_wall_us();
}

/* Create a job; returns the store's code. */
static int add(hc_store *s, const char *id, int priority, bool cb) {
    hc_job j;
    make_job(&j, id, priority, cb);
    hc_err err = {0};
    int rc = hc_store_create(s, &j, NULL, &err);
    if (rc) fprintf(stderr, "    create %s: %s\n", id, err.msg);
    hc_job_fini(&j);
    return rc;
}

/* The stored status of id, or -1. */
static int status_of(hc_store *s, const char *id) {
    hc_job j;
    int rc = hc_store_get(s, id, &j, NULL);
    int st = rc ? -1 : (int)j.status;
    hc_job_fini(&j);
    return st;
}

/* Claim id (queued -> processing); returns the code. */
static int claim(hc_store *s, const char *id, const char *batch) {
    hc_job j;
    int rc = hc_store_get(s, id, &j, NULL);
    if (rc == 0) rc = hc_store_claim(s, &j, batch, NULL);
    hc_job_fini(&j);
    return rc;
}

static bool str_eq(const char *a, const char *b) {
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The first field in which a and b differ, or NULL. */
static const char *job_diff(const hc_job *a, const hc_job *b) {
#define N_(f)                                                                                      \
    if (a->f != b->f) return #f;
#define B_(f)                                                                                      \
    if (strcmp(a->f, b->f) != 0) return #f;
#define S_(f)                                                                                      \
    if (!str_eq(a->f, b->f)) return #f;
    B_(job_id) N_(status) N_(progress) B_(current_step) N_(frames_done) N_(frames_total);
    S_(request) B_(request_sha256) N_(priority) N_(hardware) N_(seq) S_(output_url);
    S_(poster_url) S_(output_key) B_(error_code) S_(error_message) B_(batch_job_id);
    N_(created_us) N_(started_us) N_(finished_us) N_(updated_us) N_(duration_s) N_(render_s);
    B_(encoder) S_(encoder_reason) N_(attempts) S_(metadata) S_(warnings) N_(cb_state);
    N_(cb_attempts) N_(cb_next_us) B_(cb_delivery) S_(cb_last_error) N_(attempt);
    N_(cb_delivered_us);
#undef N_
#undef B_
#undef S_
    return NULL;
}

/* A job with every field set to something other than its default. */
static void full_job(hc_job *j, const char *id) {
    make_job(j, id, 42, true);
    j->status = HC_JOB_PROCESSING;
    j->progress = 37;
    snprintf(j->current_step, sizeof j->current_step, "rendering");
    j->frames_done = 166;
    j->frames_total = 450;
    j->hardware = HC_HW_CPU;
    j->output_url = hc_strdup("https://cdn.example/renders/x.mp4");
    j->poster_url = hc_strdup("https://cdn.example/renders/x.jpg");
    snprintf(j->error_code, sizeof j->error_code, "MEDIA");
    j->error_message = hc_strdup("images[1]: \"quoted\" it's ✓ 안녕");
    snprintf(j->batch_job_id, sizeof j->batch_job_id, "local-4242");
    j->created_us = 1700000000123456;
    j->started_us = 1700000001000001;
    j->finished_us = 1700000099999999;
    j->duration_s = 15.25;
    j->render_s = 3.0625;
    snprintf(j->encoder, sizeof j->encoder, "h264_nvenc");
    j->encoder_reason = hc_strdup("USE_NVENC=1");
    j->attempts = 2;
    j->metadata = hc_strdup("{\"a\":[1,2],\"b\":\"c\"}");
    j->warnings = hc_strdup("[\"w1\",\"w2\"]");
    j->cb_state = HC_CB_GAVE_UP;
    j->cb_attempts = 6;
    j->cb_next_us = 1700000123000000;
    snprintf(j->cb_delivery, sizeof j->cb_delivery, "dlv_0123456789abcdef01234567");
    j->cb_last_error = hc_strdup("HTTP 503");
    j->attempt = 3;
    j->cb_delivered_us = 1700000124000001;
}

static bool is_delivery_id(const char *s) {
    if (strncmp(s, "dlv_", 4) != 0 || strlen(s) != 28) return false;
    for (int i = 4; i < 28; i++)
        if (!strchr("0123456789abcdef", s[i])) return false;
    return true;
}

/* ---- create, get, put --------------------------------------------------------- */

STORE_TEST(create_get) {
    hc_job j, got;
    full_job(&j, "every-field");
    hc_err err = {0};
    int64_t before = hc_wall_us();
    CHECKF(hc_store_create(s, &j, NULL, &err) == 0, "%s", err.msg);
    CHECK(j.seq > 0);
    CHECK(j.created_us == 1700000000123456); /* a given creation time is kept */
    CHECK(j.updated_us >= before);
    CHECKF(hc_store_get(s, "every-field", &got, &err) == 0, "%s", err.msg);
    const char *d = job_diff(&j, &got);
    CHECKF(d == NULL, "field %s differs after the round trip", d);
    hc_job_fini(&got);

    /* NULL strings stay NULL, empty buffers stay empty. */
    hc_job k;
    make_job(&k, "sparse", 0, false);
    hc_job_set_str(&k.output_key, NULL);
    CHECK(hc_store_create(s, &k, NULL, NULL) == 0);
    CHECK(k.seq > j.seq);
    CHECK(hc_store_get(s, "sparse", &got, NULL) == 0);
    d = job_diff(&k, &got);
    CHECKF(d == NULL, "field %s differs after the round trip", d);
    CHECK(got.output_url == NULL && got.output_key == NULL && got.current_step[0] == 0);
    hc_job_fini(&got);
    hc_job_fini(&k);
    hc_job_fini(&j);
}

STORE_TEST(create_exists) {
    hc_job a, b, existing;
    make_job(&a, "dup", 1, false);
    CHECK(hc_store_create(s, &a, NULL, NULL) == 0);
    make_job(&b, "dup", 9, true);
    hc_err err = {0};
    CHECK(hc_store_create(s, &b, &existing, &err) == HC_EEXISTS);
    CHECK(err.code == HC_EEXISTS && strstr(err.msg, "dup"));
    /* existing is the stored job, not the one offered */
    CHECK(strcmp(existing.job_id, "dup") == 0 && existing.priority == 1);
    CHECK(existing.seq == a.seq && strcmp(existing.request, a.request) == 0);
    hc_job_fini(&existing);
    CHECK(hc_store_create(s, &b, NULL, NULL) == HC_EEXISTS); /* existing may be NULL */
    int64_t counts[HC_JOB_STATUS_COUNT];
    CHECK(hc_store_count(s, counts, NULL) == 0 && counts[HC_JOB_QUEUED] == 1);
    hc_job_fini(&a);
    hc_job_fini(&b);
}

STORE_TEST(get_notfound_and_bad_ids) {
    hc_job j;
    hc_err err = {0};
    CHECK(hc_store_get(s, "nope", &j, &err) == HC_ENOTFOUND);
    CHECK(strstr(err.msg, "nope"));
    CHECK(hc_store_get(s, "", &j, NULL) == HC_EINVAL);
    CHECK(hc_store_get(s, NULL, &j, NULL) == HC_EINVAL);
    char long_id[200];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = 0;
    CHECK(hc_store_get(s, long_id, &j, NULL) == HC_EINVAL);
    hc_job_fini(&j);
    hc_job bad;
    make_job(&bad, "bad-status", 0, false);
    bad.status = HC_JOB_STATUS_COUNT;
    CHECK(hc_store_create(s, &bad, NULL, NULL) == HC_EINVAL);
    hc_job_fini(&bad);
}

STORE_TEST(put_cas) {
    CHECK(add(s, "cas", 0, false) == 0);
    hc_job j;
    CHECK(hc_store_get(s, "cas", &j, NULL) == 0);
    int64_t updated = j.updated_us;
    j.progress = 10;
    hc_err err = {0};
    /* Wrong expectation: nothing written, the message says what it is. */
    CHECK(hc_store_put(s, &j, HC_JOB_MASK(HC_JOB_PROCESSING), &err) == HC_ECONFLICT);
    CHECKF(strstr(err.msg, "queued") && strstr(err.msg, "processing"), "%s", err.msg);
    CHECK(hc_store_put(s, &j, HC_JOB_MASK_FINAL, NULL) == HC_ECONFLICT);
    hc_job got;
    CHECK(hc_store_get(s, "cas", &got, NULL) == 0 && got.progress == 0);
    hc_job_fini(&got);
    /* Right expectation (alone or among others). */
    usleep(2000);
    CHECK(hc_store_put(s, &j, HC_JOB_MASK(HC_JOB_QUEUED), NULL) == 0);
    CHECK(j.updated_us > updated);
    j.status = HC_JOB_PROCESSING;
    CHECK(hc_store_put(s, &j, HC_JOB_MASK(HC_JOB_QUEUED) | HC_JOB_MASK(HC_JOB_FAILED), NULL) == 0);
    CHECK(hc_store_get(s, "cas", &got, NULL) == 0);
    CHECK(got.status == HC_JOB_PROCESSING && got.progress == 10 && got.updated_us == j.updated_us);
    hc_job_fini(&got);
    /* A stale writer expecting queued now loses. */
    CHECK(hc_store_put(s, &j, HC_JOB_MASK(HC_JOB_QUEUED), NULL) == HC_ECONFLICT);
    /* Unknown id; bad masks. */
    snprintf(j.job_id, sizeof j.job_id, "ghost");
    err = (hc_err){0};
    CHECK(hc_store_put(s, &j, HC_JOB_MASK(HC_JOB_QUEUED), &err) == HC_ENOTFOUND);
    CHECK(strstr(err.msg, "ghost"));
    CHECK(hc_store_put(s, &j, 0, NULL) == HC_EINVAL);
    CHECK(hc_store_put(s, &j, 1u << 20, NULL) == HC_EINVAL);
    hc_job_fini(&j);
}

STORE_TEST(put_replaces_mutable_fields_only) {
    CHECK(add(s, "p", 0, false) == 0);
    hc_job orig, j, got;
    CHECK(hc_store_get(s, "p", &orig, NULL) == 0);
    full_job(&j, "p");
    /* full_job's request, created_us and seq differ from the stored ones:
     * put must not change them. */
    j.seq = orig.seq + 100;
    CHECK(hc_store_put(s, &j, HC_JOB_MASK(HC_JOB_QUEUED), NULL) == 0);
    CHECK(hc_store_get(s, "p", &got, NULL) == 0);
    CHECK(strcmp(got.request, orig.request) == 0);
    CHECK(strcmp(got.request_sha256, orig.request_sha256) == 0);
    CHECK(got.created_us == orig.created_us && got.seq == orig.seq);
    /* nor the attempt token (a stale copy must not hand the job back) */
    CHECK(got.attempt == orig.attempt && j.attempt != orig.attempt);
    j.attempt = got.attempt;
    /* everything else is j's */
    hc_job_set_str(&j.request, got.request);
    memcpy(j.request_sha256, got.request_sha256, sizeof j.request_sha256);
    j.created_us = got.created_us;
    j.seq = got.seq;
    const char *d = job_diff(&j, &got);
    CHECKF(d == NULL, "field %s differs after put", d);
    hc_job_fini(&got);
    /* Strings can be cleared again. */
    hc_job_set_str(&j.output_url, NULL);
    hc_job_set_str(&j.error_message, NULL);
    j.error_code[0] = 0;
    CHECK(hc_store_put(s, &j, HC_JOB_MASK(HC_JOB_PROCESSING), NULL) == 0);
    CHECK(hc_store_get(s, "p", &got, NULL) == 0);
    CHECK(got.output_url == NULL && got.error_message == NULL && got.error_code[0] == 0);
    hc_job_fini(&got);
    hc_job_fini(&j);
    hc_job_fini(&orig);
}

/* ---- list and count --------------------------------------------------------- */

/* List into ids ("a,b,c"); returns the code. */
static int list_ids(hc_store *s, const hc_store_query *q, char *ids, size_t len, char *next,
                    size_t next_len) {
    hc_job_list l;
    hc_err err = {0};
    int rc = hc_store_list(s, q, &l, &err);
    if (rc) fprintf(stderr, "    list: %s\n", err.msg);
    ids[0] = 0;
    for (int i = 0; i < l.n; i++) {
        size_t o = strlen(ids);
        snprintf(ids + o, len - o, "%s%s", i ? "," : "", l.v[i].job_id);
    }
    if (next) snprintf(next, next_len, "%s", l.next_cursor);
    hc_job_list_fini(&l);
    return rc;
}

STORE_TEST(list_newest_paging) {
    char id[16], ids[256], next[64];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "n%d", i);
        CHECK(add(s, id, i % 2 ? 5 : 0, false) == 0);
    }
    hc_store_query q = {.order = HC_STORE_ORDER_NEWEST, .limit = 2};
    CHECK(list_ids(s, &q, ids, sizeof ids, next, sizeof next) == 0);
    CHECKF(strcmp(ids, "n4,n3") == 0, "%s", ids);
    CHECK(next[0]);
    q.cursor = next;
    char next2[64];
    CHECK(list_ids(s, &q, ids, sizeof ids, next2, sizeof next2) == 0);
    CHECKF(strcmp(ids, "n2,n1") == 0, "%s", ids);
    q.cursor = next2;
    CHECK(list_ids(s, &q, ids, sizeof ids, next, sizeof next) == 0);
    CHECKF(strcmp(ids, "n0") == 0, "%s", ids);
    CHECK(next[0] == 0); /* fewer than limit: the end */
    q.cursor = NULL;
    q.limit = 1000;
    CHECK(list_ids(s, &q, ids, sizeof ids, next, sizeof next) == 0);
    CHECKF(strcmp(ids, "n4,n3,n2,n1,n0") == 0, "%s", ids);
    CHECK(next[0] == 0);
}

STORE_TEST(list_queue_order_and_paging) {
    const int prio[] = {0, 5, -1, 5, 0, 10};
    char id[16], ids[128], all[512] = "", next[64] = "";
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof id, "q%d", i);
        CHECK(add(s, id, prio[i], false) == 0);
    }
    hc_store_query q = {
        .status_mask = HC_JOB_MASK(HC_JOB_QUEUED), .order = HC_STORE_ORDER_QUEUE, .limit = 2};
    for (int page = 0; page < 4; page++) {
        char cur[64];
        snprintf(cur, sizeof cur, "%s", next);
        q.cursor = page ? cur : NULL;
        CHECK(list_ids(s, &q, ids, sizeof ids, next, sizeof next) == 0);
        if (*ids) {
            size_t o = strlen(all);
            snprintf(all + o, sizeof all - o, "%s%s", o ? "," : "", ids);
        }
        if (page < 3) CHECKF(next[0], "page %d has no next cursor", page);
    }
    CHECKF(strcmp(all, "q5,q1,q3,q0,q4,q2") == 0, "%s", all);
    CHECK(next[0] == 0);
}

STORE_TEST(list_filters) {
    char id[16], ids[256];
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof id, "f%d", i);
        CHECK(add(s, id, 0, false) == 0);
    }
    CHECK(claim(s, "f1", "b1") == 0);
    CHECK(claim(s, "f2", "b2") == 0);
    CHECK(hc_store_cancel(s, "f3", NULL, NULL) == 0);
    CHECK(hc_store_cancel(s, "f2", NULL, NULL) == 0);
    hc_store_query q = {
        .status_mask = HC_JOB_MASK(HC_JOB_QUEUED), .order = HC_STORE_ORDER_NEWEST, .limit = 100};
    CHECK(list_ids(s, &q, ids, sizeof ids, NULL, 0) == 0);
    CHECKF(strcmp(ids, "f5,f4,f0") == 0, "%s", ids);
    q.status_mask = HC_JOB_MASK(HC_JOB_PROCESSING);
    CHECK(list_ids(s, &q, ids, sizeof ids, NULL, 0) == 0);
    CHECKF(strcmp(ids, "f1") == 0, "%s", ids);
    q.status_mask = HC_JOB_MASK_FINAL;
    CHECK(list_ids(s, &q, ids, sizeof ids, NULL, 0) == 0);
    CHECKF(strcmp(ids, "f3,f2") == 0, "%s", ids);
    q.status_mask = HC_JOB_MASK(HC_JOB_PROCESSING) | HC_JOB_MASK(HC_JOB_CANCELED);
    q.order = HC_STORE_ORDER_QUEUE;
    CHECK(list_ids(s, &q, ids, sizeof ids, NULL, 0) == 0);
    CHECKF(strcmp(ids, "f1,f2,f3") == 0, "%s", ids);
    q.status_mask = HC_JOB_MASK(HC_JOB_COMPLETED);
    CHECK(list_ids(s, &q, ids, sizeof ids, NULL, 0) == 0);
    CHECK(ids[0] == 0);
    q.status_mask = 0; /* any */
    CHECK(list_ids(s, &q, ids, sizeof ids, NULL, 0) == 0);
    CHECKF(strcmp(ids, "f0,f1,f2,f3,f4,f5") == 0, "%s", ids);
}

STORE_TEST(list_bad_arguments) {
    CHECK(add(s, "x", 0, false) == 0);
    hc_job_list l;
    hc_store_query q = {.order = HC_STORE_ORDER_NEWEST, .limit = 0};
    hc_err err = {0};
    CHECK(hc_store_list(s, &q, &l, &err) == HC_EINVAL && strstr(err.msg, "limit"));
    CHECK(l.n == 0 && l.v == NULL);
    q.limit = 1001;
    CHECK(hc_store_list(s, &q, &l, NULL) == HC_EINVAL);
    q.limit = 10;
    const char *bad[] = {"abc", "12x", "-1", "3:4"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        q.cursor = bad[i];
        err = (hc_err){0};
        CHECKF(hc_store_list(s, &q, &l, &err) == HC_EINVAL && strstr(err.msg, "cursor"),
               "cursor %s accepted", bad[i]);
    }
    q.order = HC_STORE_ORDER_QUEUE;
    const char *bad_q[] = {"5", "a:1", "1:", ":1"};
    for (size_t i = 0; i < sizeof bad_q / sizeof bad_q[0]; i++) {
        q.cursor = bad_q[i];
        CHECKF(hc_store_list(s, &q, &l, NULL) == HC_EINVAL, "cursor %s accepted", bad_q[i]);
    }
    q.cursor = NULL;
    q.status_mask = 1u << 12;
    CHECK(hc_store_list(s, &q, &l, NULL) == HC_EINVAL);
}

STORE_TEST(count) {
    int64_t c[HC_JOB_STATUS_COUNT];
    CHECK(hc_store_count(s, c, NULL) == 0);
    for (int i = 0; i < HC_JOB_STATUS_COUNT; i++)
        CHECK(c[i] == 0);
    char id[16];
    for (int i = 0; i < 7; i++) {
        snprintf(id, sizeof id, "c%d", i);
        CHECK(add(s, id, 0, false) == 0);
    }
    CHECK(claim(s, "c0", "b") == 0 && claim(s, "c1", "b") == 0 && claim(s, "c2", "b") == 0);
    hc_job j;
    CHECK(hc_store_get(s, "c0", &j, NULL) == 0);
    j.status = HC_JOB_COMPLETED;
    CHECK(hc_store_finish(s, &j, NULL) == 0);
    hc_job_fini(&j);
    CHECK(hc_store_get(s, "c1", &j, NULL) == 0);
    hc_job_set_error(&j, HC_EMEDIA, "bad image");
    CHECK(hc_store_finish(s, &j, NULL) == 0);
    hc_job_fini(&j);
    CHECK(hc_store_cancel(s, "c3", NULL, NULL) == 0);
    CHECK(hc_store_count(s, c, NULL) == 0);
    CHECK(c[HC_JOB_QUEUED] == 3 && c[HC_JOB_PROCESSING] == 1 && c[HC_JOB_COMPLETED] == 1 &&
          c[HC_JOB_FAILED] == 1 && c[HC_JOB_CANCELED] == 1);
}

/* ---- transitions -------------------------------------------------------------- */

STORE_TEST(claim_once) {
    CHECK(add(s, "cl", 0, false) == 0);
    hc_job a, b;
    CHECK(hc_store_get(s, "cl", &a, NULL) == 0);
    CHECK(hc_store_get(s, "cl", &b, NULL) == 0);
    int64_t before = hc_wall_us();
    hc_err err = {0};
    CHECKF(hc_store_claim(s, &a, "local-1", &err) == 0, "%s", err.msg);
    CHECK(a.status == HC_JOB_PROCESSING && a.attempts == 1 && a.started_us >= before);
    CHECK(strcmp(a.batch_job_id, "local-1") == 0);
    /* The second dispatcher, holding the same old copy, loses. */
    err = (hc_err){0};
    CHECK(hc_store_claim(s, &b, "local-2", &err) == HC_ECONFLICT);
    CHECK(strstr(err.msg, "processing"));
    hc_job got;
    CHECK(hc_store_get(s, "cl", &got, NULL) == 0);
    CHECK(got.status == HC_JOB_PROCESSING && strcmp(got.batch_job_id, "local-1") == 0 &&
          got.attempts == 1);
    const char *d = job_diff(&a, &got);
    CHECKF(d == NULL, "claim's copy differs from the store in %s", d);
    hc_job_fini(&got);
    hc_job_fini(&a);
    hc_job_fini(&b);
    snprintf(a.job_id, sizeof a.job_id, "ghost");
    CHECK(hc_store_claim(s, &a, "x", NULL) == HC_ENOTFOUND);
}

STORE_TEST(cancel_queued_and_processing) {
    CHECK(add(s, "cq", 0, true) == 0);
    CHECK(add(s, "cp", 0, false) == 0);
    CHECK(claim(s, "cp", "b") == 0);
    hc_job out;
    int64_t before = hc_wall_us();
    CHECK(hc_store_cancel(s, "cq", &out, NULL) == 0);
    CHECK(out.status == HC_JOB_CANCELED && out.finished_us >= before);
    CHECK(out.cb_state == HC_CB_PENDING && is_delivery_id(out.cb_delivery));
    CHECK(out.cb_next_us > 0 && out.cb_next_us <= hc_wall_us());
    hc_job_fini(&out);
    CHECK(hc_store_cancel(s, "cp", &out, NULL) == 0);
    CHECK(out.status == HC_JOB_CANCELED && out.cb_state == HC_CB_NONE && !out.cb_delivery[0]);
    CHECK(strcmp(out.batch_job_id, "b") == 0); /* who ran it stays visible */
    hc_job_fini(&out);
    CHECK(status_of(s, "cq") == HC_JOB_CANCELED && status_of(s, "cp") == HC_JOB_CANCELED);
    /* Already final; unknown. */
    hc_err err = {0};
    CHECK(hc_store_cancel(s, "cq", &out, &err) == HC_ECONFLICT && strstr(err.msg, "canceled"));
    CHECK(out.job_id[0] == 0); /* out untouched on failure: zeroed */
    CHECK(hc_store_cancel(s, "nope", NULL, NULL) == HC_ENOTFOUND);
}

STORE_TEST(finish_after_cancel_conflicts) {
    CHECK(add(s, "fc", 0, true) == 0);
    hc_job worker;
    CHECK(hc_store_get(s, "fc", &worker, NULL) == 0);
    CHECK(hc_store_claim(s, &worker, "w", NULL) == 0);
    worker.progress = 50;
    CHECK(hc_store_put(s, &worker, HC_JOB_MASK(HC_JOB_PROCESSING), NULL) == 0);
    hc_job canceled;
    CHECK(hc_store_cancel(s, "fc", &canceled, NULL) == 0);
    /* The worker's next progress write and its final write both lose. */
    worker.progress = 60;
    CHECK(hc_store_put(s, &worker, HC_JOB_MASK(HC_JOB_PROCESSING), NULL) == HC_ECONFLICT);
    worker.status = HC_JOB_COMPLETED;
    hc_job_set_str(&worker.output_url, "https://x/y.mp4");
    hc_err err = {0};
    CHECK(hc_store_finish(s, &worker, &err) == HC_ECONFLICT);
    CHECK(strstr(err.msg, "canceled"));
    hc_job got;
    CHECK(hc_store_get(s, "fc", &got, NULL) == 0);
    CHECK(got.status == HC_JOB_CANCELED && got.output_url == NULL && got.progress == 50);
    CHECK(strcmp(got.cb_delivery, canceled.cb_delivery) == 0);
    hc_job_fini(&got);
    hc_job_fini(&canceled);
    hc_job_fini(&worker);
}

STORE_TEST(finish_arms_callback) {
    CHECK(add(s, "cb", 0, true) == 0);
    CHECK(add(s, "nocb", 0, false) == 0);
    CHECK(add(s, "cb2", 0, true) == 0);
    hc_job j, got;
    CHECK(hc_store_get(s, "cb", &j, NULL) == 0);
    CHECK(hc_store_claim(s, &j, "w", NULL) == 0);
    j.status = HC_JOB_COMPLETED;
    j.duration_s = 15;
    hc_job_set_str(&j.output_url, "https://x/cb.mp4");
    int64_t before = hc_wall_us();
    CHECK(hc_store_finish(s, &j, NULL) == 0);
    CHECK(hc_store_get(s, "cb", &got, NULL) == 0);
    CHECK(got.status == HC_JOB_COMPLETED && got.progress == 100 && got.finished_us >= before);
    CHECK(strcmp(got.output_url, "https://x/cb.mp4") == 0 && got.duration_s == 15);
    CHECK(got.cb_state == HC_CB_PENDING && got.cb_attempts == 0);
    CHECK(got.cb_next_us >= before && got.cb_next_us <= hc_wall_us());
    CHECK(is_delivery_id(got.cb_delivery));
    char first[40];
    snprintf(first, sizeof first, "%s", got.cb_delivery);
    hc_job_fini(&got);
    hc_job_fini(&j);

    CHECK(hc_store_get(s, "nocb", &j, NULL) == 0);
    CHECK(hc_store_claim(s, &j, "w", NULL) == 0);
    hc_job_set_error(&j, HC_EMEDIA, "images[0]: not an image");
    CHECK(hc_store_finish(s, &j, NULL) == 0);
    CHECK(hc_store_get(s, "nocb", &got, NULL) == 0);
    CHECK(got.status == HC_JOB_FAILED && strcmp(got.error_code, "MEDIA") == 0);
    CHECK(got.cb_state == HC_CB_NONE && got.cb_delivery[0] == 0);
    hc_job_fini(&got);
    hc_job_fini(&j);

    /* Delivery ids are fresh per job. */
    CHECK(hc_store_get(s, "cb2", &j, NULL) == 0);
    CHECK(hc_store_claim(s, &j, "w", NULL) == 0);
    j.status = HC_JOB_COMPLETED;
    CHECK(hc_store_finish(s, &j, NULL) == 0);
    CHECK(is_delivery_id(j.cb_delivery) && strcmp(j.cb_delivery, first) != 0);
    /* finish wants a final status and a processing job */
    j.status = HC_JOB_PROCESSING;
    CHECK(hc_store_finish(s, &j, NULL) == HC_EINVAL);
    j.status = HC_JOB_COMPLETED;
    CHECK(hc_store_finish(s, &j, NULL) == HC_ECONFLICT);
    hc_job_fini(&j);
}

STORE_TEST(requeue_until_failed) {
    CHECK(add(s, "rq", 0, true) == 0);
    hc_err err = {0};
    CHECK(hc_store_requeue(s, "rq", 3, "x", &err) == HC_ECONFLICT); /* queued, not processing */
    for (int attempt = 1; attempt <= 3; attempt++) {
        CHECK(claim(s, "rq", "w") == 0);
        CHECK(hc_store_requeue(s, "rq", 3, "worker exited on signal 9", NULL) == 0);
        hc_job j;
        CHECK(hc_store_get(s, "rq", &j, NULL) == 0);
        CHECK(j.attempts == attempt);
        if (attempt < 3) {
            CHECK(j.status == HC_JOB_QUEUED && j.batch_job_id[0] == 0 && j.started_us == 0);
            CHECK(j.cb_state == HC_CB_NONE && j.error_message == NULL);
        } else {
            CHECK(j.status == HC_JOB_FAILED && j.finished_us > 0);
            CHECK(strcmp(j.error_code, "INTERNAL") == 0);
            CHECKF(j.error_message && strstr(j.error_message, "worker exited on signal 9") &&
                       strstr(j.error_message, "3 attempts"),
                   "%s", j.error_message ? j.error_message : "(null)");
            CHECK(j.cb_state == HC_CB_PENDING && is_delivery_id(j.cb_delivery));
        }
        hc_job_fini(&j);
    }
    CHECK(hc_store_requeue(s, "rq", 3, "x", NULL) == HC_ECONFLICT); /* final now */
    CHECK(hc_store_requeue(s, "ghost", 3, "x", NULL) == HC_ENOTFOUND);
}

STORE_TEST(retry) {
    CHECK(add(s, "rt", 0, true) == 0);
    CHECK(hc_store_retry(s, "rt", NULL, NULL) == HC_ECONFLICT); /* queued */
    hc_job j, out;
    CHECK(hc_store_get(s, "rt", &j, NULL) == 0);
    CHECK(hc_store_claim(s, &j, "w", NULL) == 0);
    CHECK(hc_store_retry(s, "rt", NULL, NULL) == HC_ECONFLICT); /* processing */
    j.progress = 40;
    j.frames_done = 9;
    snprintf(j.encoder, sizeof j.encoder, "libx264");
    hc_job_set_str(&j.warnings, "[\"w\"]");
    hc_job_set_error(&j, HC_ENET, "images[0]: connection refused");
    CHECK(hc_store_finish(s, &j, NULL) == 0);
    hc_err err = {0};
    CHECKF(hc_store_retry(s, "rt", &out, &err) == 0, "%s", err.msg);
    CHECK(out.status == HC_JOB_QUEUED && out.attempts == 0 && out.progress == 0);
    CHECK(out.frames_done == 0 && out.started_us == 0 && out.finished_us == 0);
    CHECK(out.error_code[0] == 0 && out.error_message == NULL && out.encoder[0] == 0);
    CHECK(out.warnings == NULL && out.batch_job_id[0] == 0);
    CHECK(out.cb_state == HC_CB_NONE && out.cb_delivery[0] == 0);
    CHECK(strcmp(out.request, j.request) == 0 && out.seq == j.seq);
    hc_job_fini(&out);
    CHECK(status_of(s, "rt") == HC_JOB_QUEUED);
    /* canceled -> queued as well; completed is not retried */
    CHECK(hc_store_cancel(s, "rt", NULL, NULL) == 0);
    CHECK(hc_store_retry(s, "rt", NULL, NULL) == 0);
    CHECK(status_of(s, "rt") == HC_JOB_QUEUED);
    CHECK(claim(s, "rt", "w") == 0);
    hc_job_fini(&j);
    CHECK(hc_store_get(s, "rt", &j, NULL) == 0);
    j.status = HC_JOB_COMPLETED;
    CHECK(hc_store_finish(s, &j, NULL) == 0);
    CHECK(hc_store_retry(s, "rt", NULL, NULL) == HC_ECONFLICT);
    CHECK(hc_store_retry(s, "ghost", NULL, NULL) == HC_ENOTFOUND);
    hc_job_fini(&j);
}

STORE_TEST(callbacks_due) {
    char id[16], ids[256];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "d%d", i);
        CHECK(add(s, id, 0, i != 4) == 0);
    }
    /* d0: canceled, due now; d1: completed, due now; d2: completed but
     * retry later; d3: delivered; d4: no callback; plus a queued job. */
    CHECK(hc_store_cancel(s, "d0", NULL, NULL) == 0);
    for (int i = 1; i < 5; i++) {
        snprintf(id, sizeof id, "d%d", i);
        hc_job j;
        CHECK(hc_store_get(s, id, &j, NULL) == 0);
        CHECK(hc_store_claim(s, &j, "w", NULL) == 0);
        j.status = HC_JOB_COMPLETED;
        CHECK(hc_store_finish(s, &j, NULL) == 0);
        if (i == 2 || i == 3) {
            /* what the notifier writes after an attempt */
            j.cb_attempts = 1;
            if (i == 2) j.cb_next_us = hc_wall_us() + 60 * 1000000LL;
            if (i == 3) j.cb_state = HC_CB_DELIVERED;
            CHECK(hc_store_put(s, &j, HC_JOB_MASK_FINAL, NULL) == 0);
        }
        hc_job_fini(&j);
    }
    CHECK(add(s, "d5", 0, true) == 0);
    hc_store_query q = {.order = HC_STORE_ORDER_NEWEST,
                        .limit = 100,
                        .callbacks_due = true,
                        .now_us = hc_wall_us()};
    CHECK(list_ids(s, &q, ids, sizeof ids, NULL, 0) == 0);
    CHECKF(strcmp(ids, "d1,d0") == 0, "%s", ids);
    q.now_us += 120 * 1000000LL;
    CHECK(list_ids(s, &q, ids, sizeof ids, NULL, 0) == 0);
    CHECKF(strcmp(ids, "d2,d1,d0") == 0, "%s", ids);
    q.status_mask = HC_JOB_MASK(HC_JOB_COMPLETED);
    CHECK(list_ids(s, &q, ids, sizeof ids, NULL, 0) == 0);
    CHECKF(strcmp(ids, "d2,d1") == 0, "%s", ids);
}

/* ---- field-level updates and the attempt token ---------------------------------- */

STORE_TEST(update_writes_given_fields_only) {
    hc_job j, got;
    full_job(&j, "fl");
    CHECK(hc_store_create(s, &j, NULL, NULL) == 0);
    /* A copy in which everything differs; only the progress fields go. */
    hc_job w;
    full_job(&w, "fl");
    w.progress = 61;
    w.frames_done = 275;
    w.frames_total = 451;
    snprintf(w.current_step, sizeof w.current_step, "uploading");
    w.priority = -7;
    hc_job_set_str(&w.output_url, "https://other/x.mp4");
    hc_job_set_str(&w.error_message, NULL);
    w.cb_state = HC_CB_DELIVERED;
    w.attempts = 9;
    usleep(2000);
    hc_err err = {0};
    CHECKF(hc_store_update(s, "fl", HC_JOB_FIELDS_PROGRESS, &w, HC_JOB_MASK(HC_JOB_PROCESSING),
                           HC_STORE_ANY_ATTEMPT, &err) == 0,
           "%s", err.msg);
    CHECK(w.updated_us > j.updated_us);
    CHECK(hc_store_get(s, "fl", &got, NULL) == 0);
    CHECK(got.progress == 61 && got.frames_done == 275 && got.frames_total == 451);
    CHECK(strcmp(got.current_step, "uploading") == 0 && got.updated_us == w.updated_us);
    /* every other field as created */
    j.progress = 61;
    j.frames_done = 275;
    j.frames_total = 451;
    snprintf(j.current_step, sizeof j.current_step, "uploading");
    j.updated_us = got.updated_us;
    const char *d = job_diff(&j, &got);
    CHECKF(d == NULL, "field %s changed by a progress write", d);
    hc_job_fini(&got);
    /* Clearing through an update: an empty buffer and a NULL string. */
    w.current_step[0] = 0;
    CHECK(hc_store_update(s, "fl", HC_JOB_FIELD(CURRENT_STEP) | HC_JOB_FIELD(ERROR_MESSAGE), &w,
                          HC_JOB_MASK(HC_JOB_PROCESSING), HC_STORE_ANY_ATTEMPT, NULL) == 0);
    CHECK(hc_store_get(s, "fl", &got, NULL) == 0);
    CHECK(got.current_step[0] == 0 && got.error_message == NULL);
    CHECK(got.output_url && strcmp(got.output_url, j.output_url) == 0);
    hc_job_fini(&got);
    hc_job_fini(&w);
    hc_job_fini(&j);
}

STORE_TEST(update_bad_arguments) {
    CHECK(add(s, "ub", 0, false) == 0);
    hc_job j;
    CHECK(hc_store_get(s, "ub", &j, NULL) == 0);
    hc_err err = {0};
    /* Fields fixed at create are refused by name, nothing is written. */
    CHECK(hc_store_update(s, "ub", HC_JOB_FIELD(REQUEST) | HC_JOB_FIELD(PROGRESS), &j,
                          HC_JOB_MASK(HC_JOB_QUEUED), HC_STORE_ANY_ATTEMPT, &err) == HC_EINVAL);
    CHECKF(strstr(err.msg, "request"), "%s", err.msg);
    CHECK(hc_store_update(s, "ub", HC_JOB_FIELD(CREATED), &j, HC_JOB_MASK(HC_JOB_QUEUED),
                          HC_STORE_ANY_ATTEMPT, NULL) == HC_EINVAL);
    CHECK(hc_store_update(s, "ub", 0, &j, HC_JOB_MASK(HC_JOB_QUEUED), HC_STORE_ANY_ATTEMPT, NULL) ==
          HC_EINVAL);
    CHECK(hc_store_update(s, "ub", HC_JOB_FIELD(PROGRESS), &j, 0, HC_STORE_ANY_ATTEMPT, NULL) ==
          HC_EINVAL);
    CHECK(hc_store_update(s, "ub", HC_JOB_FIELD(PROGRESS), &j, HC_JOB_MASK(HC_JOB_QUEUED), -2,
                          NULL) == HC_EINVAL);
    j.status = HC_JOB_STATUS_COUNT;
    CHECK(hc_store_update(s, "ub", HC_JOB_FIELD(STATUS), &j, HC_JOB_MASK(HC_JOB_QUEUED),
                          HC_STORE_ANY_ATTEMPT, NULL) == HC_EINVAL);
    j.status = HC_JOB_QUEUED;
    CHECK(hc_store_update(s, "", HC_JOB_FIELD(PROGRESS), &j, HC_JOB_MASK(HC_JOB_QUEUED),
                          HC_STORE_ANY_ATTEMPT, NULL) == HC_EINVAL);
    err = (hc_err){0};
    CHECK(hc_store_update(s, "ghost", HC_JOB_FIELD(PROGRESS), &j, HC_JOB_MASK(HC_JOB_QUEUED),
                          HC_STORE_ANY_ATTEMPT, &err) == HC_ENOTFOUND);
    CHECK(strstr(err.msg, "ghost"));
    /* The attempt condition: attempt 0 is stored. */
    j.progress = 5;
    err = (hc_err){0};
    CHECK(hc_store_update(s, "ub", HC_JOB_FIELD(PROGRESS), &j, HC_JOB_MASK(HC_JOB_QUEUED), 1,
                          &err) == HC_ECONFLICT);
    CHECKF(strstr(err.msg, "attempt 0") && strstr(err.msg, "attempt 1"), "%s", err.msg);
    CHECK(hc_store_update(s, "ub", HC_JOB_FIELD(PROGRESS), &j, HC_JOB_MASK(HC_JOB_QUEUED), 0,
                          NULL) == 0);
    hc_job got;
    CHECK(hc_store_get(s, "ub", &got, NULL) == 0 && got.progress == 5);
    hc_job_fini(&got);
    hc_job_fini(&j);
}

/* DESIGN.md §11: a worker writes only while the stored attempt is its own. */
STORE_TEST(late_worker_of_older_attempt_writes_nothing) {
    CHECK(add(s, "late", 0, true) == 0);
    hc_job a, b, got;
    CHECK(hc_store_get(s, "late", &a, NULL) == 0);
    CHECK(hc_store_claim(s, &a, "w-a", NULL) == 0);
    CHECK(a.attempt == 1 && a.attempts == 1);
    a.progress = 20;
    CHECK(hc_store_progress(s, &a, NULL) == 0);
    /* Canceled, retried by an operator and claimed by worker b, while a
     * still runs. */
    CHECK(hc_store_cancel(s, "late", NULL, NULL) == 0);
    CHECK(hc_store_retry(s, "late", NULL, NULL) == 0);
    CHECK(hc_store_get(s, "late", &b, NULL) == 0);
    CHECK(b.attempt == 1 && b.attempts == 0); /* the token survives the retry */
    CHECK(hc_store_claim(s, &b, "w-b", NULL) == 0);
    CHECK(b.attempt == 2 && b.attempts == 1);
    /* Worker a's progress and final writes find the job processing, but
     * under attempt 2: nothing is written. */
    a.progress = 90;
    hc_err err = {0};
    CHECK(hc_store_progress(s, &a, &err) == HC_ECONFLICT);
    CHECKF(strstr(err.msg, "attempt 2"), "%s", err.msg);
    a.status = HC_JOB_COMPLETED;
    hc_job_set_str(&a.output_url, "https://x/stale.mp4");
    CHECK(hc_store_finish(s, &a, NULL) == HC_ECONFLICT);
    CHECK(hc_store_get(s, "late", &got, NULL) == 0);
    CHECK(got.status == HC_JOB_PROCESSING && got.progress == 0 && got.output_url == NULL);
    CHECK(strcmp(got.batch_job_id, "w-b") == 0);
    hc_job_fini(&got);
    /* b finishes; a duplicate of b (same attempt) finishing later loses to
     * the final state. */
    hc_job dup;
    hc_job_copy(&dup, &b);
    b.status = HC_JOB_COMPLETED;
    hc_job_set_str(&b.output_url, "https://x/b.mp4");
    CHECK(hc_store_finish(s, &b, NULL) == 0);
    hc_job_set_error(&dup, HC_EMEDIA, "late duplicate");
    err = (hc_err){0};
    CHECK(hc_store_finish(s, &dup, &err) == HC_ECONFLICT);
    CHECKF(strstr(err.msg, "completed"), "%s", err.msg);
    CHECK(hc_store_progress(s, &dup, NULL) == HC_ECONFLICT);
    CHECK(hc_store_get(s, "late", &got, NULL) == 0);
    CHECK(got.status == HC_JOB_COMPLETED && strcmp(got.output_url, "https://x/b.mp4") == 0);
    CHECK(got.error_message == NULL && got.progress == 100);
    hc_job_fini(&got);
    hc_job_fini(&dup);
    hc_job_fini(&a);
    hc_job_fini(&b);
}

/* A spot reclaim: the worker of attempt 1 is presumed dead and the job
 * requeued and claimed again; attempt 1 coming back writes nothing. */
STORE_TEST(requeued_job_ignores_the_old_worker) {
    CHECK(add(s, "spot", 0, false) == 0);
    hc_job a, b, got;
    CHECK(hc_store_get(s, "spot", &a, NULL) == 0);
    CHECK(hc_store_claim(s, &a, "batch-1", NULL) == 0);
    CHECK(hc_store_requeue(s, "spot", 3, "host terminated", NULL) == 0);
    CHECK(hc_store_get(s, "spot", &b, NULL) == 0);
    CHECK(hc_store_claim(s, &b, "batch-2", NULL) == 0);
    CHECK(b.attempt == a.attempt + 1 && b.attempts == 2);
    a.status = HC_JOB_COMPLETED;
    CHECK(hc_store_finish(s, &a, NULL) == HC_ECONFLICT);
    b.progress = 40;
    CHECK(hc_store_progress(s, &b, NULL) == 0);
    b.status = HC_JOB_COMPLETED;
    CHECK(hc_store_finish(s, &b, NULL) == 0);
    CHECK(hc_store_get(s, "spot", &got, NULL) == 0);
    CHECK(got.status == HC_JOB_COMPLETED && got.attempts == 2 && got.attempt == 2);
    CHECK(strcmp(got.batch_job_id, "batch-2") == 0);
    hc_job_fini(&got);
    hc_job_fini(&a);
    hc_job_fini(&b);
}

STORE_TEST(release_does_not_count_the_attempt) {
    CHECK(add(s, "rel", 0, false) == 0);
    hc_job j, got;
    CHECK(hc_store_get(s, "rel", &j, NULL) == 0);
    hc_err err = {0};
    CHECK(hc_store_release(s, "rel", 0, &err) == HC_ECONFLICT); /* queued */
    CHECK(strstr(err.msg, "queued"));
    CHECK(hc_store_claim(s, &j, "local-7", NULL) == 0);
    j.progress = 30;
    snprintf(j.current_step, sizeof j.current_step, "rendering");
    CHECK(hc_store_progress(s, &j, NULL) == 0);
    CHECK(hc_store_release(s, "rel", j.attempt + 1, NULL) == HC_ECONFLICT); /* not its attempt */
    CHECK(hc_store_release(s, "rel", j.attempt, NULL) == 0);
    CHECK(hc_store_get(s, "rel", &got, NULL) == 0);
    CHECK(got.status == HC_JOB_QUEUED && got.attempts == 0 && got.attempt == 1);
    CHECK(got.progress == 0 && got.current_step[0] == 0 && got.batch_job_id[0] == 0);
    CHECK(got.started_us == 0);
    hc_job_fini(&got);
    CHECK(hc_store_release(s, "rel", j.attempt, NULL) == HC_ECONFLICT); /* queued again */
    /* The stopped worker's late writes land nowhere once claimed again. */
    hc_job next;
    CHECK(hc_store_get(s, "rel", &next, NULL) == 0);
    CHECK(hc_store_claim(s, &next, "local-8", NULL) == 0);
    CHECK(next.attempts == 1 && next.attempt == 2);
    CHECK(hc_store_progress(s, &j, NULL) == HC_ECONFLICT);
    CHECK(hc_store_release(s, "rel", j.attempt, NULL) == HC_ECONFLICT);
    CHECK(hc_store_release(s, "ghost", 1, NULL) == HC_ENOTFOUND);
    hc_job_fini(&next);
    hc_job_fini(&j);
}

STORE_TEST(callback_result_recorded) {
    CHECK(add(s, "cbr", 0, true) == 0);
    hc_job j, got;
    CHECK(hc_store_get(s, "cbr", &j, NULL) == 0);
    CHECK(hc_store_claim(s, &j, "w", NULL) == 0);
    j.status = HC_JOB_COMPLETED;
    CHECK(hc_store_finish(s, &j, NULL) == 0);
    /* A failed attempt, then a delivery. */
    hc_job n;
    CHECK(hc_store_get(s, "cbr", &n, NULL) == 0);
    n.cb_attempts = 1;
    n.cb_next_us = hc_wall_us() + 1000000;
    hc_job_set_str(&n.cb_last_error, "HTTP 503");
    n.progress = 3; /* not a callback field: not written */
    hc_err err = {0};
    CHECKF(hc_store_callback_result(s, &n, &err) == 0, "%s", err.msg);
    CHECK(hc_store_get(s, "cbr", &got, NULL) == 0);
    CHECK(got.cb_state == HC_CB_PENDING && got.cb_attempts == 1 && got.progress == 100);
    CHECK(strcmp(got.cb_last_error, "HTTP 503") == 0 && got.cb_next_us == n.cb_next_us);
    hc_job_fini(&got);
    n.cb_attempts = 2;
    n.cb_state = HC_CB_DELIVERED;
    n.cb_next_us = 0;
    n.cb_delivered_us = 1700000200123000;
    CHECK(hc_store_callback_result(s, &n, NULL) == 0);
    CHECK(hc_store_get(s, "cbr", &got, NULL) == 0);
    CHECK(got.cb_state == HC_CB_DELIVERED && got.cb_attempts == 2);
    CHECK(got.cb_delivered_us == 1700000200123000 && got.cb_next_us == 0);
    CHECK(strcmp(got.cb_delivery, j.cb_delivery) == 0);
    hc_job_fini(&got);
    /* Not a final status: refused. */
    n.status = HC_JOB_PROCESSING;
    CHECK(hc_store_callback_result(s, &n, NULL) == HC_EINVAL);
    n.status = HC_JOB_COMPLETED;
    /* Retried and run again (attempt 2), failed: the first run's result
     * does not overwrite the new callback's state. */
    CHECK(hc_store_cancel(s, "cbr", NULL, NULL) == HC_ECONFLICT); /* completed is final */
    hc_job_fini(&j);
    CHECK(hc_store_get(s, "cbr", &j, NULL) == 0);
    CHECK(hc_store_put(s, &j, HC_JOB_MASK(HC_JOB_COMPLETED), NULL) == 0);
    j.status = HC_JOB_FAILED; /* an operator marks it failed to retry it */
    CHECK(hc_store_put(s, &j, HC_JOB_MASK(HC_JOB_COMPLETED), NULL) == 0);
    CHECK(hc_store_retry(s, "cbr", NULL, NULL) == 0);
    CHECK(claim(s, "cbr", "w2") == 0);
    hc_job_fini(&j);
    CHECK(hc_store_get(s, "cbr", &j, NULL) == 0);
    j.status = HC_JOB_COMPLETED;
    CHECK(hc_store_finish(s, &j, NULL) == 0);
    n.cb_state = HC_CB_GAVE_UP;
    err = (hc_err){0};
    CHECK(hc_store_callback_result(s, &n, &err) == HC_ECONFLICT);
    CHECKF(strstr(err.msg, "attempt"), "%s", err.msg);
    CHECK(hc_store_get(s, "cbr", &got, NULL) == 0);
    CHECK(got.cb_state == HC_CB_PENDING && got.cb_attempts == 0 && got.cb_delivered_us == 0);
    CHECK(strcmp(got.cb_delivery, j.cb_delivery) == 0 && strcmp(got.cb_delivery, n.cb_delivery));
    hc_job_fini(&got);
    hc_job_fini(&n);
    hc_job_fini(&j);
}

/* ---- threads ------------------------------------------------------------------ */

enum { THREADS = 8, PER_THREAD = 125 };

typedef struct create_arg {
    hc_store *s;
    int t;
    int failures;
} create_arg;

static void *create_worker(void *ud) {
    create_arg *a = ud;
    char id[32];
    for (int i = 0; i < PER_THREAD; i++) {
        snprintf(id, sizeof id, "t%d-%d", a->t, i);
        if (add(a->s, id, i % 3, false) != 0) a->failures++;
        /* Reads interleaved with the writes of the other threads. */
        hc_job j;
        if (hc_store_get(a->s, id, &j, NULL) != 0) a->failures++;
        hc_job_fini(&j);
    }
    return NULL;
}

STORE_TEST(concurrent_create_1000) {
    pthread_t th[THREADS];
    create_arg args[THREADS];
    for (int t = 0; t < THREADS; t++) {
        args[t] = (create_arg){s, t, 0};
        CHECK(pthread_create(&th[t], NULL, create_worker, &args[t]) == 0);
    }
    int failures = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        failures += args[t].failures;
    }
    CHECK(failures == 0);
    int64_t c[HC_JOB_STATUS_COUNT];
    CHECK(hc_store_count(s, c, NULL) == 0 && c[HC_JOB_QUEUED] == THREADS * PER_THREAD);
    /* Every job once, seq strictly decreasing in the listing. */
    hc_job_list l;
    hc_store_query q = {.order = HC_STORE_ORDER_NEWEST, .limit = 1000};
    CHECK(hc_store_list(s, &q, &l, NULL) == 0);
    CHECK(l.n == THREADS * PER_THREAD);
    bool ordered = true;
    for (int i = 1; i < l.n; i++)
        ordered = ordered && l.v[i].seq < l.v[i - 1].seq;
    hc_job_list_fini(&l);
    CHECK(ordered);
}

enum { CLAIM_JOBS = 50, CLAIMERS = 4 };

typedef struct claim_race_arg {
    hc_store *s;
    int t;
    int won[CLAIM_JOBS];
    int errors;
} claim_race_arg;

static void *claim_worker(void *ud) {
    claim_race_arg *a = ud;
    char id[16], batch[16];
    snprintf(batch, sizeof batch, "d%d", a->t);
    for (int i = 0; i < CLAIM_JOBS; i++) {
        snprintf(id, sizeof id, "cr%d", i);
        int rc = claim(a->s, id, batch);
        if (rc == 0)
            a->won[i] = 1;
        else if (rc != HC_ECONFLICT)
            a->errors++;
    }
    return NULL;
}

/* Dispatchers on several threads claim the same jobs: one wins each. */
STORE_TEST(claim_race_threads) {
    char id[16];
    for (int i = 0; i < CLAIM_JOBS; i++) {
        snprintf(id, sizeof id, "cr%d", i);
        CHECK(add(s, id, 0, false) == 0);
    }
    pthread_t th[CLAIMERS];
    claim_race_arg args[CLAIMERS];
    memset(args, 0, sizeof args);
    for (int t = 0; t < CLAIMERS; t++) {
        args[t].s = s;
        args[t].t = t;
        CHECK(pthread_create(&th[t], NULL, claim_worker, &args[t]) == 0);
    }
    for (int t = 0; t < CLAIMERS; t++)
        pthread_join(th[t], NULL);
    for (int i = 0; i < CLAIM_JOBS; i++) {
        int winners = 0, winner = -1;
        for (int t = 0; t < CLAIMERS; t++) {
            CHECK(args[t].errors == 0);
            if (args[t].won[i]) winners++, winner = t;
        }
        CHECKF(winners == 1, "job cr%d claimed %d times", i, winners);
        snprintf(id, sizeof id, "cr%d", i);
        hc_job j;
        CHECK(hc_store_get(s, id, &j, NULL) == 0);
        char batch[16];
        snprintf(batch, sizeof batch, "d%d", winner);
        CHECK(j.status == HC_JOB_PROCESSING && j.attempts == 1 &&
              strcmp(j.batch_job_id, batch) == 0);
        hc_job_fini(&j);
    }
}

/* ---- SQLite only -------------------------------------------------------------- */

static void sqlite_spec(char *spec, size_t len) {
    store_spec("sqlite", spec, len);
}

HC_TEST(store_sqlite_open_errors) {
    hc_store *s = (hc_store *)1;
    hc_err err = {0};
    char spec[PATH_MAX];
    snprintf(spec, sizeof spec, "sqlite:%s/no/such/dir/jobs.db", hc_test_tmpdir());
    int rc = hc_store_open(spec, &s, &err);
    CHECKF(rc == HC_EIO && s == NULL, "rc %d", rc);
    CHECKF(strstr(err.msg, "/no/such/dir/jobs.db"), "message does not name the path: %s", err.msg);
    err = (hc_err){0};
    CHECK(hc_store_open("sqlite:", &s, &err) == HC_EINVAL && s == NULL);
    err = (hc_err){0};
    CHECK(hc_store_open("postgres:x", &s, &err) == HC_EINVAL && strstr(err.msg, "postgres"));
    CHECK(hc_store_open("", &s, NULL) == HC_EINVAL);
    CHECK(hc_store_find("sqlite") == &hc_store_sqlite && hc_store_find("mem") == &hc_store_mem);
    CHECK(hc_store_find("nope") == NULL);
}

HC_TEST(store_sqlite_reopen_and_schema) {
    char spec[PATH_MAX];
    sqlite_spec(spec, sizeof spec);
    hc_store *s = NULL;
    hc_err err = {0};
    CHECKF(hc_store_open(spec, &s, &err) == 0, "%s", err.msg);
    hc_job j;
    full_job(&j, "keep");
    CHECK(hc_store_create(s, &j, NULL, NULL) == 0);
    hc_store_close(s);
    CHECKF(hc_store_open(spec, &s, &err) == 0, "%s", err.msg);
    hc_job got;
    CHECK(hc_store_get(s, "keep", &got, NULL) == 0);
    const char *d = job_diff(&j, &got);
    CHECKF(d == NULL, "field %s differs after reopening", d);
    hc_job_fini(&got);
    hc_job_fini(&j);
    hc_store_close(s);

    /* The file is in WAL mode at schema version 2; a newer schema is refused. */
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(spec + 7, &db) == SQLITE_OK);
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK(strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0);
    sqlite3_finalize(st);
    CHECK(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 2);
    sqlite3_finalize(st);
    CHECK(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    err = (hc_err){0};
    CHECK(hc_store_open(spec, &s, &err) == HC_EIO);
    CHECKF(strstr(err.msg, "99") && strstr(err.msg, "jobs.db"), "%s", err.msg);
}

/* A version 1 file (before the attempt token and the delivery time) is
 * brought to version 2 on open, its jobs' attempt set from attempts. */
HC_TEST(store_sqlite_migrates_v1) {
    char spec[PATH_MAX];
    sqlite_spec(spec, sizeof spec);
    hc_store *s = NULL;
    hc_err err = {0};
    CHECKF(hc_store_open(spec, &s, &err) == 0, "%s", err.msg);
    CHECK(add(s, "old", 0, false) == 0);
    CHECK(claim(s, "old", "w") == 0);
    hc_store_close(s);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(spec + 7, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "ALTER TABLE jobs DROP COLUMN attempt; "
                       "ALTER TABLE jobs DROP COLUMN cb_delivered_us; PRAGMA user_version = 1",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECKF(hc_store_open(spec, &s, &err) == 0, "%s", err.msg);
    hc_job j;
    CHECK(hc_store_get(s, "old", &j, NULL) == 0);
    CHECK(j.status == HC_JOB_PROCESSING && j.attempts == 1 && j.attempt == 1);
    CHECK(j.cb_delivered_us == 0);
    /* The worker of that run (attempt 1) still owns it. */
    j.status = HC_JOB_COMPLETED;
    CHECK(hc_store_finish(s, &j, NULL) == 0);
    hc_job_fini(&j);
    hc_store_close(s);
    CHECK(sqlite3_open(spec + 7, &db) == SQLITE_OK);
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 2);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

HC_TEST(store_sqlite_durable_across_kill9) {
    char spec[PATH_MAX];
    sqlite_spec(spec, sizeof spec);
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        /* The child creates jobs as fast as it can and reports each one
         * only after hc_store_create returned. */
        close(fds[0]);
        hc_store *s = NULL;
        if (hc_store_open(spec, &s, NULL) != 0) _exit(3);
        for (int i = 0;; i++) {
            char id[32];
            snprintf(id, sizeof id, "k%d", i);
            if (add(s, id, 0, false) != 0) _exit(4);
            if (write(fds[1], &i, sizeof i) != (ssize_t)sizeof i) _exit(5);
        }
    }
    close(fds[1]);
    int last = -1, got = 0;
    while (got < 300) {
        int i;
        ssize_t r = read(fds[0], &i, sizeof i);
        if (r != (ssize_t)sizeof i) break;
        last = i;
        got++;
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(fds[0]);
    CHECKF(got == 300, "child stopped after %d jobs (status %d)", got, status);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    hc_store *s = NULL;
    hc_err err = {0};
    CHECKF(hc_store_open(spec, &s, &err) == 0, "%s", err.msg);
    int missing = 0;
    for (int i = 0; i <= last; i++) {
        char id[32];
        snprintf(id, sizeof id, "k%d", i);
        if (status_of(s, id) != HC_JOB_QUEUED) missing++;
    }
    hc_store_close(s);
    CHECKF(missing == 0, "%d of %d acknowledged jobs lost", missing, last + 1);
}

enum { RACE_JOBS = 40 };

/* The child: a worker process writing progress to every job round-robin and
 * finishing each after a few rounds; it stops touching a job as soon as a
 * write conflicts (canceled). Writes the ids of jobs it finished to fd. */
static void race_child(const char *spec, int go_fd, int out_fd) {
    char c;
    if (read(go_fd, &c, 1) != 1) _exit(3);
    hc_store *s = NULL;
    if (hc_store_open(spec, &s, NULL) != 0) _exit(3);
    bool done[RACE_JOBS] = {false};
    int left = RACE_JOBS;
    for (int round = 0; left > 0 && round < 10000; round++) {
        for (int i = 0; i < RACE_JOBS; i++) {
            if (done[i]) continue;
            char id[16];
            snprintf(id, sizeof id, "r%d", i);
            hc_job j;
            if (hc_store_get(s, id, &j, NULL) != 0) _exit(4);
            int rc;
            if (j.status != HC_JOB_PROCESSING) {
                rc = HC_ECONFLICT;
            } else if (j.progress >= 10 + i % 40) {
                j.status = HC_JOB_COMPLETED;
                rc = hc_store_finish(s, &j, NULL);
                if (rc == 0 && write(out_fd, &i, sizeof i) != (ssize_t)sizeof i) _exit(5);
                if (rc == 0) rc = 1;
            } else {
                j.progress++;
                rc = hc_store_put(s, &j, HC_JOB_MASK(HC_JOB_PROCESSING), NULL);
            }
            hc_job_fini(&j);
            if (rc == HC_ECONFLICT || rc == 1) {
                done[i] = true;
                left--;
            } else if (rc != 0) {
                _exit(6);
            }
        }
    }
    hc_store_close(s);
    _exit(left == 0 ? 0 : 7);
}

HC_TEST(store_sqlite_two_processes_race) {
    char spec[PATH_MAX];
    sqlite_spec(spec, sizeof spec);
    int go[2], res[2];
    CHECK(pipe(go) == 0 && pipe(res) == 0);
    /* Fork before this process opens the database: SQLite handles must not
     * cross a fork. */
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(go[1]);
        close(res[0]);
        race_child(spec, go[0], res[1]);
    }
    close(go[0]);
    close(res[1]);
    hc_store *s = NULL;
    hc_err err = {0};
    CHECKF(hc_store_open(spec, &s, &err) == 0, "%s", err.msg);
    for (int i = 0; i < RACE_JOBS; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        CHECK(add(s, id, 0, true) == 0);
        CHECK(claim(s, id, "child") == 0);
    }
    CHECK(write(go[1], "g", 1) == 1);
    /* Once the child has finished its first job, cancel every job in a
     * scrambled order while it works on the rest: some cancels come too
     * late (the job completed), most win. */
    bool child_won[RACE_JOBS] = {false};
    int first = -1;
    CHECK(read(res[0], &first, sizeof first) == (ssize_t)sizeof first && first >= 0 &&
          first < RACE_JOBS);
    child_won[first] = true;
    bool parent_won[RACE_JOBS] = {false};
    int conflicts = 0;
    for (int k = 0; k < RACE_JOBS; k++) {
        int i = (k * 17) % RACE_JOBS;
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        usleep(100 + 50 * (k % 7));
        int rc = hc_store_cancel(s, id, NULL, NULL);
        CHECKF(rc == 0 || rc == HC_ECONFLICT, "cancel %s: %d", id, rc);
        parent_won[i] = rc == 0;
        conflicts += rc == HC_ECONFLICT;
    }
    int i;
    while (read(res[0], &i, sizeof i) == (ssize_t)sizeof i)
        if (i >= 0 && i < RACE_JOBS) child_won[i] = true;
    int status = 0;
    waitpid(pid, &status, 0);
    close(res[0]);
    close(go[1]);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    int won_by_parent = 0, won_by_child = 0;
    for (int k = 0; k < RACE_JOBS; k++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", k);
        CHECKF(parent_won[k] != child_won[k], "job %s: parent %d child %d", id, parent_won[k],
               child_won[k]);
        hc_job j;
        CHECK(hc_store_get(s, id, &j, NULL) == 0);
        hc_job_status want = parent_won[k] ? HC_JOB_CANCELED : HC_JOB_COMPLETED;
        CHECKF(j.status == want, "job %s: %s, want %s", id, hc_job_status_names[j.status],
               hc_job_status_names[want]);
        CHECK(j.cb_state == HC_CB_PENDING && j.cb_delivery[0]);
        hc_job_fini(&j);
        won_by_parent += parent_won[k];
        won_by_child += child_won[k];
    }
    hc_store_close(s);
    fprintf(stderr, "    %d canceled, %d completed, %d cancel conflicts\n", won_by_parent,
            won_by_child, conflicts);
    CHECK(won_by_parent + won_by_child == RACE_JOBS);
}

enum { OPENERS = 4, PER_OPENER = 50 };

/* Several processes open a file that does not exist yet at the same moment
 * (the server and its first workers) and write at once. */
HC_TEST(store_sqlite_processes_open_new_file) {
    char spec[PATH_MAX];
    sqlite_spec(spec, sizeof spec);
    int go[2];
    CHECK(pipe(go) == 0);
    pid_t pids[OPENERS];
    for (int k = 0; k < OPENERS; k++) {
        pids[k] = fork();
        CHECK(pids[k] >= 0);
        if (pids[k] == 0) {
            close(go[1]);
            char c;
            if (read(go[0], &c, 1) != 0) _exit(3); /* EOF is the start signal */
            hc_store *s = NULL;
            hc_err err = {0};
            if (hc_store_open(spec, &s, &err) != 0) {
                fprintf(stderr, "    child %d: %s\n", k, err.msg);
                _exit(4);
            }
            for (int i = 0; i < PER_OPENER; i++) {
                char id[32];
                snprintf(id, sizeof id, "o%d-%d", k, i);
                if (add(s, id, 0, false) != 0) _exit(5);
            }
            hc_store_close(s);
            _exit(0);
        }
    }
    close(go[0]);
    close(go[1]); /* all children start now */
    for (int k = 0; k < OPENERS; k++) {
        int status = 0;
        waitpid(pids[k], &status, 0);
        CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status %d", k, status);
    }
    hc_store *s = NULL;
    hc_err err = {0};
    CHECKF(hc_store_open(spec, &s, &err) == 0, "%s", err.msg);
    int64_t c[HC_JOB_STATUS_COUNT];
    CHECK(hc_store_count(s, c, NULL) == 0);
    hc_store_close(s);
    CHECKF(c[HC_JOB_QUEUED] == OPENERS * PER_OPENER, "%lld jobs", (long long)c[HC_JOB_QUEUED]);
}

/* ---- DynamoDB only ------------------------------------------------------------ */

/* One raw DynamoDB call in the tests' AWS context; the answer parsed. */
static json_t *ddb_raw(const char *op, const char *body) {
    hc_aws *aws = NULL;
    if (hc_aws_open(&aws, NULL) != 0) return NULL;
    char target[64];
    snprintf(target, sizeof target, "DynamoDB_20120810.%s", op);
    hc_buf out = {0};
    hc_err err = {0};
    json_t *j = NULL;
    if (hc_aws_json(aws, "dynamodb", target, body, &out, NULL, 0, &err) == 0)
        j = json_loads(out.p ? out.p : "", 0, NULL);
    else
        fprintf(stderr, "    %s: %s\n", op, err.msg);
    hc_buf_fini(&out);
    hc_aws_close(aws);
    return j;
}

static const char *raw_n(json_t *item, const char *name) {
    return json_string_value(json_object_get(json_object_get(item, name), "N"));
}

/* The table as DESIGN.md §11 says, and ttl on the items: 30 days after the
 * final state, gone when the job is queued again. */
HC_TEST_T(store_dynamodb_table_and_ttl, 120) {
    if (!dynamodb_ready()) return;
    json_t *d = ddb_raw("DescribeTable", "{\"TableName\":\"" DDB_TABLE "\"}");
    json_t *t = json_object_get(d, "Table");
    CHECK(t);
    json_t *ks = json_array_get(json_object_get(t, "KeySchema"), 0);
    CHECK(json_array_size(json_object_get(t, "KeySchema")) == 1);
    CHECK(strcmp(json_string_value(json_object_get(ks, "AttributeName")), "job_id") == 0);
    json_t *g = json_array_get(json_object_get(t, "GlobalSecondaryIndexes"), 0);
    CHECK(strcmp(json_string_value(json_object_get(g, "IndexName")), "status-created") == 0);
    json_t *gk = json_object_get(g, "KeySchema");
    CHECK(strcmp(json_string_value(json_object_get(json_array_get(gk, 0), "AttributeName")),
                 "status") == 0);
    CHECK(strcmp(json_string_value(json_object_get(json_array_get(gk, 1), "AttributeName")),
                 "created_ms") == 0);
    CHECK(strcmp(json_string_value(
                     json_object_get(json_object_get(g, "Projection"), "ProjectionType")),
                 "ALL") == 0);
    json_decref(d);
    /* Creating it again is fine. */
    hc_err err = {0};
    CHECKF(hc_store_dynamodb_create_table(DDB_TABLE, &err) == 0, "%s", err.msg);

    hc_store *s = NULL;
    CHECKF(hc_store_open("dynamodb:" DDB_TABLE, &s, &err) == 0, "%s", err.msg);
    CHECK(add(s, "ttl-1", 0, false) == 0);
    const char *get = "{\"TableName\":\"" DDB_TABLE "\",\"Key\":{\"job_id\":{\"S\":\"ttl-1\"}},"
                      "\"ConsistentRead\":true}";
    json_t *r = ddb_raw("GetItem", get);
    json_t *item = json_object_get(r, "Item");
    CHECK(item && !json_object_get(item, "ttl"));
    CHECK(raw_n(item, "created_ms") && raw_n(item, "updated_ms") && raw_n(item, "attempt"));
    json_decref(r);
    hc_job j;
    CHECK(hc_store_get(s, "ttl-1", &j, NULL) == 0);
    CHECK(hc_store_claim(s, &j, "batch-1", NULL) == 0);
    j.progress = 42;
    snprintf(j.current_step, sizeof j.current_step, "rendering");
    CHECK(hc_store_progress(s, &j, NULL) == 0);
    r = ddb_raw("GetItem", get);
    item = json_object_get(r, "Item");
    CHECK(strcmp(raw_n(item, "progress"), "42") == 0);
    CHECK(strcmp(json_string_value(json_object_get(json_object_get(item, "current_step"), "S")),
                 "rendering") == 0);
    json_decref(r);
    hc_job_set_error(&j, HC_EMEDIA, "images[0]: not an image");
    CHECK(hc_store_finish(s, &j, NULL) == 0);
    r = ddb_raw("GetItem", get);
    item = json_object_get(r, "Item");
    const char *ttl = raw_n(item, "ttl");
    long long want = (long long)(j.finished_us / 1000000) + 30LL * 86400;
    CHECKF(ttl && atoll(ttl) == want, "ttl %s, want %lld", ttl ? ttl : "(none)", want);
    json_decref(r);
    CHECK(hc_store_retry(s, "ttl-1", NULL, NULL) == 0);
    r = ddb_raw("GetItem", get);
    CHECK(!json_object_get(json_object_get(r, "Item"), "ttl"));
    json_decref(r);
    hc_job_fini(&j);
    hc_store_close(s);
    hc_test_dynalite_stop();
}

HC_TEST_T(store_dynamodb_open_errors, 60) {
    if (!dynamodb_ready()) return;
    hc_store *s = (hc_store *)1;
    hc_err err = {0};
    CHECK(hc_store_open("dynamodb:no-such-table", &s, &err) == HC_EIO && s == NULL);
    CHECKF(strstr(err.msg, "no-such-table") && strstr(err.msg, "does not exist"), "%s", err.msg);
    /* "dynamodb:" is the default table, which this server has. */
    CHECKF(hc_store_open("dynamodb:", &s, &err) == 0, "%s", err.msg);
    CHECK(strcmp(s->spec, "dynamodb:") == 0);
    hc_store_close(s);
    err = (hc_err){0};
    CHECK(hc_store_open("dynamodb:bad/name", &s, &err) == HC_EINVAL);
    CHECK(strstr(err.msg, "bad/name"));
    CHECK(hc_store_find("dynamodb") == &hc_store_dynamodb);
    /* An item over DynamoDB's 400 KB is the request's fault, named so. */
    CHECKF(hc_store_open("dynamodb:" DDB_TABLE, &s, &err) == 0, "%s", err.msg);
    hc_job big;
    make_job(&big, "big", 0, false);
    size_t n = 450 * 1024;
    char *req = hc_xmalloc(n + 32);
    snprintf(req, n + 32, "{\"metadata\":\"%0*d\"}", (int)n, 0);
    hc_job_set_str(&big.request, req);
    free(req);
    err = (hc_err){0};
    CHECK(hc_store_create(s, &big, NULL, &err) == HC_ETOOBIG);
    CHECKF(strstr(err.msg, "400 KB"), "%s", err.msg);
    hc_job_fini(&big);
    hc_store_close(s);
    hc_test_dynalite_stop();
}

/* `hydra-compose jobs create-table` makes the table for HC_STORE (and the
 * alias DYNAMODB_JOBS_TABLE of the original engine); jobs list reads it. */
HC_TEST_T(store_dynamodb_jobs_create_table, 120) {
    if (!dynamodb_ready()) return;
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "cd %s && DYNAMODB_JOBS_TABLE=made-by-cli %s jobs create-table 2>&1 && "
             "HC_STORE=dynamodb:made-by-cli %s jobs list --json 2>&1",
             hc_test_tmpdir(), hc_test_bin(), hc_test_bin());
    int rc = hc_test_run(cmd, &out);
    CHECKF(rc == 0, "exit %d: %s", rc, out ? out : "");
    CHECKF(out && strstr(out, "dynamodb:made-by-cli: table ready") &&
               strstr(out, "{\"jobs\":[],\"next_cursor\":null}"),
           "%s", out ? out : "");
    free(out);
    hc_test_dynalite_stop();
}

/* The server on the DynamoDB store (DESIGN.md §11 step 2): a submit is a
 * conditional put, the same body again is the existing job (200), another
 * body under the same id a 409; status reads and cancel go to the table. */
HC_TEST_T(store_dynamodb_serve_submit_status_cancel, 120) {
    if (!dynamodb_ready()) return;
    char data[PATH_MAX], url[256], target[512];
    snprintf(data, sizeof data, "%s/data", hc_test_tmpdir());
    CHECK(hc_test_serve(data, "--workers 0 --store dynamodb:" DDB_TABLE, url, sizeof url) > 0);
    const char *a = "{\"job_id\":\"srv-1\",\"images\":[{\"url\":\"https://a.example/x.jpg\"}]}";
    const char *b = "{\"job_id\":\"srv-1\",\"images\":[{\"url\":\"https://a.example/y.jpg\"}]}";
    snprintf(target, sizeof target, "%s/render", url);
    char *resp = NULL;
    long c1 = hc_test_http("POST", target, a, NULL, &resp, NULL);
    free(resp);
    long c2 = hc_test_http("POST", target, a, NULL, &resp, NULL);
    free(resp);
    long c3 = hc_test_http("POST", target, b, NULL, &resp, NULL);
    CHECKF(c1 == 202 && c2 == 200 && c3 == 409, "codes %ld %ld %ld: %s", c1, c2, c3,
           resp ? resp : "");
    free(resp);
    snprintf(target, sizeof target, "%s/render/status?job_id=srv-1", url);
    CHECK(hc_test_http("GET", target, NULL, NULL, &resp, NULL) == 200);
    CHECKF(resp && strstr(resp, "\"status\":\"queued\""), "%s", resp ? resp : "");
    free(resp);
    snprintf(target, sizeof target, "%s/render/srv-1", url);
    CHECK(hc_test_http("DELETE", target, NULL, NULL, &resp, NULL) == 200);
    free(resp);
    hc_store *s = NULL;
    hc_err err = {0};
    CHECKF(hc_store_open("dynamodb:" DDB_TABLE, &s, &err) == 0, "%s", err.msg);
    CHECK(status_of(s, "srv-1") == HC_JOB_CANCELED);
    hc_store_close(s);
    hc_test_dynalite_stop();
}

/* A whole job on the DynamoDB store: the server's worker process opens the
 * table (HC_STORE is exported to it), writes progress under its attempt,
 * and the final state; the callback is delivered and recorded. */
HC_TEST_T(store_dynamodb_serve_renders_a_job, 300) {
    if (!dynamodb_ready()) return;
    char imgs[PATH_MAX], data[PATH_MAX], url[256], target[512], body[1024];
    snprintf(imgs, sizeof imgs, "%s/imgs", hc_test_tmpdir());
    snprintf(data, sizeof data, "%s/data", hc_test_tmpdir());
    mkdir(imgs, 0755);
    CHECK(hc_test_make_jpegs(imgs, 2, 320, 240) == 0);
    int port = hc_test_httpd(imgs);
    CHECK(port > 0);
    CHECK(hc_test_serve(data, "--workers 1 --url-allow 127.0.0.1 --store dynamodb:" DDB_TABLE, url,
                        sizeof url) > 0);
    snprintf(body, sizeof body,
             "{\"job_id\":\"ren-1\",\"images\":[{\"url\":\"http://127.0.0.1:%d/img0.jpg\"},"
             "{\"url\":\"http://127.0.0.1:%d/img1.jpg\"}],\"callback_url\":"
             "\"http://127.0.0.1:%d/callback/ren\",\"settings\":{\"target_duration\":2,"
             "\"resolution\":\"720p\",\"quality\":\"draft\"}}",
             port, port, port);
    snprintf(target, sizeof target, "%s/render", url);
    char *resp = NULL;
    CHECK(hc_test_http("POST", target, body, NULL, &resp, NULL) == 202);
    free(resp);
    hc_store *s = NULL;
    hc_err err = {0};
    CHECKF(hc_store_open("dynamodb:" DDB_TABLE, &s, &err) == 0, "%s", err.msg);
    hc_job j = {0};
    double t0 = hc_test_now_s();
    bool done = false;
    while (!done && hc_test_now_s() - t0 < 240) {
        hc_job_fini(&j);
        CHECK(hc_store_get(s, "ren-1", &j, NULL) == 0);
        done = hc_job_status_final(j.status) && j.cb_state != HC_CB_PENDING;
        if (!done) hc_test_sleep_ms(200);
    }
    CHECKF(j.status == HC_JOB_COMPLETED, "%s: %s", hc_job_status_names[j.status],
           j.error_message ? j.error_message : "");
    CHECK(j.progress == 100 && j.attempt == 1 && j.attempts == 1 && j.frames_done > 0);
    CHECK(j.output_url && strstr(j.output_url, "renders/ren-1.mp4"));
    CHECKF(j.cb_state == HC_CB_DELIVERED && j.cb_delivered_us > 0, "callback %d: %s",
           (int)j.cb_state, j.cb_last_error ? j.cb_last_error : "");
    hc_job_fini(&j);
    hc_store_close(s);
    snprintf(target, sizeof target, "%s/render/status?job_id=ren-1", url);
    CHECK(hc_test_http("GET", target, NULL, NULL, &resp, NULL) == 200);
    CHECKF(resp && strstr(resp, "\"state\":\"delivered\"") && strstr(resp, "\"delivered_at\":\"20"),
           "%s", resp ? resp : "");
    free(resp);
    hc_test_dynalite_stop();
}

/* ---- fault injection ---------------------------------------------------------- */

static hc_store *faulty(int nth, int code, bool sticky) {
    hc_store *inner = NULL, *s = NULL;
    if (hc_store_open("mem:", &inner, NULL) != 0) return NULL;
    if (hc_store_fault_wrap(inner, nth, code, sticky, &s) != 0) {
        hc_store_close(inner);
        return NULL;
    }
    return s;
}

HC_TEST(store_fault_nth_call) {
    hc_store *s = faulty(3, HC_EIO, false);
    CHECK(s);
    CHECK(add(s, "a", 0, false) == 0); /* call 1 */
    hc_job j;
    CHECK(hc_store_get(s, "a", &j, NULL) == 0); /* call 2 */
    hc_job_fini(&j);
    hc_err err = {0};
    CHECK(hc_store_get(s, "a", &j, &err) == HC_EIO); /* call 3 */
    CHECK(err.code == HC_EIO && strstr(err.msg, "call 3") && strstr(err.msg, "mem:"));
    CHECK(j.job_id[0] == 0);
    CHECK(hc_store_get(s, "a", &j, NULL) == 0); /* not sticky */
    hc_job_fini(&j);
    int64_t c[HC_JOB_STATUS_COUNT];
    CHECK(hc_store_count(s, c, NULL) == 0 && c[HC_JOB_QUEUED] == 1);
    hc_store_close(s); /* closes the inner store too (LSan checks) */
}

HC_TEST(store_fault_sticky) {
    hc_store *s = faulty(2, HC_ETIMEOUT, true);
    CHECK(s);
    CHECK(add(s, "a", 0, false) == 0);
    hc_job j;
    CHECK(hc_store_get(s, "a", &j, NULL) == HC_ETIMEOUT);
    CHECK(add(s, "b", 0, false) == HC_ETIMEOUT);
    hc_job_list l;
    hc_store_query q = {.order = HC_STORE_ORDER_NEWEST, .limit = 10};
    CHECK(hc_store_list(s, &q, &l, NULL) == HC_ETIMEOUT && l.n == 0);
    int64_t c[HC_JOB_STATUS_COUNT];
    CHECK(hc_store_count(s, c, NULL) == HC_ETIMEOUT);
    make_job(&j, "a", 0, false);
    CHECK(hc_store_put(s, &j, HC_JOB_MASK(HC_JOB_QUEUED), NULL) == HC_ETIMEOUT);
    hc_job_fini(&j);
    hc_store_close(s);
}

HC_TEST(store_fault_through_transitions) {
    /* Each transition is a get then a put: fail each of the two in turn and
     * check the code comes back and nothing was written. */
    for (int which = 0; which < 2; which++) {
        /* call 1: create; call 2: the transition's get; call 3: its put */
        hc_store *s = faulty(2 + which, HC_EIO, false);
        CHECK(s);
        CHECK(add(s, "t", 0, true) == 0);
        hc_err err = {0};
        CHECK(hc_store_cancel(s, "t", NULL, &err) == HC_EIO);
        CHECK(strstr(err.msg, "injected"));
        CHECK(status_of(s, "t") == HC_JOB_QUEUED);
        hc_store_close(s);
    }
    for (int which = 0; which < 2; which++) {
        /* create, get (helper), claim's get, claim's put */
        hc_store *s = faulty(3 + which, HC_ENOMEM, false);
        CHECK(s);
        CHECK(add(s, "t", 0, false) == 0);
        CHECK(claim(s, "t", "w") == HC_ENOMEM);
        CHECK(status_of(s, "t") == HC_JOB_QUEUED);
        hc_store_close(s);
    }
    {
        hc_store *s = faulty(6, HC_EIO, false);
        CHECK(s);
        CHECK(add(s, "t", 0, false) == 0); /* 1 */
        CHECK(claim(s, "t", "w") == 0);    /* 2, 3, 4 */
        hc_job j;
        CHECK(hc_store_get(s, "t", &j, NULL) == 0); /* 5 */
        j.status = HC_JOB_COMPLETED;
        CHECK(hc_store_finish(s, &j, NULL) == HC_EIO); /* 6 */
        CHECK(status_of(s, "t") == HC_JOB_PROCESSING);
        CHECK(hc_store_requeue(s, "t", 3, "x", NULL) == 0);
        CHECK(status_of(s, "t") == HC_JOB_QUEUED);
        hc_job_fini(&j);
        hc_store_close(s);
    }
    {
        /* retry and requeue propagate too */
        hc_store *s = faulty(2, HC_EIO, true);
        CHECK(s);
        CHECK(add(s, "t", 0, false) == 0);
        CHECK(hc_store_retry(s, "t", NULL, NULL) == HC_EIO);
        CHECK(hc_store_requeue(s, "t", 3, "x", NULL) == HC_EIO);
        hc_store_close(s);
    }
}

HC_TEST(store_fault_through_new_operations) {
    /* create (1), claim's get (2) and update (3); then the operation under
     * test: its own calls fail in turn and nothing is written. */
    for (int which = 0; which < 2; which++) {
        hc_store *s = faulty(4 + which, HC_EIO, false);
        CHECK(s);
        CHECK(add(s, "t", 0, false) == 0);
        hc_job j;
        make_job(&j, "t", 0, false);
        CHECK(hc_store_claim(s, &j, "w", NULL) == 0);
        hc_err err = {0};
        /* release: a get (4) then an update (5) */
        CHECK(hc_store_release(s, "t", j.attempt, &err) == HC_EIO);
        CHECK(strstr(err.msg, "injected"));
        CHECK(status_of(s, "t") == HC_JOB_PROCESSING);
        hc_job_fini(&j);
        hc_store_close(s);
    }
    {
        hc_store *s = faulty(4, HC_ETIMEOUT, false);
        CHECK(s);
        CHECK(add(s, "t", 0, true) == 0);
        hc_job j;
        make_job(&j, "t", 0, true);
        CHECK(hc_store_claim(s, &j, "w", NULL) == 0);
        j.progress = 50;
        CHECK(hc_store_progress(s, &j, NULL) == HC_ETIMEOUT); /* 4 */
        CHECK(hc_store_progress(s, &j, NULL) == 0);           /* 5 */
        j.status = HC_JOB_COMPLETED;
        CHECK(hc_store_finish(s, &j, NULL) == 0); /* 6 */
        hc_job_fini(&j);
        hc_store_close(s);
    }
    {
        hc_store *s = faulty(5, HC_EIO, true);
        CHECK(s);
        CHECK(add(s, "t", 0, true) == 0);
        hc_job j;
        make_job(&j, "t", 0, true);
        CHECK(hc_store_claim(s, &j, "w", NULL) == 0); /* 2, 3 */
        j.status = HC_JOB_COMPLETED;
        CHECK(hc_store_finish(s, &j, NULL) == 0); /* 4 */
        j.cb_state = HC_CB_DELIVERED;
        CHECK(hc_store_callback_result(s, &j, NULL) == HC_EIO); /* 5 */
        CHECK(hc_store_update(s, "t", HC_JOB_FIELD(PROGRESS), &j, HC_JOB_MASK_FINAL,
                              HC_STORE_ANY_ATTEMPT, NULL) == HC_EIO);
        hc_job_fini(&j);
        hc_store_close(s);
    }
}

HC_TEST(store_fault_wrap_arguments) {
    hc_store *inner = NULL, *s = (hc_store *)1;
    CHECK(hc_store_open("mem:", &inner, NULL) == 0);
    CHECK(hc_store_fault_wrap(inner, 0, HC_EIO, false, &s) == HC_EINVAL && s == NULL);
    CHECK(hc_store_fault_wrap(inner, 1, 0, false, &s) == HC_EINVAL && s == NULL);
    CHECK(hc_store_fault_wrap(NULL, 1, HC_EIO, false, &s) == HC_EINVAL);
    hc_store_close(inner);
    hc_store_close(NULL);
}
