/* In-process tests of the HTTP API (src/http): hc_http_start on an
 * ephemeral loopback port with a SQLite store in the test's directory and
 * no executor (jobs stay queued), driven with libcurl. Submit, status,
 * idempotency, validation messages, the private-address guard, cancel,
 * listing with cursors, CORS, API keys and signed file URLs, /files with
 * ranges and traversal attempts, /healthz, /metrics, many concurrent
 * submits, quiesce. The lifecycle with real workers is in test_serve.c. */
#include "hc_test.h"

#include "core/hc_core.h"
#include "dispatch/hc_dispatch.h"
#include "http/hc_http.h"
#include "jobs/hc_jobs.h"
#include "store/hc_store.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- fixture ---------------------------------------------------------------- */

typedef struct fx {
    hc_config cfg;
    hc_store *store;
    hc_storage *storage;
    hc_http_server *srv;
    char url[128];
    char data[PATH_MAX - 64];
    char outputs[PATH_MAX];
    int img_port;
} fx;

/* A server with api_keys and url_allow (either may be NULL). */
static bool fx_start_store(fx *f, const char *keys, const char *allow, hc_store *store) {
    memset(f, 0, sizeof *f);
    snprintf(f->data, sizeof f->data, "%s/data", hc_test_tmpdir());
    snprintf(f->outputs, sizeof f->outputs, "%s/outputs", f->data);
    mkdir(f->data, 0755);
    mkdir(f->outputs, 0755);
    f->cfg.listen = hc_strdup("127.0.0.1:0");
    f->cfg.data_dir = hc_strdup(f->data);
    if (keys) f->cfg.api_keys = hc_strdup(keys);
    if (allow) f->cfg.url_allow = hc_strdup(allow);
    hc_err err = {0};
    if (store) {
        f->store = store;
    } else {
        char spec[PATH_MAX + 16];
        snprintf(spec, sizeof spec, "sqlite:%s/jobs.db", f->data);
        if (hc_store_open(spec, &f->store, &err)) {
            fprintf(stderr, "    store: %s\n", err.msg);
            return false;
        }
    }
    /* The outputs as serve opens them: links signed under the server's key
     * when API keys are on. */
    char secret[65] = "", spec[PATH_MAX + 16];
    if (keys && hc_urlsign_key_load(f->data, secret, &err)) return false;
    hc_storage_env senv = {.sign_secret = secret};
    snprintf(spec, sizeof spec, "file:%s", f->outputs);
    if (hc_storage_open(spec, &senv, &f->storage, &err)) {
        fprintf(stderr, "    storage: %s\n", err.msg);
        return false;
    }
    hc_http_env env = {.cfg = &f->cfg, .store = f->store, .storage = f->storage};
    if (hc_http_start(&env, &f->srv, &err)) {
        fprintf(stderr, "    http: %s\n", err.msg);
        return false;
    }
    snprintf(f->url, sizeof f->url, "%s", hc_http_url(f->srv));
    return true;
}

static bool fx_start(fx *f, const char *keys, const char *allow) {
    return fx_start_store(f, keys, allow, NULL);
}

static void fx_stop(fx *f) {
    hc_http_stop(f->srv);
    hc_store_close(f->store);
    hc_storage_close(f->storage);
    hc_config_fini(&f->cfg);
}

/* ---- HTTP client ------------------------------------------------------------ */

typedef struct resp {
    long status;
    char *body;
    size_t body_len;
    char *hdrs;
    json_t *json; /* body parsed when it is JSON */
} resp;

static size_t collect(char *data, size_t size, size_t nmemb, void *ud) {
    hc_buf_put(ud, data, size * nmemb);
    return size * nmemb;
}

static void resp_free(resp *r) {
    free(r->body);
    free(r->hdrs);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

enum { NO_CT = 1, PATH_AS_IS = 2, CHUNKED = 4 };

typedef struct upload {
    const char *p;
    size_t n, off;
} upload;

static size_t read_upload(char *out, size_t size, size_t nmemb, void *ud) {
    upload *u = ud;
    size_t want = size * nmemb, left = u->n - u->off;
    if (want > left) want = left;
    memcpy(out, u->p + u->off, want);
    u->off += want;
    return want;
}

/* One request; headers are "Name: value" lines separated by \n. */
static resp req(const fx *f, const char *method, const char *path, const char *body,
                const char *headers, unsigned flags) {
    resp r = {0};
    CURL *h = curl_easy_init();
    hc_buf rb = {0}, hb = {0};
    struct curl_slist *list = NULL;
    char url[4096];
    snprintf(url, sizeof url, "%s%s", f->url, path);
    if (headers) {
        char *copy = strdup(headers), *save = NULL;
        for (char *t = strtok_r(copy, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
            list = curl_slist_append(list, t);
        free(copy);
    }
    if (body && !(flags & NO_CT) && !(headers && strcasestr(headers, "content-type:")))
        list = curl_slist_append(list, "Content-Type: application/json");
    if (flags & NO_CT) list = curl_slist_append(list, "Content-Type:");
    upload up = {body, body ? strlen(body) : 0, 0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD")) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (body && (flags & CHUNKED)) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, read_upload);
        curl_easy_setopt(h, CURLOPT_READDATA, &up);
        list = curl_slist_append(list, "Transfer-Encoding: chunked");
    } else if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    if (flags & PATH_AS_IS) curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &rb);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hb);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(list);
    curl_easy_cleanup(h);
    r.body = rb.p ? rb.p : strdup("");
    r.body_len = rb.n;
    r.hdrs = hb.p ? hb.p : strdup("");
    r.json = json_loads(r.body, 0, NULL);
    return r;
}

static resp get(const fx *f, const char *path) {
    return req(f, "GET", path, NULL, NULL, 0);
}

/* A response header's value (trimmed) into out; false when absent. Only
 * the last response's headers count (after a 100 Continue). */
static bool header(const resp *r, const char *name, char *out, size_t len) {
    const char *p = r->hdrs, *last = r->hdrs;
    while ((p = strstr(p, "HTTP/1.")))
        last = p++;
    size_t n = strlen(name);
    for (const char *l = last; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (!strncasecmp(l, name, n) && l[n] == ':') {
            const char *v = l + n + 1;
            while (*v == ' ')
                v++;
            size_t vn = strcspn(v, "\r\n");
            snprintf(out, len, "%.*s", (int)vn, v);
            return true;
        }
    }
    return false;
}

static bool has_header(const resp *r, const char *name, const char *value) {
    char v[512];
    return header(r, name, v, sizeof v) && (!value || !strcmp(v, value));
}

static const char *jstr(json_t *o, const char *path) {
    /* "a.b" walks objects */
    char key[64];
    const char *dot;
    while (o && (dot = strchr(path, '.'))) {
        snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
        o = json_object_get(o, key);
        path = dot + 1;
    }
    json_t *v = o ? json_object_get(o, path) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool error_is(const resp *r, long status, const char *code, const char *needle) {
    if (r->status != status) {
        fprintf(stderr, "    got %ld, want %ld: %s\n", r->status, status, r->body);
        return false;
    }
    const char *c = jstr(r->json, "error.code"), *m = jstr(r->json, "error.message");
    bool ok = c && m && !strcmp(c, code) && (!needle || strstr(m, needle));
    if (!ok) fprintf(stderr, "    body: %s (want %s, \"%s\")\n", r->body, code, needle);
    return ok && has_header(r, "Access-Control-Allow-Origin", "*");
}

/* The seed guide's example with its image on a local server. */
static void seed_body(const fx *f, const char *job_id, char *out, size_t len) {
    snprintf(out, len,
             "{\"job_id\": \"%s\", \"images\": [{\"url\": \"http://127.0.0.1:%d/image1.jpg\"}], "
             "\"settings\": {\"vibe\": \"Pop\", \"aspect_ratio\": \"9:16\", "
             "\"target_duration\": 15}}",
             job_id, f->img_port > 0 ? f->img_port : 9);
}

static long submit(const fx *f, const char *job_id) {
    char body[1024];
    seed_body(f, job_id, body, sizeof body);
    resp r = req(f, "POST", "/render", body, NULL, 0);
    long st = r.status;
    resp_free(&r);
    return st;
}

/* ---- submit and status ---------------------------------------------------------- */

HC_TEST(http_submit_seed_example_and_status) {
    fx f;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/www", hc_test_tmpdir());
    mkdir(dir, 0755);
    CHECK(fx_start(&f, NULL, "127.0.0.1"));
    f.img_port = hc_test_httpd(dir);
    CHECK(f.img_port > 0);
    char body[1024];
    seed_body(&f, "test-001", body, sizeof body);
    resp r = req(&f, "POST", "/render", body, NULL, 0);
    CHECKF(r.status == 202, "submit: %ld %s", r.status, r.body);
    CHECK(!strcmp(jstr(r.json, "job_id"), "test-001"));
    CHECK(!strcmp(jstr(r.json, "status"), "queued"));
    CHECK(json_object_get(r.json, "progress") && json_object_get(r.json, "created_at"));
    CHECK(has_header(&r, "Location", "/render/test-001"));
    CHECK(has_header(&r, "Access-Control-Allow-Origin", "*"));
    CHECK(has_header(&r, "Content-Type", "application/json"));
    resp_free(&r);

    r = get(&f, "/render/status?job_id=test-001");
    CHECKF(r.status == 200, "%ld %s", r.status, r.body);
    CHECK(!strcmp(jstr(r.json, "status"), "queued"));
    CHECK(!strcmp(jstr(r.json, "job_id"), "test-001"));
    CHECK(!json_object_get(r.json, "request") && !strstr(r.body, "callback_secret"));
    resp_free(&r);
    r = get(&f, "/render/test-001");
    CHECK(r.status == 200 && !strcmp(jstr(r.json, "status"), "queued"));
    resp_free(&r);
    r = req(&f, "HEAD", "/render/test-001", NULL, NULL, 0);
    CHECK(r.status == 200 && r.body_len == 0);
    resp_free(&r);

    r = get(&f, "/render/status");
    CHECK(error_is(&r, 400, "INVAL", "job_id"));
    resp_free(&r);
    r = get(&f, "/render/status?job_id=");
    CHECK(error_is(&r, 400, "INVAL", "job_id"));
    resp_free(&r);
    r = get(&f, "/render/status?job_id=nope");
    CHECK(error_is(&r, 404, "NOTFOUND", "nope"));
    resp_free(&r);
    r = get(&f, "/render/nope");
    CHECK(error_is(&r, 404, "NOTFOUND", NULL));
    resp_free(&r);
    r = get(&f, "/render/a%2Fb");
    CHECK(error_is(&r, 404, "NOTFOUND", NULL));
    resp_free(&r);
    r = get(&f, "/nowhere");
    CHECK(error_is(&r, 404, "NOTFOUND", NULL));
    resp_free(&r);

    /* A generated id when job_id is absent. */
    char anon[512];
    snprintf(anon, sizeof anon, "{\"images\":[{\"url\":\"http://127.0.0.1:%d/a.jpg\"}]}",
             f.img_port);
    r = req(&f, "POST", "/render", anon, NULL, 0);
    CHECK(r.status == 202 && !strncmp(jstr(r.json, "job_id"), "render-", 7));
    resp_free(&r);
    fx_stop(&f);
}

HC_TEST(http_resubmit_is_idempotent_and_conflicts_on_a_different_body) {
    fx f;
    CHECK(fx_start(&f, NULL, "127.0.0.1"));
    f.img_port = 8001;
    CHECK(submit(&f, "test-001") == 202);
    /* The same request, keys in another order and spaced differently. */
    char same[512];
    snprintf(
        same, sizeof same,
        "{\"settings\":{\"target_duration\":15,\"aspect_ratio\":\"9:16\",\"vibe\":\"Pop\"},"
        "\"images\":[{\"url\":\"http://127.0.0.1:8001/image1.jpg\"}],\"job_id\":\"test-001\"}");
    resp r = req(&f, "POST", "/render", same, NULL, 0);
    CHECKF(r.status == 200, "%ld %s", r.status, r.body);
    CHECK(!strcmp(jstr(r.json, "job_id"), "test-001") && !strcmp(jstr(r.json, "status"), "queued"));
    resp_free(&r);
    char other[512];
    snprintf(other, sizeof other,
             "{\"job_id\":\"test-001\",\"images\":[{\"url\":\"http://127.0.0.1:8001/b.jpg\"}]}");
    r = req(&f, "POST", "/render", other, NULL, 0);
    CHECK(error_is(&r, 409, "CONFLICT", "job_id test-001 exists with a different request"));
    resp_free(&r);
    fx_stop(&f);
}

HC_TEST(http_validation_errors_name_the_field) {
    fx f;
    CHECK(fx_start(&f, NULL, "127.0.0.1"));
    static const struct {
        const char *settings, *field;
    } bad[] = {
        {"\"vibe\":\"Loud\"", "settings.vibe"},
        {"\"aspect_ratio\":\"2:1\"", "settings.aspect_ratio"},
        {"\"fps\":23", "settings.fps"},
        {"\"resolution\":\"8k\"", "settings.resolution"},
        {"\"fit\":\"stretch\"", "settings.fit"},
        {"\"hardware\":\"tpu\"", "settings.hardware"},
        {"\"quality\":\"best\"", "settings.quality"},
        {"\"color_grade\":\"neon\"", "settings.color_grade"},
        {"\"text_style\":\"comic\"", "settings.text_style"},
        {"\"effect_preset\":\"wobble\"", "settings.effect_preset"},
        {"\"target_duration\":-3", "settings.target_duration"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"job_id\":\"v%zu\",\"images\":[{\"url\":\"http://127.0.0.1:9/a.jpg\"}],"
                 "\"settings\":{%s}}",
                 i, bad[i].settings);
        resp r = req(&f, "POST", "/render", body, NULL, 0);
        bool ok = error_is(&r, 400, "INVAL", bad[i].field);
        resp_free(&r);
        CHECKF(ok, "%s", bad[i].field);
    }
    resp r = req(&f, "POST", "/render", "{\"job_id\": \"x\", ", NULL, 0);
    CHECK(error_is(&r, 400, "INVAL", "invalid JSON"));
    resp_free(&r);
    r = req(&f, "POST", "/render", "", NULL, 0);
    CHECK(error_is(&r, 400, "INVAL", "request body"));
    resp_free(&r);
    r = req(&f, "POST", "/render", "[1,2]", NULL, 0);
    CHECK(error_is(&r, 400, "INVAL", "object"));
    resp_free(&r);
    r = req(&f, "POST", "/render", "{\"job_id\":\"noimg\"}", NULL, 0);
    CHECK(error_is(&r, 400, "INVAL", "images"));
    resp_free(&r);
    /* Local files are a CLI feature. */
    r = req(&f, "POST", "/render", "{\"images\":[{\"url\":\"/etc/passwd\"}]}", NULL, 0);
    CHECK(error_is(&r, 400, "INVAL", "images[0].url"));
    resp_free(&r);
    /* Unsafe output keys. */
    static const char *const keys[] = {"../x.mp4", "a/../../x.mp4", "a/./x.mp4",
                                       "a//x.mp4", "a\\\\x.mp4",    "/abs.mp4"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"job_id\":\"k%zu\",\"images\":[{\"url\":\"http://127.0.0.1:9/a.jpg\"}],"
                 "\"output\":{\"s3_key\":\"%s\"}}",
                 i, keys[i]);
        r = req(&f, "POST", "/render", body, NULL, 0);
        bool ok = error_is(&r, 400, "INVAL", "output.s3_key");
        resp_free(&r);
        CHECKF(ok, "key %s", keys[i]);
    }
    /* Content types: a JSON body is read as JSON when it comes as JSON,
     * text or curl -d's default; form uploads and other media are 415. */
    char body[512];
    f.img_port = 9;
    seed_body(&f, "ct-1", body, sizeof body);
    r = req(&f, "POST", "/render", body, "Content-Type: multipart/form-data; boundary=x", 0);
    CHECK(error_is(&r, 415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type"));
    resp_free(&r);
    r = req(&f, "POST", "/render", body, "Content-Type: image/jpeg", 0);
    CHECK(r.status == 415);
    resp_free(&r);
    static const char *const lenient[] = {"text/plain", "application/x-www-form-urlencoded",
                                          "application/vnd.api+json"};
    for (int i = 0; i < 3; i++) {
        char id[32], ct[96];
        snprintf(id, sizeof id, "ct-lenient-%d", i);
        snprintf(ct, sizeof ct, "Content-Type: %s", lenient[i]);
        seed_body(&f, id, body, sizeof body);
        r = req(&f, "POST", "/render", body, ct, 0);
        CHECKF(r.status == 202, "%s: %ld %s", lenient[i], r.status, r.body);
        resp_free(&r);
    }
    seed_body(&f, "ct-1", body, sizeof body);
    r = req(&f, "POST", "/render", body, "Content-Type: application/json; charset=utf-8", 0);
    CHECKF(r.status == 202, "%ld %s", r.status, r.body);
    resp_free(&r);
    seed_body(&f, "ct-2", body, sizeof body);
    r = req(&f, "POST", "/render", body, NULL, NO_CT);
    CHECKF(r.status == 202, "%ld %s", r.status, r.body);
    resp_free(&r);
    fx_stop(&f);
}

HC_TEST(http_body_over_the_limit_is_413) {
    fx f;
    CHECK(fx_start(&f, NULL, "127.0.0.1"));
    size_t n = HC_MAX_BODY_BYTES + 1000;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[0] = '{';
    memcpy(big + n - 2, "}", 2);
    /* Refused from Content-Length, before the body is sent. */
    resp r = req(&f, "POST", "/render", big, NULL, 0);
    CHECK(error_is(&r, 413, "TOOBIG", "limit"));
    resp_free(&r);
    /* Chunked: no length up front; counted as it arrives. */
    r = req(&f, "POST", "/render", big, NULL, CHUNKED);
    CHECK(error_is(&r, 413, "TOOBIG", NULL));
    resp_free(&r);
    free(big);
    /* The server still works (and a chunked body within the limit is fine). */
    char body[512];
    seed_body(&f, "after-413", body, sizeof body);
    r = req(&f, "POST", "/render", body, NULL, CHUNKED);
    CHECKF(r.status == 202, "%ld %s", r.status, r.body);
    resp_free(&r);
    fx_stop(&f);
}

HC_TEST(http_private_addresses_are_refused_unless_allowed) {
    fx f;
    CHECK(fx_start(&f, NULL, NULL));
    static const struct {
        const char *json, *field;
    } bad[] = {
        {"\"images\":[{\"url\":\"http://127.0.0.1:8000/a.jpg\"}]", "images[0].url"},
        {"\"images\":[{\"url\":\"https://example.com/a.jpg\"},{\"url\":\"http://10.1.2.3/b.jpg\"}]",
         "images[1].url"},
        {"\"images\":[{\"url\":\"http://169.254.169.254/latest/meta-data\"}]", "images[0].url"},
        {"\"images\":[{\"url\":\"http://[::1]:8080/a.jpg\"}]", "images[0].url"},
        {"\"images\":[{\"url\":\"http://localhost/a.jpg\"}]", "images[0].url"},
        {"\"images\":[{\"url\":\"http://2130706433/a.jpg\"}]", "images[0].url"},
        {"\"images\":[{\"url\":\"http://192.168.1.1/a.jpg\"}]", "images[0].url"},
        {"\"images\":[{\"url\":\"https://example.com/a.jpg\"}],\"audio\":{\"url\":\"http://"
         "172.16.0.1/m.mp3\"}",
         "audio.url"},
        {"\"images\":[{\"url\":\"https://example.com/a.jpg\"}],\"callback_url\":\"http://"
         "127.0.0.1:9/cb\"",
         "callback_url"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[1024];
        snprintf(body, sizeof body, "{\"job_id\":\"p%zu\",%s}", i, bad[i].json);
        resp r = req(&f, "POST", "/render", body, NULL, 0);
        bool ok = error_is(&r, 400, "INVAL", bad[i].field) && strstr(r.body, "HC_URL_ALLOW");
        resp_free(&r);
        CHECKF(ok, "%s", bad[i].json);
    }
    /* Public hosts and s3:// pass (nothing is fetched at submit). */
    resp r =
        req(&f, "POST", "/render",
            "{\"images\":[{\"url\":\"https://example.com/a.jpg\"},{\"url\":\"s3://b/k.jpg\"}]}",
            NULL, 0);
    CHECKF(r.status == 202, "%ld %s", r.status, r.body);
    resp_free(&r);
    fx_stop(&f);

    /* Allowed by address and by CIDR. */
    CHECK(fx_start(&f, NULL, "127.0.0.1, 10.0.0.0/8"));
    r = req(&f, "POST", "/render",
            "{\"images\":[{\"url\":\"http://127.0.0.1:8000/a.jpg\"},{\"url\":\"http://10.9.9.9/"
            "b.jpg\"}],\"callback_url\":\"http://127.0.0.1:9/cb\"}",
            NULL, 0);
    CHECKF(r.status == 202, "%ld %s", r.status, r.body);
    resp_free(&r);
    r = req(&f, "POST", "/render", "{\"images\":[{\"url\":\"http://192.168.0.1/a.jpg\"}]}", NULL,
            0);
    CHECK(error_is(&r, 400, "INVAL", "images[0].url"));
    resp_free(&r);
    fx_stop(&f);
}

/* ---- cancel and listing ------------------------------------------------------------ */

HC_TEST(http_cancel_queued_then_again_is_409) {
    fx f;
    CHECK(fx_start(&f, NULL, "127.0.0.1"));
    CHECK(submit(&f, "c-1") == 202);
    resp r = req(&f, "DELETE", "/render/c-1", NULL, NULL, 0);
    CHECKF(r.status == 200, "%ld %s", r.status, r.body);
    CHECK(!strcmp(jstr(r.json, "status"), "canceled"));
    CHECK(has_header(&r, "Access-Control-Allow-Origin", "*"));
    resp_free(&r);
    r = get(&f, "/render/c-1");
    CHECK(r.status == 200 && !strcmp(jstr(r.json, "status"), "canceled"));
    resp_free(&r);
    r = req(&f, "DELETE", "/render/c-1", NULL, NULL, 0);
    CHECK(error_is(&r, 409, "CONFLICT", "already canceled"));
    CHECK(!strcmp(jstr(r.json, "job.status"), "canceled"));
    resp_free(&r);
    r = req(&f, "DELETE", "/render/unknown-job", NULL, NULL, 0);
    CHECK(error_is(&r, 404, "NOTFOUND", NULL));
    resp_free(&r);
    fx_stop(&f);
}

/* Job ids of a listing, space-separated, into out. */
static int list_ids(json_t *j, char *out, size_t len) {
    json_t *jobs = json_object_get(j, "jobs");
    size_t i;
    json_t *v;
    out[0] = 0;
    json_array_foreach(jobs, i, v) {
        size_t n = strlen(out);
        snprintf(out + n, len - n, "%s ", json_string_value(json_object_get(v, "job_id")));
    }
    return (int)json_array_size(jobs);
}

HC_TEST(http_list_filters_and_pages_with_a_cursor) {
    fx f;
    CHECK(fx_start(&f, NULL, "127.0.0.1"));
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "j%d", i);
        CHECK(submit(&f, id) == 202);
    }
    resp r = req(&f, "DELETE", "/render/j1", NULL, NULL, 0);
    resp_free(&r);
    r = req(&f, "DELETE", "/render/j3", NULL, NULL, 0);
    resp_free(&r);

    char ids[256];
    r = get(&f, "/jobs");
    CHECKF(r.status == 200, "%ld %s", r.status, r.body);
    CHECK(list_ids(r.json, ids, sizeof ids) == 5);
    CHECKF(!strcmp(ids, "j4 j3 j2 j1 j0 "), "newest first: %s", ids);
    CHECK(json_is_null(json_object_get(r.json, "next_cursor")));
    resp_free(&r);
    r = get(&f, "/jobs?status=canceled");
    CHECK(r.status == 200 && list_ids(r.json, ids, sizeof ids) == 2 && !strcmp(ids, "j3 j1 "));
    resp_free(&r);
    r = get(&f, "/jobs?status=queued,canceled");
    CHECK(r.status == 200 && list_ids(r.json, ids, sizeof ids) == 5);
    resp_free(&r);
    r = get(&f, "/jobs?status=queued");
    CHECK(r.status == 200 && list_ids(r.json, ids, sizeof ids) == 3);
    resp_free(&r);

    /* Paging: 2 at a time, every job once. */
    char all[256] = "", path[256] = "/jobs?limit=2";
    int pages = 0;
    for (;;) {
        r = get(&f, path);
        CHECKF(r.status == 200, "%s: %ld %s", path, r.status, r.body);
        CHECK(list_ids(r.json, ids, sizeof ids) <= 2);
        strcat(all, ids);
        pages++;
        const char *cur = jstr(r.json, "next_cursor");
        if (!cur) {
            resp_free(&r);
            break;
        }
        char *esc = curl_easy_escape(NULL, cur, 0);
        snprintf(path, sizeof path, "/jobs?limit=2&cursor=%s", esc);
        curl_free(esc);
        resp_free(&r);
        CHECK(pages < 10);
    }
    CHECKF(!strcmp(all, "j4 j3 j2 j1 j0 "), "paged: %s", all);
    CHECK(pages >= 3);

    r = get(&f, "/jobs?status=bogus");
    CHECK(error_is(&r, 400, "INVAL", "status"));
    CHECK(strstr(r.body, "queued, processing"));
    resp_free(&r);
    r = get(&f, "/jobs?limit=0");
    CHECK(error_is(&r, 400, "INVAL", "limit"));
    resp_free(&r);
    r = get(&f, "/jobs?limit=1001");
    CHECK(error_is(&r, 400, "INVAL", "limit"));
    resp_free(&r);
    r = get(&f, "/jobs?limit=ten");
    CHECK(error_is(&r, 400, "INVAL", "limit"));
    resp_free(&r);
    r = get(&f, "/jobs?cursor=garbage");
    CHECK(error_is(&r, 400, "INVAL", "cursor"));
    resp_free(&r);
    fx_stop(&f);
}

/* ---- CORS, methods ---------------------------------------------------------------- */

HC_TEST(http_cors_preflight_and_headers_on_every_response) {
    fx f;
    CHECK(fx_start(&f, "secret-key", "127.0.0.1"));
    static const char *const paths[] = {"/render", "/render/x", "/jobs", "/files/a.mp4",
                                        "/anything/at/all"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        resp r = req(&f, "OPTIONS", paths[i], NULL,
                     "Origin: https://app.example\nAccess-Control-Request-Method: POST", 0);
        bool ok =
            r.status == 204 && has_header(&r, "Access-Control-Allow-Origin", "*") &&
            has_header(&r, "Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS, HEAD") &&
            has_header(&r, "Access-Control-Allow-Headers",
                       "Authorization, X-Api-Key, Content-Type, Range") &&
            has_header(&r, "Access-Control-Max-Age", "600");
        resp_free(&r);
        CHECKF(ok, "OPTIONS %s", paths[i]);
    }
    /* Errors carry CORS too (error_is checks it), and 405 says what is allowed. */
    resp r = req(&f, "PUT", "/render", "{}", "X-Api-Key: secret-key", 0);
    CHECK(error_is(&r, 405, "METHOD_NOT_ALLOWED", NULL));
    CHECK(has_header(&r, "Allow", "POST, OPTIONS"));
    resp_free(&r);
    r = req(&f, "GET", "/render", NULL, "X-Api-Key: secret-key", 0);
    CHECK(error_is(&r, 405, "METHOD_NOT_ALLOWED", NULL) && has_header(&r, "Allow", NULL));
    resp_free(&r);
    r = req(&f, "POST", "/jobs", "{}", "X-Api-Key: secret-key", 0);
    CHECK(error_is(&r, 405, "METHOD_NOT_ALLOWED", NULL));
    CHECK(has_header(&r, "Allow", "GET, HEAD, OPTIONS"));
    resp_free(&r);
    r = req(&f, "DELETE", "/healthz", NULL, NULL, 0);
    CHECK(error_is(&r, 405, "METHOD_NOT_ALLOWED", NULL));
    resp_free(&r);
    r = get(&f, "/jobs");
    CHECK(error_is(&r, 401, "UNAUTHORIZED", NULL));
    CHECK(has_header(&r, "Access-Control-Expose-Headers", NULL));
    resp_free(&r);
    fx_stop(&f);
}

/* ---- API keys and signed URLs --------------------------------------------------------- */

HC_TEST(http_api_keys_guard_every_route_but_health) {
    fx f;
    CHECK(fx_start(&f, "k-one, k-two", "127.0.0.1"));
    char body[512];
    seed_body(&f, "auth-1", body, sizeof body);
    resp r = req(&f, "POST", "/render", body, NULL, 0);
    CHECK(error_is(&r, 401, "UNAUTHORIZED", "API key"));
    CHECK(has_header(&r, "WWW-Authenticate", "Bearer"));
    resp_free(&r);
    r = req(&f, "POST", "/render", body, "Authorization: Bearer wrong", 0);
    CHECK(error_is(&r, 401, "UNAUTHORIZED", NULL));
    resp_free(&r);
    r = req(&f, "POST", "/render", body, "X-Api-Key: k-on", 0);
    CHECK(error_is(&r, 401, "UNAUTHORIZED", NULL));
    resp_free(&r);
    r = req(&f, "POST", "/render", body, "Authorization: Bearer k-one", 0);
    CHECKF(r.status == 202, "%ld %s", r.status, r.body);
    resp_free(&r);
    r = req(&f, "GET", "/render/auth-1", NULL, "X-Api-Key: k-two", 0);
    CHECK(r.status == 200);
    resp_free(&r);
    r = req(&f, "GET", "/render/status?job_id=auth-1", NULL, "authorization: bearer k-two", 0);
    CHECK(r.status == 200);
    resp_free(&r);
    static const char *const guarded[] = {"/render/auth-1", "/render/status?job_id=auth-1", "/jobs",
                                          "/metrics"};
    for (size_t i = 0; i < sizeof guarded / sizeof guarded[0]; i++) {
        r = get(&f, guarded[i]);
        bool ok = error_is(&r, 401, "UNAUTHORIZED", NULL);
        resp_free(&r);
        CHECKF(ok, "%s", guarded[i]);
    }
    r = req(&f, "DELETE", "/render/auth-1", NULL, NULL, 0);
    CHECK(r.status == 401);
    resp_free(&r);
    r = get(&f, "/healthz");
    CHECK(r.status == 200);
    resp_free(&r);
    r = req(&f, "OPTIONS", "/render", NULL, NULL, 0);
    CHECK(r.status == 204);
    resp_free(&r);
    fx_stop(&f);
}

HC_TEST(http_files_need_a_key_or_a_signed_url) {
    fx f;
    CHECK(fx_start(&f, "k-one", "127.0.0.1"));
    char dir[PATH_MAX + 16], path[PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/renders", f.outputs);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/s-1.mp4", dir);
    CHECK(hc_test_write_file(path, "0123456789", 10) == 0);
    snprintf(path, sizeof path, "%s/s-1.jpg", dir);
    CHECK(hc_test_write_file(path, "JPEGDATA", 8) == 0);
    snprintf(path, sizeof path, "%s/s 1+.jpg", dir);
    CHECK(hc_test_write_file(path, "POSTER", 6) == 0);

    /* The signing key: 64 hex digits, readable by the owner only. */
    char keyfile[PATH_MAX + 32];
    snprintf(keyfile, sizeof keyfile, "%s/url-signing.key", f.data);
    struct stat st;
    CHECK(stat(keyfile, &st) == 0 && (st.st_mode & 0777) == 0600);
    char *secret = hc_test_read_file(keyfile, NULL);
    CHECK(secret && strlen(secret) >= 64);
    secret[64] = 0;

    resp r = get(&f, "/files/renders/s-1.mp4");
    CHECK(error_is(&r, 401, "UNAUTHORIZED", NULL));
    resp_free(&r);
    r = req(&f, "GET", "/files/renders/s-1.mp4", NULL, "X-Api-Key: k-one", 0);
    CHECK(r.status == 200 && !strcmp(r.body, "0123456789"));
    resp_free(&r);

    /* A job whose outputs are ours: its status carries signed URLs that
     * open the files without a key. */
    CHECK(submit(&f, "s-1") == 401); /* needs a key */
    char body[512];
    seed_body(&f, "s-1", body, sizeof body);
    r = req(&f, "POST", "/render", body, "X-Api-Key: k-one", 0);
    CHECK(r.status == 202);
    resp_free(&r);
    hc_job job = {0};
    hc_err err = {0};
    CHECK(hc_store_get(f.store, "s-1", &job, &err) == 0);
    char u[512];
    snprintf(u, sizeof u, "%s/files/renders/s-1.mp4", f.url);
    hc_job_set_str(&job.output_url, u);
    /* Stored URLs are percent-encoded (dispatch/worker.c file_url). */
    snprintf(u, sizeof u, "%s/files/renders/s%%201%%2B.jpg", f.url);
    hc_job_set_str(&job.poster_url, u);
    CHECK(hc_store_put(f.store, &job, HC_JOB_MASK(HC_JOB_QUEUED), &err) == 0);
    hc_job_fini(&job);
    r = req(&f, "GET", "/render/s-1", NULL, "X-Api-Key: k-one", 0);
    CHECK(r.status == 200);
    const char *out = jstr(r.json, "output_url"), *poster = jstr(r.json, "poster_url");
    CHECKF(out && strstr(out, "/files/renders/s-1.mp4?exp=") && strstr(out, "&sig="), "%s", r.body);
    CHECK(poster && strstr(poster, "?exp="));
    const char *q = strstr(out, "/files/");
    char signed_path[512], signed_poster[512];
    snprintf(signed_path, sizeof signed_path, "%s", q);
    snprintf(signed_poster, sizeof signed_poster, "%s", strstr(poster, "/files/"));
    resp_free(&r);
    r = get(&f, signed_poster);
    CHECKF(r.status == 200 && !strcmp(r.body, "POSTER"), "%s: %ld %s", signed_poster, r.status,
           r.body);
    resp_free(&r);
    r = get(&f, signed_path);
    CHECKF(r.status == 200 && !strcmp(r.body, "0123456789"), "%ld %s", r.status, r.body);
    resp_free(&r);
    /* The signature is for that file only, and for that expiry. */
    char other[600];
    snprintf(other, sizeof other, "/files/renders/s-1.jpg%s", strchr(signed_path, '?'));
    r = get(&f, other);
    CHECK(r.status == 401);
    resp_free(&r);
    char *sig = strstr(signed_path, "sig=") + 4;
    sig[0] = sig[0] == 'a' ? 'b' : 'a';
    r = get(&f, signed_path);
    CHECK(r.status == 401);
    resp_free(&r);
    /* Expired. */
    char msg[128], hex[65];
    long long past = (long long)(hc_wall_us() / 1000000) - 10;
    int n = snprintf(msg, sizeof msg, "renders/s-1.mp4\n%lld", past);
    hc_hmac_sha256_hex(secret, msg, (size_t)n, hex);
    snprintf(other, sizeof other, "/files/renders/s-1.mp4?exp=%lld&sig=%s", past, hex);
    r = get(&f, other);
    CHECK(r.status == 401);
    resp_free(&r);
    /* Same computation with a future expiry works: the scheme is
     * HMAC-SHA256(secret, KEY "\n" EXP). */
    n = snprintf(msg, sizeof msg, "renders/s-1.mp4\n%lld", past + 3600);
    hc_hmac_sha256_hex(secret, msg, (size_t)n, hex);
    snprintf(other, sizeof other, "/files/renders/s-1.mp4?exp=%lld&sig=%s", past + 3600, hex);
    r = get(&f, other);
    CHECK(r.status == 200);
    resp_free(&r);
    free(secret);
    fx_stop(&f);

    /* The key survives restarts. */
    CHECK(fx_start(&f, "k-one", NULL));
    r = get(&f, other);
    CHECK(r.status == 200);
    resp_free(&r);
    fx_stop(&f);
}

/* ---- files ------------------------------------------------------------------------- */

HC_TEST(http_files_serve_ranges) {
    fx f;
    CHECK(fx_start(&f, NULL, NULL));
    char dir[PATH_MAX + 16], path[PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/renders", f.outputs);
    mkdir(dir, 0755);
    char data[1000];
    for (int i = 0; i < 1000; i++)
        data[i] = (char)('a' + i % 26);
    snprintf(path, sizeof path, "%s/v.mp4", dir);
    CHECK(hc_test_write_file(path, data, sizeof data) == 0);
    snprintf(path, sizeof path, "%s/p.jpg", dir);
    CHECK(hc_test_write_file(path, "jpg", 3) == 0);
    snprintf(path, sizeof path, "%s/empty.json", dir);
    CHECK(hc_test_write_file(path, "", 0) == 0);

    resp r = get(&f, "/files/renders/v.mp4");
    CHECK(r.status == 200 && r.body_len == 1000 && !memcmp(r.body, data, 1000));
    CHECK(has_header(&r, "Content-Type", "video/mp4"));
    CHECK(has_header(&r, "Accept-Ranges", "bytes"));
    CHECK(has_header(&r, "Content-Length", "1000"));
    CHECK(has_header(&r, "Access-Control-Allow-Origin", "*"));
    char etag[128];
    CHECK(header(&r, "ETag", etag, sizeof etag) && etag[0] == '"');
    CHECK(has_header(&r, "Last-Modified", NULL));
    resp_free(&r);

    static const struct {
        const char *range;
        long status;
        const char *content_range;
        size_t off, len;
    } cases[] = {
        {"bytes=0-99", 206, "bytes 0-99/1000", 0, 100},
        {"bytes=990-", 206, "bytes 990-999/1000", 990, 10},
        {"bytes=-5", 206, "bytes 995-999/1000", 995, 5},
        {"bytes=500-5000", 206, "bytes 500-999/1000", 500, 500},
        {"bytes=-5000", 206, "bytes 0-999/1000", 0, 1000},
        {"bytes=999-999", 206, "bytes 999-999/1000", 999, 1},
        {"bytes=1000-", 416, "bytes */1000", 0, 0},
        {"bytes=-0", 416, "bytes */1000", 0, 0},
        {"bytes=5-1", 200, NULL, 0, 1000},     /* invalid: ignored */
        {"items=0-1", 200, NULL, 0, 1000},     /* other unit: ignored */
        {"bytes=0-1,5-6", 200, NULL, 0, 1000}, /* several ranges: whole file */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char h[64];
        snprintf(h, sizeof h, "Range: %s", cases[i].range);
        r = req(&f, "GET", "/files/renders/v.mp4", NULL, h, 0);
        bool ok = r.status == cases[i].status;
        if (ok && cases[i].content_range)
            ok = has_header(&r, "Content-Range", cases[i].content_range);
        if (ok && cases[i].status != 416)
            ok = r.body_len == cases[i].len && !memcmp(r.body, data + cases[i].off, cases[i].len);
        if (ok && cases[i].status == 416) ok = error_is(&r, 416, "RANGE_NOT_SATISFIABLE", NULL);
        if (!ok)
            fprintf(stderr, "    %s: %ld (%zu bytes) %s\n", cases[i].range, r.status, r.body_len,
                    r.hdrs);
        resp_free(&r);
        CHECKF(ok, "%s", cases[i].range);
    }
    /* HEAD: headers only. */
    r = req(&f, "HEAD", "/files/renders/v.mp4", NULL, NULL, 0);
    CHECK(r.status == 200 && r.body_len == 0 && has_header(&r, "Content-Length", "1000"));
    resp_free(&r);
    /* Conditional requests. */
    char h[200];
    snprintf(h, sizeof h, "If-None-Match: %s", etag);
    r = req(&f, "GET", "/files/renders/v.mp4", NULL, h, 0);
    CHECK(r.status == 304 && r.body_len == 0);
    resp_free(&r);
    r = req(&f, "GET", "/files/renders/v.mp4", NULL, "Range: bytes=0-9\nIf-Range: \"stale\"", 0);
    CHECK(r.status == 200 && r.body_len == 1000);
    resp_free(&r);
    snprintf(h, sizeof h, "Range: bytes=0-9\nIf-Range: %s", etag);
    r = req(&f, "GET", "/files/renders/v.mp4", NULL, h, 0);
    CHECK(r.status == 206 && r.body_len == 10);
    resp_free(&r);
    /* Types by extension; empty files. */
    r = get(&f, "/files/renders/p.jpg");
    CHECK(r.status == 200 && has_header(&r, "Content-Type", "image/jpeg"));
    resp_free(&r);
    r = get(&f, "/files/renders/empty.json");
    CHECK(r.status == 200 && r.body_len == 0 && has_header(&r, "Content-Type", "application/json"));
    resp_free(&r);
    r = req(&f, "GET", "/files/renders/empty.json", NULL, "Range: bytes=0-", 0);
    CHECK(r.status == 416);
    resp_free(&r);
    r = req(&f, "POST", "/files/renders/v.mp4", "{}", NULL, 0);
    CHECK(error_is(&r, 405, "METHOD_NOT_ALLOWED", NULL));
    resp_free(&r);
    fx_stop(&f);
}

HC_TEST(http_files_stay_inside_the_outputs) {
    fx f;
    CHECK(fx_start(&f, NULL, NULL));
    char path[PATH_MAX + 64];
    /* A secret next to the outputs and a symlink pointing out to it. */
    snprintf(path, sizeof path, "%s/secret.txt", f.data);
    CHECK(hc_test_write_file(path, "SECRET", 6) == 0);
    char link[PATH_MAX + 64];
    snprintf(link, sizeof link, "%s/escape.txt", f.outputs);
    CHECK(symlink(path, link) == 0);
    snprintf(link, sizeof link, "%s/up", f.outputs);
    CHECK(symlink(f.data, link) == 0);
    snprintf(path, sizeof path, "%s/sub", f.outputs);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/sub/ok.txt", f.outputs);
    CHECK(hc_test_write_file(path, "OK", 2) == 0);
    /* A symlink inside the outputs to a file inside is fine. */
    snprintf(link, sizeof link, "%s/inside.txt", f.outputs);
    CHECK(symlink(path, link) == 0);

    static const struct {
        const char *path;
        long status;
    } cases[] = {
        {"/files/../secret.txt", 400},
        {"/files/sub/../../secret.txt", 400},
        {"/files/%2e%2e/secret.txt", 400},
        {"/files/%2E%2E%2Fsecret.txt", 400},
        {"/files/sub/%2e%2e/%2e%2e/secret.txt", 400},
        {"/files//etc/passwd", 400},
        {"/files/%2Fetc%2Fpasswd", 400},
        {"/files/sub%5C..%5Csecret.txt", 400},
        {"/files/sub/ok.txt%00.mp4", 400},
        {"/files/./sub/ok.txt", 400},
        {"/files/escape.txt", 404},
        {"/files/up/secret.txt", 404},
        {"/files/sub", 404},
        {"/files/missing.mp4", 404},
        {"/files/", 400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        resp r = req(&f, "GET", cases[i].path, NULL, NULL, PATH_AS_IS);
        bool ok = r.status == cases[i].status && !strstr(r.body, "SECRET") &&
                  has_header(&r, "Access-Control-Allow-Origin", "*");
        if (!ok) fprintf(stderr, "    %s: %ld %s\n", cases[i].path, r.status, r.body);
        resp_free(&r);
        CHECKF(ok, "%s", cases[i].path);
    }
    resp r = get(&f, "/files/sub/ok.txt");
    CHECK(r.status == 200 && !strcmp(r.body, "OK"));
    resp_free(&r);
    r = get(&f, "/files/inside.txt");
    CHECK(r.status == 200 && !strcmp(r.body, "OK"));
    resp_free(&r);
    fx_stop(&f);

    /* No outputs directory: no /files route. */
    hc_config cfg = {0};
    cfg.listen = hc_strdup("127.0.0.1:0");
    cfg.data_dir = hc_strdup(f.data);
    hc_store *store = NULL;
    hc_err err = {0};
    CHECK(hc_store_open("mem:", &store, &err) == 0);
    hc_http_env env = {.cfg = &cfg, .store = store};
    hc_http_server *srv = NULL;
    CHECK(hc_http_start(&env, &srv, &err) == 0);
    snprintf(f.url, sizeof f.url, "%s", hc_http_url(srv));
    r = get(&f, "/files/sub/ok.txt");
    CHECK(error_is(&r, 404, "NOTFOUND", NULL));
    resp_free(&r);
    hc_http_stop(srv);
    hc_store_close(store);
    hc_config_fini(&cfg);
}

/* ---- health and metrics -------------------------------------------------------------- */

HC_TEST(http_healthz_reports_the_store) {
    fx f;
    CHECK(fx_start(&f, NULL, "127.0.0.1"));
    CHECK(submit(&f, "h-1") == 202);
    resp r = get(&f, "/healthz");
    CHECKF(r.status == 200, "%ld %s", r.status, r.body);
    CHECK(!strcmp(jstr(r.json, "status"), "ok") && !strcmp(jstr(r.json, "store"), "ok"));
    CHECK(json_integer_value(json_object_get(r.json, "queued")) == 1);
    CHECK(json_integer_value(json_object_get(r.json, "processing")) == 0);
    CHECK(json_object_get(r.json, "workers"));
    resp_free(&r);
    fx_stop(&f);

    /* A store that fails every call: 503 (and error lines we do not want here). */
    hc_log_set_level(HC_LOG_OFF);
    hc_store *inner = NULL, *bad = NULL;
    hc_err err = {0};
    CHECK(hc_store_open("mem:", &inner, &err) == 0);
    CHECK(hc_store_fault_wrap(inner, 1, HC_EIO, true, &bad) == 0);
    CHECK(fx_start_store(&f, NULL, NULL, bad));
    r = get(&f, "/healthz");
    CHECKF(r.status == 503, "%ld %s", r.status, r.body);
    CHECK(!strcmp(jstr(r.json, "status"), "error"));
    CHECK(has_header(&r, "Access-Control-Allow-Origin", "*"));
    resp_free(&r);
    r = get(&f, "/render/x");
    CHECK(error_is(&r, 503, "UNAVAILABLE", NULL));
    resp_free(&r);
    r = req(&f, "POST", "/render", "{\"images\":[{\"url\":\"https://example.com/a.jpg\"}]}", NULL,
            0);
    CHECK(error_is(&r, 503, "UNAVAILABLE", NULL));
    resp_free(&r);
    r = get(&f, "/metrics");
    CHECK(r.status == 200 && strstr(r.body, "hydra_store_up 0"));
    resp_free(&r);
    fx_stop(&f);
}

/* Every sample line is `name{labels} value` or `name value`. */
static bool prometheus_text_ok(const char *text) {
    for (const char *l = text; *l; l = strchr(l, '\n') + 1) {
        const char *end = strchr(l, '\n');
        if (!end) return false; /* lines end with \n */
        if (*l == '#') {
            if (strncmp(l, "# HELP ", 7) && strncmp(l, "# TYPE ", 7)) return false;
            continue;
        }
        const char *p = l;
        while (p < end && (isalnum((unsigned char)*p) || *p == '_' || *p == ':'))
            p++;
        if (p == l) return false;
        if (*p == '{') {
            const char *close = memchr(p, '}', (size_t)(end - p));
            if (!close) return false;
            p = close + 1;
        }
        if (*p != ' ') return false;
        char *num_end = NULL;
        strtod(p + 1, &num_end);
        if (num_end != end) return false;
    }
    return true;
}

HC_TEST(http_metrics_text_parses_and_counts) {
    fx f;
    CHECK(fx_start(&f, NULL, "127.0.0.1"));
    CHECK(submit(&f, "m-1") == 202);
    CHECK(submit(&f, "m-2") == 202);
    resp r = get(&f, "/render/nope");
    resp_free(&r);
    hc_http_observe_render(f.srv, 3.5, 450);
    hc_http_observe_render(f.srv, 42.0, 900);
    /* A job that completed, reported through the executor hook. */
    hc_job job = {0};
    hc_err err = {0};
    CHECK(hc_store_get(f.store, "m-2", &job, &err) == 0);
    CHECK(hc_store_claim(f.store, &job, "test", &err) == 0);
    job.status = HC_JOB_COMPLETED;
    job.render_s = 1.5;
    job.frames_done = job.frames_total = 150;
    CHECK(hc_store_finish(f.store, &job, &err) == 0);
    hc_job_fini(&job);
    hc_http_job_final(f.srv, "m-2");
    hc_http_job_final(NULL, "m-2");

    r = get(&f, "/metrics");
    CHECK(r.status == 200);
    CHECK(has_header(&r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8"));
    CHECKF(prometheus_text_ok(r.body), "%s", r.body);
    static const char *const want[] = {
        "hydra_jobs{status=\"queued\"} 1\n",
        "hydra_jobs{status=\"completed\"} 1\n",
        "hydra_queue_depth 1\n",
        "# TYPE hydra_render_seconds histogram\n",
        "hydra_render_seconds_bucket{le=\"2\"} 1\n",
        "hydra_render_seconds_bucket{le=\"5\"} 2\n",
        "hydra_render_seconds_bucket{le=\"60\"} 3\n",
        "hydra_render_seconds_bucket{le=\"+Inf\"} 3\n",
        "hydra_render_seconds_count 3\n",
        "hydra_render_seconds_sum 47.000000\n",
        "hydra_frames_encoded_total 1500\n",
        "hydra_frames_per_second 100.000\n",
        "hydra_jobs_finished_total{status=\"completed\"} 1\n",
        "hydra_http_requests_total{code=\"202\"} 2\n",
        "hydra_http_requests_total{code=\"404\"} 1\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECKF(strstr(r.body, want[i]), "missing %s in\n%s", want[i], r.body);
    resp_free(&r);
    fx_stop(&f);
}

/* New connections made by n GETs of paths on one curl handle. */
static long connects_for(const fx *f, const char *const *paths, int n) {
    CURL *h = curl_easy_init();
    long total = 0;
    hc_buf b = {0};
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    for (int i = 0; i < n; i++) {
        char url[512];
        snprintf(url, sizeof url, "%s%s", f->url, paths[i]);
        curl_easy_setopt(h, CURLOPT_URL, url);
        long c = 0;
        if (curl_easy_perform(h) != CURLE_OK) return -1;
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &c);
        total += c;
    }
    free(b.p);
    curl_easy_cleanup(h);
    return total;
}

HC_TEST(http_connections_are_kept_alive) {
    fx f;
    CHECK(fx_start(&f, "k", NULL));
    static const char *const paths[] = {"/healthz", "/healthz",       "/nowhere",
                                        "/jobs",    "/render/status", "/healthz"};
    long c = connects_for(&f, paths, 6);
    CHECKF(c == 1, "%ld connections for 6 requests", c);
    fx_stop(&f);
}

/* ---- the executor hooks ------------------------------------------------------------ */

/* A fake executor: counts wakes, records stops, reports fixed stats; on
 * wake it checks the newest job is already in the store. */
typedef struct fake_exec {
    hc_executor x; /* first: the wrappers see this */
    hc_store *store;
    int wakes, stops, wake_saw_job;
    char stopped[64];
} fake_exec;

static void fake_wake(hc_executor *x) {
    fake_exec *f = (fake_exec *)x;
    f->wakes++;
    hc_job job = {0};
    hc_err err = {0};
    if (hc_store_get(f->store, "w-1", &job, &err) == 0) f->wake_saw_job++;
    hc_job_fini(&job);
}
static int fake_stop(hc_executor *x, const char *job_id) {
    fake_exec *f = (fake_exec *)x;
    f->stops++;
    snprintf(f->stopped, sizeof f->stopped, "%s", job_id);
    return HC_ENOTFOUND;
}
static void fake_stats(hc_executor *x, hc_executor_stats *out) {
    (void)x;
    *out = (hc_executor_stats){.cpu_slots = 3, .gpu_slots = 1, .cpu_running = 2, .gpu_running = 0};
}
static const hc_executor_backend fake_backend = {
    .name = "fake", .wake = fake_wake, .stop = fake_stop, .stats = fake_stats};

HC_TEST(http_wakes_the_executor_after_the_job_is_stored) {
    fx f;
    CHECK(fx_start(&f, NULL, "127.0.0.1"));
    static fake_exec fe;
    fe = (fake_exec){.x = {.backend = &fake_backend}, .store = f.store};
    CHECK(submit(&f, "w-0") == 202); /* no executor yet: nothing to wake */
    hc_http_set_executor(f.srv, &fe.x);
    CHECK(submit(&f, "w-1") == 202);
    CHECK(fe.wakes == 1 && fe.wake_saw_job == 1);
    CHECK(submit(&f, "w-1") == 200); /* the same again: nothing new to run */
    CHECK(fe.wakes == 1);
    resp r = req(&f, "DELETE", "/render/w-1", NULL, NULL, 0);
    CHECK(r.status == 200 && fe.stops == 1 && !strcmp(fe.stopped, "w-1"));
    resp_free(&r);
    r = get(&f, "/healthz");
    CHECK(r.status == 200);
    json_t *w = json_object_get(r.json, "workers");
    CHECK(json_integer_value(json_object_get(w, "cpu_slots")) == 3);
    CHECK(json_integer_value(json_object_get(w, "cpu_running")) == 2);
    CHECK(json_integer_value(json_object_get(w, "gpu_slots")) == 1);
    resp_free(&r);
    r = get(&f, "/metrics");
    CHECK(strstr(r.body, "hydra_workers_busy{kind=\"cpu\"} 2\n"));
    CHECK(strstr(r.body, "hydra_workers_slots{kind=\"gpu\"} 1\n"));
    resp_free(&r);
    hc_http_set_executor(f.srv, NULL);
    fx_stop(&f);
}

/* ---- load and lifecycle ----------------------------------------------------------------- */

HC_TEST_T(http_many_concurrent_submits_are_all_accepted, 120) {
    fx f;
    CHECK(fx_start(&f, NULL, "127.0.0.1"));
    enum { N = 1000 };
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
    static char bodies[N][256];
    CURL *hs[N];
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    char url[256];
    snprintf(url, sizeof url, "%s/render", f.url);
    for (int i = 0; i < N; i++) {
        snprintf(bodies[i], sizeof bodies[i],
                 "{\"job_id\":\"load-%d\",\"images\":[{\"url\":\"http://127.0.0.1:9/a.jpg\"}]}", i);
        CURL *h = hs[i] = curl_easy_init();
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, bodies[i]);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        hc_buf *b = calloc(1, sizeof *b);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
        curl_easy_setopt(h, CURLOPT_PRIVATE, b);
        curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
        curl_multi_add_handle(m, h);
    }
    int running = 1;
    while (running) {
        curl_multi_perform(m, &running);
        if (running) curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    int accepted = 0;
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left))) {
        long st = 0;
        if (msg->data.result == CURLE_OK)
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &st);
        if (st == 202) accepted++;
    }
    for (int i = 0; i < N; i++) {
        hc_buf *b = NULL;
        curl_easy_getinfo(hs[i], CURLINFO_PRIVATE, (char **)&b);
        if (b) free(b->p);
        free(b);
        curl_multi_remove_handle(m, hs[i]);
        curl_easy_cleanup(hs[i]);
    }
    curl_slist_free_all(hdr);
    curl_multi_cleanup(m);
    CHECKF(accepted == N, "%d of %d accepted", accepted, N);
    int64_t counts[HC_JOB_STATUS_COUNT];
    hc_err err = {0};
    CHECK(hc_store_count(f.store, counts, &err) == 0 && counts[HC_JOB_QUEUED] == N);
    fx_stop(&f);
}

HC_TEST(http_listen_forms_and_quiesce) {
    hc_store *store = NULL;
    hc_err err = {0};
    CHECK(hc_store_open("mem:", &store, &err) == 0);
    hc_config cfg = {0};
    cfg.listen = hc_strdup(":0"); /* all interfaces, ephemeral */
    hc_http_env env = {.cfg = &cfg, .store = store};
    hc_http_server *srv = NULL;
    CHECKF(hc_http_start(&env, &srv, &err) == 0, "%s", err.msg);
    fx f = {0};
    snprintf(f.url, sizeof f.url, "%s", hc_http_url(srv));
    CHECKF(!strncmp(f.url, "http://127.0.0.1:", 17) && atoi(f.url + 17) > 0, "%s", f.url);
    resp r = get(&f, "/healthz");
    CHECK(r.status == 200);
    resp_free(&r);

    /* The same port again: refused with the reason. */
    hc_config cfg2 = {0};
    char spec[64];
    snprintf(spec, sizeof spec, "127.0.0.1:%d", atoi(f.url + 17));
    cfg2.listen = hc_strdup(spec);
    hc_http_env env2 = {.cfg = &cfg2, .store = store};
    hc_http_server *srv2 = NULL;
    hc_err_clear(&err);
    CHECK(hc_http_start(&env2, &srv2, &err) == HC_EIO && strstr(err.msg, "in use") && !srv2);
    free(cfg2.listen);
    static const char *const bad[] = {"8080", "localhost", "127.0.0.1:99999", "[::1", "h:p"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg2.listen = (char *)bad[i];
        hc_err_clear(&err);
        int rc = hc_http_start(&env2, &srv2, &err);
        CHECKF(rc == HC_EINVAL && strstr(err.msg, "HC_LISTEN"), "%s: %d %s", bad[i], rc, err.msg);
    }
    cfg2.listen = NULL;

    /* Quiesce: new connections are refused; a kept-alive one is answered
     * (healthz says draining) and then closed. */
    CURL *h = curl_easy_init();
    hc_buf hb = {0};
    char url[256];
    snprintf(url, sizeof url, "%s/healthz", f.url);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hb);
    hc_buf body = {0};
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    CHECK(curl_easy_perform(h) == CURLE_OK);
    hc_http_quiesce(srv);
    hc_http_quiesce(srv);
    free(hb.p);
    hb = (hc_buf){0};
    long st = 0, conns = -1;
    CHECK(curl_easy_perform(h) == CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
    CHECKF(st == 503 && conns == 0 && strcasestr(hb.p, "Connection: close") &&
               strstr(body.p, "draining"),
           "%ld %ld %s", st, conns, hb.p);
    CHECK(curl_easy_perform(h) != CURLE_OK);
    free(hb.p);
    free(body.p);
    curl_easy_cleanup(h);
    r = get(&f, "/healthz");
    CHECK(r.status == 0);
    resp_free(&r);
    hc_http_stop(srv);
    hc_http_stop(NULL);
    hc_store_close(store);
    hc_config_fini(&cfg);
}
