/* Unit tests of src/dispatch/callback.c (DESIGN.md §9): the signature
 * checked independently with `openssl dgst -hmac`, and the notifier
 * against the receiver routes of tests/data/httpd.py with an in-memory
 * store: headers, delivery ids stable across retries, back-off that grows,
 * giving up, the secret kept out of the body unless asked for, unsigned
 * callbacks, no redirects, and the private-address guard. */
#include "core/hc_core.h"
#include "dispatch/hc_dispatch.h"
#include "hc_test.h"
#include "jobs/hc_jobs.h"
#include "store/hc_store.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- fixture -------------------------------------------------------------- */

typedef struct fx {
    hc_config cfg; /* strings point at literals: never hc_config_fini'd */
    hc_store *store;
    int port;
} fx;

static int fx_setup(fx *f) {
    memset(f, 0, sizeof *f);
    setenv("no_proxy", "*", 1);
    setenv("NO_PROXY", "*", 1);
    f->cfg.callback_attempts = 6;
    f->cfg.callback_backoff_ms = 100;
    f->cfg.max_attempts = 3;
    f->cfg.url_allow = "127.0.0.1";
    char www[512];
    snprintf(www, sizeof www, "%s/www", hc_test_tmpdir());
    mkdir(www, 0700);
    f->port = hc_test_httpd(www);
    hc_err err = {0};
    if (f->port <= 0 || hc_store_open("mem:", &f->store, &err) != 0) {
        fprintf(stderr, "    setup: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* A job made final (completed, or failed with a media error) whose
 * request posts to path on the test server; extra is more request JSON
 * (",\"callback_secret\":\"...\"") or "". */
static int final_job(fx *f, const char *job_id, const char *path, const char *extra,
                     hc_job_status final) {
    char json[2048];
    snprintf(json, sizeof json,
             "{\"job_id\":\"%s\",\"images\":[\"https://img.example/a.jpg\"],"
             "\"callback_url\":\"http://127.0.0.1:%d%s\",\"metadata\":{\"order\":17}%s}",
             job_id, f->port, path, extra);
    hc_request_opts ro = {.allow_local_files = false};
    hc_request *req = NULL;
    hc_err err = {0};
    hc_job job = {0};
    int rc = hc_request_parse(json, strlen(json), &ro, &req, &err);
    if (rc == 0) {
        hc_job_from_request(&job, req);
        rc = hc_store_create(f->store, &job, NULL, &err);
    }
    if (rc == 0) rc = hc_store_claim(f->store, &job, "test", &err);
    if (rc == 0) {
        if (final == HC_JOB_COMPLETED) {
            job.status = HC_JOB_COMPLETED;
            hc_job_set_str(&job.output_url, "http://files.example/renders/x.mp4");
            job.duration_s = 1.0;
            job.render_s = 0.5;
        } else {
            hc_job_set_error(&job, HC_EMEDIA, "images[0]: HTTP 404 from https://img.example");
        }
        rc = hc_store_finish(f->store, &job, &err);
    }
    if (rc != 0) fprintf(stderr, "    final_job: %s\n", err.msg);
    hc_job_fini(&job);
    hc_request_free(req);
    return rc;
}

/* What the receiver NAME got (caller json_decref's), NULL on error. */
static json_t *received(fx *f, const char *name) {
    char url[256], *body = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hooks/%s", f->port, name);
    long st = hc_test_http("GET", url, NULL, NULL, &body, NULL);
    json_t *a = st == 200 ? json_loads(body, 0, NULL) : NULL;
    free(body);
    return a;
}

/* Wait until the job's cb_state is want; fills *job (caller finis). */
static bool wait_cb(fx *f, const char *job_id, hc_cb_state want, int timeout_ms, hc_job *job) {
    for (int t = 0; t <= timeout_ms; t += 20) {
        hc_job_fini(job);
        hc_err err = {0};
        if (hc_store_get(f->store, job_id, job, &err) == 0 && job->cb_state == want) return true;
        hc_test_sleep_ms(20);
    }
    return false;
}

static const char *hdr(json_t *entry, const char *name) {
    return json_string_value(json_object_get(json_object_get(entry, "headers"), name));
}

static const char *body_of(json_t *entry) {
    return json_string_value(json_object_get(entry, "body"));
}

/* HMAC-SHA256 of "t.body" under secret, by openssl, into hex[65]. */
static bool openssl_hmac(const char *secret, const char *t, const char *body, char hex[65]) {
    char path[512], cmd[1200], *out = NULL;
    snprintf(path, sizeof path, "%s/signed.txt", hc_test_tmpdir());
    size_t n = strlen(t) + 1 + strlen(body);
    char *msg = malloc(n + 1);
    snprintf(msg, n + 1, "%s.%s", t, body);
    int wr = hc_test_write_file(path, msg, n);
    free(msg);
    if (wr != 0) return false;
    snprintf(cmd, sizeof cmd, "openssl dgst -sha256 -hmac '%s' '%s'", secret, path);
    if (hc_test_run(cmd, &out) != 0) {
        free(out);
        return false;
    }
    const char *eq = strstr(out, "= ");
    bool ok = eq && strlen(eq + 2) >= 64;
    if (ok) {
        memcpy(hex, eq + 2, 64);
        hex[64] = 0;
    }
    free(out);
    return ok;
}

/* Check "t=UNIX,v1=HEX" against openssl over the raw body. */
static bool signature_valid(const char *sig, const char *secret, const char *body) {
    if (!sig || strncmp(sig, "t=", 2) != 0) return false;
    const char *comma = strstr(sig, ",v1=");
    if (!comma || strlen(comma + 4) != 64) return false;
    char t[32];
    snprintf(t, sizeof t, "%.*s", (int)(comma - sig - 2), sig + 2);
    long long ts = atoll(t);
    if (llabs(ts - (long long)time(NULL)) > 60) return false;
    char hex[65];
    return openssl_hmac(secret, t, body, hex) && strcmp(hex, comma + 4) == 0;
}

/* ---- signature ------------------------------------------------------------ */

HC_TEST(callback_signature_matches_openssl) {
    const char *body =
        "{\"job_id\":\"x\",\"status\":\"completed\",\"note\":\"caf\xc3\xa9 \\\"q\\\"\"}";
    char sig[128], hex[65];
    hc_callback_signature("top-secret", 1700000000, body, strlen(body), sig, sizeof sig);
    CHECKF(strncmp(sig, "t=1700000000,v1=", 16) == 0 && strlen(sig) == 16 + 64, "%s", sig);
    CHECK(openssl_hmac("top-secret", "1700000000", body, hex));
    CHECKF(strcmp(sig + 16, hex) == 0, "%s vs %s", sig + 16, hex);
    /* A different time or body gives a different signature. */
    char sig2[128];
    hc_callback_signature("top-secret", 1700000001, body, strlen(body), sig2, sizeof sig2);
    CHECK(strcmp(sig + 16, sig2 + 16) != 0);
    hc_callback_signature(NULL, 1, body, strlen(body), sig2, sizeof sig2);
    CHECK(sig2[0] == 0);
}

/* ---- the notifier --------------------------------------------------------- */

HC_TEST(callback_delivered_signed) {
    fx f;
    CHECK(fx_setup(&f) == 0);
    CHECK(final_job(&f, "cb-signed", "/callback/signed", ",\"callback_secret\":\"req-s3cr3t\"",
                    HC_JOB_COMPLETED) == 0);
    hc_notifier *n = NULL;
    hc_err err = {0};
    CHECK(hc_notifier_start(&f.cfg, f.store, NULL, &n, &err) == 0);
    hc_notifier_wake(n);
    hc_job job = {0};
    int64_t t0 = hc_wall_us();
    CHECK(wait_cb(&f, "cb-signed", HC_CB_DELIVERED, 5000, &job));
    hc_notifier_stop(n);
    CHECK(job.cb_attempts == 1);
    CHECK(job.cb_delivery[0]);
    CHECK(!job.cb_last_error || !*job.cb_last_error);
    /* The delivery time is stored and shown (DESIGN.md §3). */
    CHECKF(job.cb_delivered_us > t0 - 5000000 && job.cb_delivered_us <= hc_wall_us(),
           "delivered at %lld", (long long)job.cb_delivered_us);
    char *status = hc_job_status_json(&job, NULL, NULL);
    CHECKF(strstr(status, "\"state\":\"delivered\"") && strstr(status, "\"delivered_at\":\"20"),
           "%s", status);
    free(status);

    json_t *got = received(&f, "signed");
    CHECK(got && json_array_size(got) == 1);
    json_t *e = json_array_get(got, 0);
    CHECK(strcmp(hdr(e, "content-type"), "application/json") == 0);
    CHECK(strcmp(hdr(e, "x-hydra-event"), "render.completed") == 0);
    CHECKF(strcmp(hdr(e, "x-hydra-delivery"), job.cb_delivery) == 0, "%s vs %s",
           hdr(e, "x-hydra-delivery"), job.cb_delivery);
    CHECK(strncmp(hdr(e, "user-agent"), "hydra-compose", 13) == 0);
    CHECKF(signature_valid(hdr(e, "x-hydra-signature"), "req-s3cr3t", body_of(e)), "%s",
           hdr(e, "x-hydra-signature"));
    /* The body: the §9 fields, never the secret. */
    json_t *b = json_loads(body_of(e), 0, NULL);
    CHECK(b);
    CHECK(strcmp(json_string_value(json_object_get(b, "job_id")), "cb-signed") == 0);
    CHECK(strcmp(json_string_value(json_object_get(b, "status")), "completed") == 0);
    CHECK(json_integer_value(json_object_get(json_object_get(b, "metadata"), "order")) == 17);
    CHECK(!json_object_get(b, "secret"));
    CHECK(!strstr(body_of(e), "req-s3cr3t"));
    json_decref(b);
    json_decref(got);
    hc_job_fini(&job);
    hc_store_close(f.store);
}

HC_TEST(callback_retries_with_growing_backoff) {
    fx f;
    CHECK(fx_setup(&f) == 0);
    f.cfg.callback_backoff_ms = 200;
    f.cfg.callback_secret = "env-secret"; /* CALLBACK_SECRET when the request has none */
    CHECK(final_job(&f, "cb-retry", "/hook/2/retry", "", HC_JOB_FAILED) == 0);
    hc_notifier *n = NULL;
    hc_err err = {0};
    CHECK(hc_notifier_start(&f.cfg, f.store, NULL, &n, &err) == 0);
    hc_job job = {0};
    CHECK(wait_cb(&f, "cb-retry", HC_CB_DELIVERED, 10000, &job));
    hc_notifier_stop(n);
    CHECK(job.cb_attempts == 3);

    json_t *got = received(&f, "retry");
    CHECK(got && json_array_size(got) == 3);
    double t[3];
    for (size_t i = 0; i < 3; i++) {
        json_t *e = json_array_get(got, i);
        t[i] = json_real_value(json_object_get(e, "t"));
        CHECK(strcmp(hdr(e, "x-hydra-event"), "render.failed") == 0);
        CHECK(strcmp(hdr(e, "x-hydra-delivery"), job.cb_delivery) == 0);
        CHECK(signature_valid(hdr(e, "x-hydra-signature"), "env-secret", body_of(e)));
    }
    /* 200 ms, then 400 ms (plus the time a delivery takes). */
    double d1 = t[1] - t[0], d2 = t[2] - t[1];
    CHECKF(d1 >= 0.19 && d1 < 1.0 && d2 >= 0.39 && d2 < 1.5 && d2 > d1, "spacing %.3f s, %.3f s",
           d1, d2);
    json_decref(got);
    hc_job_fini(&job);
    hc_store_close(f.store);
}

HC_TEST(callback_gives_up_after_attempts) {
    fx f;
    CHECK(fx_setup(&f) == 0);
    f.cfg.callback_attempts = 3;
    f.cfg.callback_backoff_ms = 20;
    CHECK(final_job(&f, "cb-down", "/hook-status/503/down", "", HC_JOB_COMPLETED) == 0);
    hc_notifier *n = NULL;
    hc_err err = {0};
    CHECK(hc_notifier_start(&f.cfg, f.store, NULL, &n, &err) == 0);
    hc_job job = {0};
    CHECK(wait_cb(&f, "cb-down", HC_CB_GAVE_UP, 10000, &job));
    hc_test_sleep_ms(300); /* nothing more is sent */
    hc_notifier_stop(n);
    CHECK(job.cb_attempts == 3);
    CHECKF(job.cb_last_error && strstr(job.cb_last_error, "HTTP 503"), "%s",
           job.cb_last_error ? job.cb_last_error : "(null)");
    json_t *got = received(&f, "down");
    CHECK(got && json_array_size(got) == 3);
    json_decref(got);
    hc_job_fini(&job);
    hc_store_close(f.store);
}

HC_TEST(callback_secret_in_body_only_when_asked) {
    fx f;
    CHECK(fx_setup(&f) == 0);
    f.cfg.callback_secret_in_body = true;
    CHECK(final_job(&f, "cb-legacy", "/callback/legacy", ",\"callback_secret\":\"old-style\"",
                    HC_JOB_COMPLETED) == 0);
    hc_notifier *n = NULL;
    hc_err err = {0};
    CHECK(hc_notifier_start(&f.cfg, f.store, NULL, &n, &err) == 0);
    hc_job job = {0};
    CHECK(wait_cb(&f, "cb-legacy", HC_CB_DELIVERED, 5000, &job));
    hc_notifier_stop(n);
    json_t *got = received(&f, "legacy");
    CHECK(got && json_array_size(got) == 1);
    json_t *e = json_array_get(got, 0);
    json_t *b = json_loads(body_of(e), 0, NULL);
    CHECK(b && strcmp(json_string_value(json_object_get(b, "secret")), "old-style") == 0);
    CHECK(signature_valid(hdr(e, "x-hydra-signature"), "old-style", body_of(e)));
    json_decref(b);
    json_decref(got);
    hc_job_fini(&job);
    hc_store_close(f.store);
}

HC_TEST(callback_unsigned_without_secret) {
    fx f;
    CHECK(fx_setup(&f) == 0);
    CHECK(final_job(&f, "cb-plain", "/callback/plain", "", HC_JOB_COMPLETED) == 0);
    hc_notifier *n = NULL;
    hc_err err = {0};
    CHECK(hc_notifier_start(&f.cfg, f.store, NULL, &n, &err) == 0);
    hc_job job = {0};
    CHECK(wait_cb(&f, "cb-plain", HC_CB_DELIVERED, 5000, &job));
    hc_notifier_stop(n);
    json_t *got = received(&f, "plain");
    CHECK(got && json_array_size(got) == 1);
    json_t *e = json_array_get(got, 0);
    CHECK(!hdr(e, "x-hydra-signature"));
    CHECK(hdr(e, "x-hydra-delivery") && hdr(e, "x-hydra-event"));
    CHECK(!strstr(body_of(e), "secret"));
    json_decref(got);
    hc_job_fini(&job);
    hc_store_close(f.store);
}

HC_TEST(callback_redirect_not_followed) {
    fx f;
    CHECK(fx_setup(&f) == 0);
    f.cfg.callback_attempts = 2;
    f.cfg.callback_backoff_ms = 20;
    CHECK(final_job(&f, "cb-moved", "/hook-status/302/moved", "", HC_JOB_COMPLETED) == 0);
    hc_notifier *n = NULL;
    hc_err err = {0};
    CHECK(hc_notifier_start(&f.cfg, f.store, NULL, &n, &err) == 0);
    hc_job job = {0};
    CHECK(wait_cb(&f, "cb-moved", HC_CB_GAVE_UP, 5000, &job));
    hc_notifier_stop(n);
    CHECK(job.cb_last_error && strstr(job.cb_last_error, "HTTP 302"));
    json_t *got = received(&f, "moved"), *redirected = received(&f, "redirected");
    CHECK(got && json_array_size(got) == 2);
    CHECK(redirected && json_array_size(redirected) == 0);
    json_decref(got);
    json_decref(redirected);
    hc_job_fini(&job);
    hc_store_close(f.store);
}

HC_TEST(callback_private_address_refused) {
    fx f;
    CHECK(fx_setup(&f) == 0);
    f.cfg.url_allow = NULL; /* 127.0.0.1 is loopback: refused */
    f.cfg.callback_secret = "never-logged";
    CHECK(final_job(&f, "cb-guard", "/callback/guard", "", HC_JOB_COMPLETED) == 0);
    hc_notifier *n = NULL;
    hc_err err = {0};
    CHECK(hc_notifier_start(&f.cfg, f.store, NULL, &n, &err) == 0);
    hc_job job = {0};
    CHECK(wait_cb(&f, "cb-guard", HC_CB_GAVE_UP, 5000, &job));
    hc_notifier_stop(n);
    CHECK(job.cb_attempts == 1); /* an address does not change: not retried */
    CHECKF(job.cb_last_error &&
               strstr(job.cb_last_error, "callback_url: address 127.0.0.1 is loopback; set "
                                         "HC_URL_ALLOW to allow it"),
           "%s", job.cb_last_error ? job.cb_last_error : "(null)");
    json_t *got = received(&f, "guard");
    CHECK(got && json_array_size(got) == 0);
    json_decref(got);
    hc_job_fini(&job);

    /* Allowed by CIDR, a job with a callback goes through. */
    f.cfg.url_allow = "127.0.0.0/8";
    CHECK(final_job(&f, "cb-guard2", "/callback/guard", "", HC_JOB_COMPLETED) == 0);
    CHECK(hc_notifier_start(&f.cfg, f.store, NULL, &n, &err) == 0);
    CHECK(wait_cb(&f, "cb-guard2", HC_CB_DELIVERED, 5000, &job));
    hc_notifier_stop(n);
    got = received(&f, "guard");
    CHECK(got && json_array_size(got) == 1);
    json_decref(got);
    hc_job_fini(&job);
    hc_store_close(f.store);
}

HC_TEST(callback_canceled_event) {
    fx f;
    CHECK(fx_setup(&f) == 0);
    char json[512];
    snprintf(json, sizeof json,
             "{\"job_id\":\"cb-cancel\",\"images\":[\"https://img.example/a.jpg\"],"
             "\"callback_url\":\"http://127.0.0.1:%d/callback/cancel\"}",
             f.port);
    hc_request_opts ro = {.allow_local_files = false};
    hc_request *req = NULL;
    hc_err err = {0};
    CHECK(hc_request_parse(json, strlen(json), &ro, &req, &err) == 0);
    hc_job job = {0};
    hc_job_from_request(&job, req);
    hc_request_free(req);
    CHECK(hc_store_create(f.store, &job, NULL, &err) == 0);
    hc_job_fini(&job);
    CHECK(hc_store_cancel(f.store, "cb-cancel", &job, &err) == 0);
    hc_job_fini(&job);
    hc_notifier *n = NULL;
    CHECK(hc_notifier_start(&f.cfg, f.store, NULL, &n, &err) == 0);
    CHECK(wait_cb(&f, "cb-cancel", HC_CB_DELIVERED, 5000, &job));
    hc_notifier_stop(n);
    json_t *got = received(&f, "cancel");
    CHECK(got && json_array_size(got) == 1);
    CHECK(strcmp(hdr(json_array_get(got, 0), "x-hydra-event"), "render.canceled") == 0);
    json_decref(got);
    hc_job_fini(&job);
    hc_store_close(f.store);
}
