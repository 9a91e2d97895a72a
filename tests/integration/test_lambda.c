/* End-to-end tests of `hydra-compose lambda`: the real binary against the
 * Lambda Runtime API stand-in (tests/data/lambda_runtime.py), a SQLite store
 * in the test's directory, the local executor with no workers (jobs stay
 * queued). API Gateway HTTP API (payload 2.0) events: submit, status, 404,
 * bad input naming the field with nothing stored, unknown effect names
 * (also through `serve`), base64 bodies, CORS, /metrics, /files with
 * binary bodies and ranges; a scheduled event delivering a pending
 * callback; an init error to /init/error; a handler error to /error, and
 * the process serving on after it. */
#include "hc_test.h"

#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- fixture ------------------------------------------------------------------ */

/* The stand-in on an ephemeral port; returns the port or -1. */
static int start_runtime(void) {
    return hc_test_py("lambda_runtime.py", NULL, NULL);
}

/* `hydra-compose lambda` against the stand-in: env (shell words, may be
 * NULL) before it, args after it; stderr in the test dir. Returns the pid. */
static int start_lambda(int port, const char *env, const char *args) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "exec env AWS_LAMBDA_RUNTIME_API=127.0.0.1:%d HC_DATA_DIR=%s/data "
             "HC_STORE=sqlite:%s/data/jobs.db HC_EXECUTOR=local HC_WORKERS=0 %s %s lambda %s "
             "2>>%s/lambda.log",
             port, hc_test_tmpdir(), hc_test_tmpdir(), env ? env : "", hc_test_bin(),
             args ? args : "", hc_test_tmpdir());
    return hc_test_spawn(cmd);
}

static void stop_lambda(int pid) {
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

typedef struct reply {
    json_t *rec;  /* the stand-in's record */
    json_t *resp; /* the Lambda response ({statusCode, ...}) when kind is response */
    json_t *body; /* resp.body parsed as JSON when it is */
    int status;
} reply;

static void reply_fini(reply *r) {
    json_decref(r->rec);
    json_decref(r->resp);
    json_decref(r->body);
    memset(r, 0, sizeof *r);
}

/* An API Gateway request through the Lambda. */
static bool api(int port, reply *r, const char *method, const char *path, const char *query,
                const char *headers, const char *body, bool b64) {
    memset(r, 0, sizeof *r);
    char *ev = hc_test_apigw_event(method, path, query, headers, body, b64);
    r->rec = hc_test_lambda_invoke(port, ev);
    free(ev);
    const char *kind = json_string_value(json_object_get(r->rec, "kind"));
    if (!kind || strcmp(kind, "response")) return false;
    r->resp = json_loads(json_string_value(json_object_get(r->rec, "body")), 0, NULL);
    r->status = (int)json_integer_value(json_object_get(r->resp, "statusCode"));
    const char *b = json_string_value(json_object_get(r->resp, "body"));
    if (b && !json_is_true(json_object_get(r->resp, "isBase64Encoded")))
        r->body = json_loads(b, JSON_DECODE_ANY, NULL);
    return r->resp != NULL;
}

static const char *resp_header(const reply *r, const char *name) {
    return json_string_value(json_object_get(json_object_get(r->resp, "headers"), name));
}

static const char *err_message(const reply *r) {
    return json_string_value(json_object_get(json_object_get(r->body, "error"), "message"));
}

static int b64v(char c) {
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(t, c) : NULL;
    return p ? (int)(p - t) : -1;
}

static size_t b64_decode(const char *s, unsigned char *out) {
    unsigned acc = 0;
    int bits = 0;
    size_t n = 0;
    for (; *s; s++) {
        int v = b64v(*s);
        if (v < 0) continue;
        acc = acc << 6 | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return n;
}

static char *b64_encode(const char *s) {
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s), o = 0;
    char *out = malloc(n / 3 * 4 + 8);
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)s[i] << 16;
        if (i + 1 < n) v |= (unsigned char)s[i + 1] << 8;
        if (i + 2 < n) v |= (unsigned char)s[i + 2];
        out[o++] = t[v >> 18];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = 0;
    return out;
}

static const char *SUBMIT =
    "{\"job_id\":\"lam-1\",\"images\":[{\"url\":\"https://example.com/a.jpg\"},"
    "{\"url\":\"https://example.com/b.jpg\"}],\"settings\":{\"duration\":4}}";

/* Both sides started; false (and a failure) otherwise. */
#define START(port, pid, env, args)                                                                \
    int port = start_runtime();                                                                    \
    CHECKF(port > 0, "stand-in did not start");                                                    \
    int pid = start_lambda(port, env, args);                                                       \
    CHECK(pid > 0)

/* ---- tests -------------------------------------------------------------------- */

HC_TEST(lambda_submit_status_404_and_metrics) {
    START(port, pid, NULL, NULL);
    reply r;
    CHECK(api(port, &r, "POST", "/render", NULL, "{\"content-type\":\"application/json\"}", SUBMIT,
              false));
    CHECKF(r.status == 202, "submit: %d", r.status);
    CHECK(!strcmp(json_string_value(json_object_get(r.body, "job_id")), "lam-1"));
    CHECK(!strcmp(json_string_value(json_object_get(r.body, "status")), "queued"));
    CHECK(resp_header(&r, "Location") && !strcmp(resp_header(&r, "Location"), "/render/lam-1"));
    CHECK(!strcmp(resp_header(&r, "Content-Type"), "application/json"));
    CHECK(!json_is_true(json_object_get(r.resp, "isBase64Encoded")));
    /* The invocation's headers reached the runtime. */
    CHECK(json_string_value(
        json_object_get(json_object_get(r.rec, "next_headers"), "Lambda-Runtime-Deadline-Ms")));
    reply_fini(&r);

    CHECK(api(port, &r, "POST", "/render", NULL, NULL, SUBMIT, false));
    CHECKF(r.status == 200, "the same request again: %d", r.status);
    reply_fini(&r);

    CHECK(api(port, &r, "GET", "/render/status", "job_id=lam-1", NULL, NULL, false));
    CHECKF(r.status == 200, "status: %d", r.status);
    CHECK(!strcmp(json_string_value(json_object_get(r.body, "status")), "queued"));
    reply_fini(&r);
    CHECK(api(port, &r, "GET", "/render/lam-1", NULL, NULL, NULL, false));
    CHECK(r.status == 200);
    reply_fini(&r);

    CHECK(api(port, &r, "GET", "/render/nope", NULL, NULL, NULL, false));
    CHECKF(r.status == 404, "unknown job: %d", r.status);
    CHECK(!strcmp(json_string_value(json_object_get(json_object_get(r.body, "error"), "code")),
                  "NOTFOUND"));
    reply_fini(&r);
    CHECK(api(port, &r, "GET", "/nowhere", NULL, NULL, NULL, false));
    CHECK(r.status == 404);
    reply_fini(&r);
    CHECK(api(port, &r, "PUT", "/render", NULL, NULL, NULL, false));
    CHECK(r.status == 405 && resp_header(&r, "Allow"));
    reply_fini(&r);

    CHECK(api(port, &r, "GET", "/metrics", NULL, NULL, NULL, false));
    CHECK(r.status == 200);
    const char *text = json_string_value(json_object_get(r.resp, "body"));
    CHECKF(text && strstr(text, "hydra_jobs{status=\"queued\"} 1") &&
               strstr(text, "hydra_http_requests_total{code=\"202\"} 1") &&
               strstr(text, "hydra_http_requests_total{code=\"404\"} 2"),
           "metrics:\n%s", text ? text : "(none)");
    reply_fini(&r);
    stop_lambda(pid);
}

HC_TEST(lambda_bad_input_is_400_naming_the_field_and_nothing_is_stored) {
    START(port, pid, NULL, NULL);
    reply r;
    CHECK(api(port, &r, "POST", "/render", NULL, NULL, "{\"images\":[]}", false));
    CHECKF(r.status == 400, "empty images: %d", r.status);
    CHECKF(err_message(&r) && strstr(err_message(&r), "images"), "message: %s",
           err_message(&r) ? err_message(&r) : "(none)");
    reply_fini(&r);

    CHECK(api(port, &r, "POST", "/render", NULL, NULL, "{not json", false));
    CHECK(r.status == 400);
    reply_fini(&r);

    CHECK(api(port, &r, "POST", "/render", NULL, "{\"content-type\":\"multipart/form-data\"}",
              SUBMIT, false));
    CHECKF(r.status == 415, "form upload: %d", r.status);
    reply_fini(&r);

    /* An effect name the CLI refuses is refused at submit too. */
    CHECK(api(port, &r, "POST", "/render", NULL, NULL,
              "{\"job_id\":\"fx-1\",\"images\":[{\"url\":\"https://example.com/a.jpg\"}],"
              "\"settings\":{\"ai_effects\":{\"transitions\":[\"foo\"]}}}",
              false));
    CHECKF(r.status == 400, "unknown transition: %d", r.status);
    CHECKF(err_message(&r) &&
               strstr(err_message(&r), "settings.ai_effects.transitions[0]: unknown transition "
                                       "\"foo\""),
           "message: %s", err_message(&r) ? err_message(&r) : "(none)");
    reply_fini(&r);

    CHECK(api(port, &r, "GET", "/jobs", NULL, NULL, NULL, false));
    CHECK(r.status == 200);
    CHECKF(json_array_size(json_object_get(r.body, "jobs")) == 0, "jobs were stored");
    reply_fini(&r);
    CHECK(api(port, &r, "GET", "/render/fx-1", NULL, NULL, NULL, false));
    CHECK(r.status == 404);
    reply_fini(&r);
    stop_lambda(pid);
}

HC_TEST(lambda_and_serve_refuse_unknown_effect_names) {
    char data[PATH_MAX], url[256];
    snprintf(data, sizeof data, "%s/serve-data", hc_test_tmpdir());
    int spid = hc_test_serve(data, "--workers 0", url, sizeof url);
    CHECK(spid > 0);
    static const char *const bad[] = {
        "{\"images\":[{\"url\":\"https://example.com/a.jpg\"}],"
        "\"settings\":{\"ai_effects\":{\"transitions\":[\"fade\",\"foo\"]}}}",
        "{\"images\":[{\"url\":\"https://example.com/a.jpg\"}],"
        "\"settings\":{\"ai_effects\":{\"filters\":[\"nope\"]}}}",
    };
    static const char *const field[] = {"settings.ai_effects.transitions[1]: unknown transition",
                                        "settings.ai_effects.filters[0]: unknown filter"};
    for (int i = 0; i < 2; i++) {
        char u[300], *resp = NULL;
        snprintf(u, sizeof u, "%s/render", url);
        long st = hc_test_http("POST", u, bad[i], NULL, &resp, NULL);
        CHECKF(st == 400 && resp && strstr(resp, field[i]), "serve %d: %ld %s", i, st,
               resp ? resp : "");
        free(resp);
    }
    char u[300], *resp = NULL;
    snprintf(u, sizeof u, "%s/jobs", url);
    CHECK(hc_test_http("GET", u, NULL, NULL, &resp, NULL) == 200);
    CHECKF(resp && strstr(resp, "\"jobs\":[]"), "serve stored a job: %s", resp ? resp : "");
    free(resp);
    kill(spid, SIGTERM);
    waitpid(spid, NULL, 0);

    START(port, pid, NULL, NULL);
    for (int i = 0; i < 2; i++) {
        reply r;
        CHECK(api(port, &r, "POST", "/render", NULL, NULL, bad[i], false));
        CHECKF(r.status == 400 && err_message(&r) && strstr(err_message(&r), field[i]),
               "lambda %d: %d %s", i, r.status, err_message(&r) ? err_message(&r) : "");
        reply_fini(&r);
    }
    stop_lambda(pid);
}

HC_TEST(lambda_base64_body_cors_and_preflight) {
    START(port, pid, NULL, NULL);
    reply r;
    char *b64 = b64_encode(SUBMIT);
    CHECK(api(port, &r, "POST", "/render", NULL, "{\"content-type\":\"application/json\"}", b64,
              true));
    free(b64);
    CHECKF(r.status == 202, "base64 submit: %d", r.status);
    CHECK(!strcmp(json_string_value(json_object_get(r.body, "job_id")), "lam-1"));
    CHECK(resp_header(&r, "Access-Control-Allow-Origin") &&
          !strcmp(resp_header(&r, "Access-Control-Allow-Origin"), "*"));
    reply_fini(&r);

    CHECK(api(port, &r, "POST", "/render", NULL, NULL, "!!not base64!!", true));
    CHECKF(r.status == 400, "bad base64: %d", r.status);
    CHECK(err_message(&r) && strstr(err_message(&r), "base64"));
    reply_fini(&r);

    CHECK(api(port, &r, "OPTIONS", "/render", NULL,
              "{\"origin\":\"https://app.example\",\"access-control-request-method\":\"POST\"}",
              NULL, false));
    CHECKF(r.status == 204, "preflight: %d", r.status);
    CHECK(resp_header(&r, "Access-Control-Allow-Methods") &&
          strstr(resp_header(&r, "Access-Control-Allow-Methods"), "POST"));
    CHECK(resp_header(&r, "Access-Control-Allow-Headers") &&
          strstr(resp_header(&r, "Access-Control-Allow-Headers"), "X-Api-Key"));
    CHECK(resp_header(&r, "Access-Control-Allow-Origin"));
    reply_fini(&r);

    /* A named stage's prefix is not part of the route. */
    char *ev = hc_test_apigw_event("GET", "/prod/healthz", NULL, NULL, NULL, false);
    json_t *e = json_loads(ev, 0, NULL);
    free(ev);
    json_object_set_new(json_object_get(e, "requestContext"), "stage", json_string("prod"));
    ev = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    json_t *rec = hc_test_lambda_invoke(port, ev);
    free(ev);
    json_t *resp = json_loads(json_string_value(json_object_get(rec, "body")), 0, NULL);
    CHECKF(json_integer_value(json_object_get(resp, "statusCode")) == 200, "stage route: %s",
           json_string_value(json_object_get(rec, "body")));
    json_decref(resp);
    json_decref(rec);
    stop_lambda(pid);
}

HC_TEST(lambda_files_binary_bodies_are_base64_with_ranges) {
    char dir[PATH_MAX], file[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/outputs/renders", hc_test_tmpdir());
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    CHECK(hc_test_run(cmd, NULL) == 0);
    unsigned char bytes[300];
    for (int i = 0; i < 300; i++)
        bytes[i] = (unsigned char)(i * 7 + 1);
    bytes[5] = 0;
    snprintf(file, sizeof file, "%s/x.jpg", dir);
    CHECK(hc_test_write_file(file, bytes, sizeof bytes) == 0);
    char env[PATH_MAX + 32];
    snprintf(env, sizeof env, "HC_STORAGE=file:%s/outputs", hc_test_tmpdir());
    START(port, pid, env, NULL);
    reply r;
    CHECK(api(port, &r, "GET", "/files/renders/x.jpg", NULL, NULL, NULL, false));
    CHECKF(r.status == 200, "file: %d", r.status);
    CHECK(json_is_true(json_object_get(r.resp, "isBase64Encoded")));
    CHECK(!strcmp(resp_header(&r, "Content-Type"), "image/jpeg"));
    unsigned char got[400];
    size_t n = b64_decode(json_string_value(json_object_get(r.resp, "body")), got);
    CHECKF(n == sizeof bytes && !memcmp(got, bytes, n), "decoded %zu bytes", n);
    reply_fini(&r);

    CHECK(api(port, &r, "GET", "/files/renders/x.jpg", NULL, "{\"range\":\"bytes=10-19\"}", NULL,
              false));
    CHECKF(r.status == 206, "range: %d", r.status);
    CHECK(!strcmp(resp_header(&r, "Content-Range"), "bytes 10-19/300"));
    n = b64_decode(json_string_value(json_object_get(r.resp, "body")), got);
    CHECK(n == 10 && !memcmp(got, bytes + 10, 10));
    reply_fini(&r);

    CHECK(api(port, &r, "GET", "/files/renders/x.jpg", NULL, "{\"range\":\"bytes=900-\"}", NULL,
              false));
    CHECK(r.status == 416);
    reply_fini(&r);
    CHECK(api(port, &r, "GET", "/files/renders/..%2F..%2Fdata%2Fjobs.db", NULL, NULL, NULL, false));
    CHECKF(r.status == 400 || r.status == 404, "traversal: %d", r.status);
    reply_fini(&r);
    stop_lambda(pid);
}

HC_TEST(lambda_scheduled_event_delivers_pending_callbacks) {
    char www[PATH_MAX];
    snprintf(www, sizeof www, "%s/www", hc_test_tmpdir());
    mkdir(www, 0755);
    int hport = hc_test_httpd(www);
    CHECK(hport > 0);
    START(port, pid, "HC_URL_ALLOW=127.0.0.1 CALLBACK_SECRET=s3cret", NULL);
    char body[1024];
    snprintf(body, sizeof body,
             "{\"job_id\":\"cb-1\",\"images\":[{\"url\":\"https://example.com/a.jpg\"}],"
             "\"callback_url\":\"http://127.0.0.1:%d/callback/cb\"}",
             hport);
    reply r;
    CHECK(api(port, &r, "POST", "/render", NULL, NULL, body, false));
    CHECK(r.status == 202);
    reply_fini(&r);
    /* Canceled while queued: final, its callback pending. No thread of the
     * Lambda delivers it; the scheduled event does. */
    CHECK(api(port, &r, "DELETE", "/render/cb-1", NULL, NULL, NULL, false));
    CHECKF(r.status == 200, "cancel: %d", r.status);
    reply_fini(&r);
    char url[128], *resp = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hooks/cb", hport);
    hc_test_sleep_ms(300);
    CHECK(hc_test_http("GET", url, NULL, NULL, &resp, NULL) == 200);
    CHECKF(resp && !strcmp(resp, "[]"), "delivered before the schedule: %s", resp ? resp : "");
    free(resp);

    json_t *rec = hc_test_lambda_invoke(
        port, "{\"version\":\"0\",\"id\":\"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa\","
              "\"detail-type\":\"Scheduled Event\",\"source\":\"aws.events\","
              "\"account\":\"123456789012\",\"time\":\"2026-12-03T12:00:00Z\","
              "\"region\":\"us-east-1\",\"resources\":[\"arn:aws:events:us-east-1:"
              "123456789012:rule/hydra-reconcile\"],\"detail\":{}}");
    CHECK(rec);
    CHECKF(!strcmp(json_string_value(json_object_get(rec, "kind")), "response"), "kind %s: %s",
           json_string_value(json_object_get(rec, "kind")),
           json_string_value(json_object_get(rec, "body")));
    CHECK(strstr(json_string_value(json_object_get(rec, "body")), "\"scheduled\":true"));
    json_decref(rec);
    CHECK(hc_test_http("GET", url, NULL, NULL, &resp, NULL) == 200);
    json_t *hooks = json_loads(resp, 0, NULL);
    free(resp);
    CHECKF(json_array_size(hooks) == 1, "deliveries: %zu", json_array_size(hooks));
    json_t *h0 = json_array_get(hooks, 0);
    CHECK(strstr(json_string_value(json_object_get(h0, "body")), "\"canceled\""));
    CHECK(json_string_value(json_object_get(json_object_get(h0, "headers"), "x-hydra-signature")));
    json_decref(hooks);
    stop_lambda(pid);
}

HC_TEST(lambda_init_error_is_reported_then_a_good_start_serves) {
    int port = start_runtime();
    CHECK(port > 0);
    int pid = start_lambda(port, "HC_STORE=bogus:nowhere", NULL);
    CHECK(pid > 0);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 2, "exit status %d", st);
    char url[128], *resp = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/test/init-error?wait=5", port);
    CHECK(hc_test_http("GET", url, NULL, NULL, &resp, NULL) == 200);
    json_t *j = json_loads(resp, 0, NULL);
    free(resp);
    CHECK(!strcmp(json_string_value(json_object_get(j, "error_type")), "Runtime.InitError"));
    json_t *body = json_loads(json_string_value(json_object_get(j, "body")), 0, NULL);
    const char *msg = json_string_value(json_object_get(body, "errorMessage"));
    CHECKF(msg && strstr(msg, "bogus"), "init error message: %s", msg ? msg : "(none)");
    CHECK(json_string_value(json_object_get(body, "errorType")));
    CHECK(json_is_array(json_object_get(body, "stackTrace")));
    json_decref(body);
    json_decref(j);

    /* Lambda starts a fresh environment: that one serves. */
    pid = start_lambda(port, NULL, NULL);
    reply r;
    CHECK(api(port, &r, "GET", "/healthz", NULL, NULL, NULL, false));
    CHECK(r.status == 200);
    reply_fini(&r);
    stop_lambda(pid);
}

HC_TEST(lambda_handler_error_goes_to_error_and_serving_goes_on) {
    START(port, pid, NULL, NULL);
    json_t *rec = hc_test_lambda_invoke(port, "{\"hello\":\"world\"}");
    CHECK(rec);
    CHECK(!strcmp(json_string_value(json_object_get(rec, "kind")), "error"));
    CHECK(!strcmp(json_string_value(json_object_get(rec, "error_type")), "InvalidEvent"));
    json_t *body = json_loads(json_string_value(json_object_get(rec, "body")), 0, NULL);
    CHECK(strstr(json_string_value(json_object_get(body, "errorMessage")), "API Gateway"));
    json_decref(body);
    json_decref(rec);

    rec = hc_test_lambda_invoke(port, "definitely not json");
    CHECK(rec && !strcmp(json_string_value(json_object_get(rec, "kind")), "error"));
    json_decref(rec);
    rec = hc_test_lambda_invoke(
        port, "{\"version\":\"1.0\",\"requestContext\":{\"http\":{\"method\":\"GET\"}}}");
    CHECK(rec && !strcmp(json_string_value(json_object_get(rec, "kind")), "error"));
    json_decref(rec);

    reply r;
    CHECK(api(port, &r, "POST", "/render", NULL, NULL, SUBMIT, false));
    CHECKF(r.status == 202, "after the errors: %d", r.status);
    reply_fini(&r);
    /* No request was answered twice or with a wrong id. */
    char url[128], *resp = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/test/stats", port);
    CHECK(hc_test_http("GET", url, NULL, NULL, &resp, NULL) == 200);
    CHECKF(strstr(resp, "\"errors\": []"), "stats: %s", resp);
    free(resp);
    stop_lambda(pid);
}
