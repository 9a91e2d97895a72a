/* The outgoing HTTP client (src/core/httpc.c) against tests/data/httpd.py:
 * statuses, retries with back-off and Retry-After, the guard as a policy,
 * bodies from memory and from a file range, sinks, caps, stops, prepare
 * called per attempt, and the URL helpers. */
#include "core/hc_core.h"
#include "hc_test.h"

#include <string.h>

static int serve(char *base, size_t len) {
    const char *dir = hc_test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/a.txt", dir);
    if (hc_test_write_file(path, "hello\n", 6) != 0) return -1;
    int port = hc_test_httpd(dir);
    if (port > 0) snprintf(base, len, "http://127.0.0.1:%d", port);
    return port;
}

static const hc_httpc_policy open_pol = {.name = "test", .max_attempts = 3, .backoff_ms = 50};

HC_TEST(httpc_get_status_headers_and_body) {
    char base[64], url[256];
    CHECK(serve(base, sizeof base) > 0);
    snprintf(url, sizeof url, "%s/a.txt", base);
    hc_httpc_resp r;
    hc_err err = {0};
    int rc = hc_httpc_do(&open_pol, &(hc_httpc_req){.url = url}, &r, &err);
    CHECKF(rc == 0, "rc %d: %s", rc, err.msg);
    CHECKF(r.status == 200 && r.attempts == 1, "status %ld attempts %d", r.status, r.attempts);
    CHECKF(strcmp(r.body.p, "hello\n") == 0, "body %s", r.body.p);
    char ct[64];
    CHECK(hc_httpc_header(&r, "content-type", ct, sizeof ct));
    CHECKF(strncmp(ct, "text/plain", 10) == 0, "content-type %s", ct);
    CHECK(!hc_httpc_header(&r, "x-nope", ct, sizeof ct));
    hc_httpc_resp_fini(&r);

    /* A 404 is a response, not an error, and is not retried. */
    snprintf(url, sizeof url, "%s/status/404", base);
    rc = hc_httpc_do(&open_pol, &(hc_httpc_req){.url = url}, &r, &err);
    CHECKF(rc == 0 && r.status == 404 && r.attempts == 1, "rc %d status %ld attempts %d", rc,
           r.status, r.attempts);
    hc_httpc_resp_fini(&r);
}

HC_TEST(httpc_retries_5xx_and_honours_retry_after) {
    char base[64], url[256];
    CHECK(serve(base, sizeof base) > 0);
    snprintf(url, sizeof url, "%s/flaky/2/a.txt", base);
    hc_httpc_resp r;
    hc_err err = {0};
    CHECK(hc_httpc_do(&open_pol, &(hc_httpc_req){.url = url}, &r, &err) == 0);
    CHECKF(r.status == 200 && r.attempts == 3, "status %ld attempts %d", r.status, r.attempts);
    hc_httpc_resp_fini(&r);

    /* Retry-After: 1 makes the second try wait about a second, not 50 ms. */
    snprintf(url, sizeof url, "%s/retry-after/a.txt", base);
    double t0 = hc_test_now_s();
    CHECK(hc_httpc_do(&open_pol, &(hc_httpc_req){.url = url}, &r, &err) == 0);
    double dt = hc_test_now_s() - t0;
    CHECKF(r.status == 200 && r.attempts == 2, "status %ld attempts %d", r.status, r.attempts);
    CHECKF(dt >= 0.9, "waited only %.2f s", dt);
    hc_httpc_resp_fini(&r);

    /* Out of attempts: the last status comes back. */
    snprintf(url, sizeof url, "%s/status/503", base);
    CHECK(hc_httpc_do(&open_pol, &(hc_httpc_req){.url = url}, &r, &err) == 0);
    CHECKF(r.status == 503 && r.attempts == 3, "status %ld attempts %d", r.status, r.attempts);
    hc_httpc_resp_fini(&r);
}

HC_TEST(httpc_network_error_names_the_redacted_url) {
    /* A port nothing listens on (bound then closed by the OS: port 9 discard
     * is unlikely to be served on loopback in a test sandbox). */
    const char *url = "http://user:pw@127.0.0.1:9/x?X-Amz-Signature=secret";
    hc_httpc_resp r;
    hc_err err = {0};
    int rc = hc_httpc_do(&(hc_httpc_policy){.name = "probe", .max_attempts = 2, .backoff_ms = 10},
                         &(hc_httpc_req){.url = url}, &r, &err);
    CHECKF(rc == HC_ENET, "rc %d", rc);
    CHECKF(strstr(err.msg, "probe: network error on http://127.0.0.1:9/x") != NULL, "%s", err.msg);
    CHECKF(strstr(err.msg, "after 2 tries") != NULL, "%s", err.msg);
    CHECKF(!strstr(err.msg, "secret") && !strstr(err.msg, "pw"), "leaks: %s", err.msg);
    hc_httpc_resp_fini(&r);
}

HC_TEST(httpc_guard_is_a_policy) {
    char base[64], url[256];
    CHECK(serve(base, sizeof base) > 0);
    snprintf(url, sizeof url, "%s/a.txt", base);
    hc_httpc_resp r;
    hc_err err = {0};
    hc_httpc_policy guarded = {.name = "fetch", .guard = true, .max_attempts = 3};
    int rc = hc_httpc_do(&guarded, &(hc_httpc_req){.url = url}, &r, &err);
    CHECKF(rc == HC_EINVAL && r.attempts == 1, "rc %d attempts %d", rc, r.attempts);
    CHECKF(strstr(err.msg, "127.0.0.1 is loopback") && strstr(err.msg, "HC_URL_ALLOW"), "%s",
           err.msg);
    hc_httpc_resp_fini(&r);
    guarded.url_allow = "127.0.0.1";
    CHECK(hc_httpc_do(&guarded, &(hc_httpc_req){.url = url}, &r, &err) == 0 && r.status == 200);
    hc_httpc_resp_fini(&r);
    /* A redirect to a private address is refused at connect time too. */
    guarded.url_allow = NULL;
    guarded.max_redirects = 3;
    snprintf(url, sizeof url, "%s/redirect/1/a.txt", base);
    CHECK(hc_httpc_do(&guarded, &(hc_httpc_req){.url = url}, &r, &err) == HC_EINVAL);
    hc_httpc_resp_fini(&r);
    /* Infrastructure policy (no guard) follows the redirect. */
    CHECK(hc_httpc_do(&(hc_httpc_policy){.name = "infra", .max_redirects = 3},
                      &(hc_httpc_req){.url = url}, &r, &err) == 0);
    CHECKF(r.status == 200 && strcmp(r.body.p, "hello\n") == 0, "status %ld", r.status);
    CHECKF(strstr(r.effective_url, "/redirect/0/a.txt") != NULL, "%s", r.effective_url);
    hc_httpc_resp_fini(&r);
}

typedef struct prep_state {
    int calls;
} prep_state;

static int prep(void *ud, const hc_httpc_req *req, int attempt, hc_strlist *extra, hc_err *err) {
    (void)req, (void)err;
    prep_state *p = ud;
    p->calls++;
    hc_strlist_add(extra, "X-Attempt: %d", attempt);
    return 0;
}

HC_TEST(httpc_bodies_from_memory_and_file_with_prepare_per_attempt) {
    char base[64], url[256], path[4096];
    CHECK(serve(base, sizeof base) > 0);
    snprintf(url, sizeof url, "%s/hook/1/mem", base);
    prep_state ps = {0};
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    hc_httpc_req req = {.url = url, .headers = hdrs, .body = "{\"a\":1}", .body_len = 7,
                        .prepare = prep, .ud = &ps};
    hc_httpc_resp r;
    hc_err err = {0};
    CHECK(hc_httpc_do(&open_pol, &req, &r, &err) == 0);
    CHECKF(r.status == 200 && r.attempts == 2 && ps.calls == 2, "status %ld attempts %d calls %d",
           r.status, r.attempts, ps.calls);
    hc_httpc_resp_fini(&r);
    char *log = NULL;
    snprintf(path, sizeof path, "curl -s %s/hooks/mem", base);
    CHECK(hc_test_run(path, &log) == 0 && log);
    /* Both attempts carried the whole body; the second its own header. */
    CHECKF(strstr(log, "\"body\": \"{\\\"a\\\":1}\"") && strstr(log, "\"x-attempt\": \"2\""),
           "%s", log);
    free(log);

    /* PUT of bytes 2..5 of a file. */
    snprintf(path, sizeof path, "%s/part.bin", hc_test_tmpdir());
    CHECK(hc_test_write_file(path, "0123456789", 10) == 0);
    snprintf(url, sizeof url, "%s/callback/file", base);
    hc_httpc_req put = {.method = "PUT", .url = url, .body_path = path, .body_off = 2,
                        .body_len = 4};
    CHECK(hc_httpc_do(&open_pol, &put, &r, &err) == 0 && r.status == 200);
    hc_httpc_resp_fini(&r);
    snprintf(path, sizeof path, "curl -s %s/hooks/file", base);
    CHECK(hc_test_run(path, &log) == 0 && log);
    CHECKF(strstr(log, "\"method\": \"PUT\"") && strstr(log, "\"body\": \"2345\""), "%s", log);
    free(log);
}

typedef struct sink {
    hc_buf got;
    int resets;
    bool stop;
} sink;
static bool sink_data(void *ud, const void *d, size_t n) {
    sink *s = ud;
    hc_buf_put(&s->got, d, n);
    return true;
}
static void sink_reset(void *ud) {
    sink *s = ud;
    s->got.n = 0;
    s->resets++;
}
static bool sink_progress(void *ud, int64_t a, int64_t b, int64_t c, int64_t d) {
    (void)a, (void)b, (void)c, (void)d;
    return !((sink *)ud)->stop;
}

HC_TEST(httpc_sinks_caps_and_stops) {
    char base[64], url[256];
    CHECK(serve(base, sizeof base) > 0);
    snprintf(url, sizeof url, "%s/flaky/1/a.txt", base);
    sink s = {0};
    hc_httpc_req req = {.url = url, .on_data = sink_data, .on_reset = sink_reset, .ud = &s};
    hc_httpc_resp r;
    hc_err err = {0};
    CHECK(hc_httpc_do(&open_pol, &req, &r, &err) == 0 && r.status == 200);
    CHECKF(s.got.n == 6 && memcmp(s.got.p, "hello\n", 6) == 0 && s.resets == 1, "got %zu resets %d",
           s.got.n, s.resets);
    CHECK(r.body.n == 0);
    hc_httpc_resp_fini(&r);
    hc_buf_fini(&s.got);

    snprintf(url, sizeof url, "%s/big", base);
    int rc = hc_httpc_do(&(hc_httpc_policy){.name = "cap", .max_body_bytes = 1 << 20},
                         &(hc_httpc_req){.url = url}, &r, &err);
    CHECKF(rc == HC_ETOOBIG, "rc %d", rc);
    hc_httpc_resp_fini(&r);

    /* A stop ends a slow request within a fraction of a second. */
    snprintf(url, sizeof url, "%s/slow/a.txt", base);
    sink st = {.stop = true};
    double t0 = hc_test_now_s();
    rc = hc_httpc_do(&open_pol, &(hc_httpc_req){.url = url, .on_progress = sink_progress, .ud = &st},
                     &r, &err);
    CHECKF(rc == HC_ECANCELED && hc_test_now_s() - t0 < 1.0, "rc %d", rc);
    hc_httpc_resp_fini(&r);

    /* An attempt timeout is HC_ETIMEOUT. */
    rc = hc_httpc_do(&(hc_httpc_policy){.name = "t", .timeout_ms = 300},
                     &(hc_httpc_req){.url = url}, &r, &err);
    CHECKF(rc == HC_ETIMEOUT, "rc %d", rc);
    hc_httpc_resp_fini(&r);
}

HC_TEST(httpc_url_parse_redact_encode) {
    hc_url u;
    hc_err err = {0};
    CHECK(hc_url_parse("HTTPS://u:p@[::1]:8443/a%20b/c?x=1&y=2", &u, &err) == 0);
    CHECKF(!strcmp(u.scheme, "https") && !strcmp(u.host, "::1") && u.port == 8443 && u.port_given,
           "%s %s %d", u.scheme, u.host, u.port);
    CHECKF(!strcmp(u.path, "/a%20b/c") && !strcmp(u.query, "x=1&y=2") && !strcmp(u.user, "u"),
           "%s %s", u.path, u.query);
    hc_url_fini(&u);
    CHECK(hc_url_parse("http://example.com", &u, &err) == 0);
    CHECKF(u.port == 80 && !u.port_given && !strcmp(u.path, "/") && !u.query, "%d", u.port);
    hc_url_fini(&u);
    CHECK(hc_url_parse("s3://bucket/key/a.jpg", &u, &err) == 0);
    CHECK(!strcmp(u.host, "bucket") && !strcmp(u.path, "/key/a.jpg"));
    hc_url_fini(&u);
    CHECK(hc_url_parse("not a url", &u, &err) == HC_EINVAL);

    char buf[128];
    hc_url_redact("https://k:s@h.example/p/q.mp4?X-Amz-Signature=abc#f", buf, sizeof buf);
    CHECKF(!strcmp(buf, "https://h.example/p/q.mp4"), "%s", buf);

    hc_buf b = {0};
    hc_url_encode(&b, "a b/c~d_e.f-g+h=é", strlen("a b/c~d_e.f-g+h=é"), false);
    CHECKF(!strcmp(b.p, "a%20b%2Fc~d_e.f-g%2Bh%3D%C3%A9"), "%s", b.p);
    b.n = 0;
    hc_url_encode(&b, "a b/c", 5, true);
    CHECKF(!strcmp(b.p, "a%20b/c"), "%s", b.p);
    hc_buf_fini(&b);
}
