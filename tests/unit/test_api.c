/* hc_api_handle without any server: the request/response shape both
 * `serve` and `lambda` use, the one HC_E* -> HTTP map, query decoding,
 * the validation hook of POST /render (refused requests never reach the
 * store), and the API Gateway adapter's response shape. */
#include "hc_test.h"

#include "core/hc_core.h"
#include "http/hc_http.h"
#include "store/hc_store.h"

#include <jansson.h>
#include <string.h>

static int validate_calls;
static int refuse_foo(const hc_request *req, hc_err *err) {
    (void)req;
    validate_calls++;
    return hc_err_set(err, HC_EINVAL, "settings.ai_effects.transitions[0]: unknown transition "
                                      "\"foo\" (allowed: fade)");
}

typedef struct fx {
    hc_config cfg;
    hc_store *store;
    hc_api *api;
} fx;

static bool fx_open(fx *f, int (*validate)(const hc_request *, hc_err *)) {
    memset(f, 0, sizeof *f);
    hc_err err = {0};
    if (hc_store_open("mem:", &f->store, &err)) return false;
    hc_http_env env = {.cfg = &f->cfg, .store = f->store, .validate = validate};
    return hc_api_open(&env, &f->api, &err) == 0;
}

static void fx_close(fx *f) {
    hc_api_close(f->api);
    hc_store_close(f->store);
}

static const char *BODY = "{\"job_id\":\"u-1\",\"images\":[{\"url\":\"https://example.com/a.jpg\"}]}";

HC_TEST(api_error_map_is_one_table) {
    const char *code;
    CHECK(hc_api_status_of(HC_EINVAL, &code) == 400 && !strcmp(code, "INVAL"));
    CHECK(hc_api_status_of(HC_ETOOBIG, &code) == 413 && !strcmp(code, "TOOBIG"));
    CHECK(hc_api_status_of(HC_ENOTFOUND, &code) == 404 && !strcmp(code, "NOTFOUND"));
    CHECK(hc_api_status_of(HC_ECONFLICT, &code) == 409 && !strcmp(code, "CONFLICT"));
    CHECK(hc_api_status_of(HC_EEXISTS, &code) == 409);
    CHECK(hc_api_status_of(HC_EIO, &code) == 503 && !strcmp(code, "UNAVAILABLE"));
    CHECK(hc_api_status_of(HC_ENET, NULL) == 503 && hc_api_status_of(HC_ETIMEOUT, NULL) == 503);
    CHECK(hc_api_status_of(HC_EUNSUPPORTED, &code) == 415);
    CHECK(hc_api_status_of(HC_EINTERNAL, &code) == 500 && !strcmp(code, "INTERNAL"));
    CHECK(hc_api_status_of(HC_ENOMEM, &code) == 500 && !strcmp(code, "INTERNAL"));
}

HC_TEST(api_query_decoding_matches_the_server) {
    hc_api_kv *kv;
    char *store;
    int n = hc_api_query_parse("job_id=a%2Db&x=1+2&flag&k%00=v&&empty=", &kv, &store);
    CHECKF(n == 5, "n=%d", n);
    CHECK(!strcmp(kv[0].name, "job_id") && !strcmp(kv[0].value, "a-b"));
    CHECK(!strcmp(kv[1].value, "1 2"));
    CHECK(!strcmp(kv[2].name, "flag") && !strcmp(kv[2].value, ""));
    CHECK(!strcmp(kv[3].name, "k%00")); /* %00 kept as text, as the server's unescape */
    CHECK(!strcmp(kv[4].name, "empty") && !strcmp(kv[4].value, ""));
    free(kv);
    free(store);
    CHECK(hc_api_query_parse(NULL, &kv, &store) == 0 && !kv);
}

HC_TEST(api_validation_hook_refuses_before_the_store) {
    fx f;
    CHECK(fx_open(&f, refuse_foo));
    hc_api_req req = {.method = "POST", .path = "/render", .body = BODY, .body_len = strlen(BODY)};
    hc_api_resp resp;
    validate_calls = 0;
    hc_api_handle(f.api, &req, &resp);
    CHECKF(resp.status == 400, "status %d", resp.status);
    CHECK(validate_calls == 1);
    CHECK(strstr(resp.body.p, "settings.ai_effects.transitions[0]: unknown transition"));
    CHECK(!strcmp(hc_api_resp_header(&resp, "Access-Control-Allow-Origin"), "*"));
    hc_api_resp_fini(&resp);
    hc_job job = {0};
    hc_err err = {0};
    CHECK(hc_store_get(f.store, "u-1", &job, &err) == HC_ENOTFOUND);
    fx_close(&f);

    /* Without the hook the same request is stored. */
    CHECK(fx_open(&f, NULL));
    hc_api_handle(f.api, &req, &resp);
    CHECKF(resp.status == 202, "status %d", resp.status);
    CHECK(!strcmp(hc_api_resp_header(&resp, "Location"), "/render/u-1"));
    hc_api_resp_fini(&resp);
    CHECK(hc_store_get(f.store, "u-1", &job, &err) == 0);
    hc_job_fini(&job);
    fx_close(&f);
}

HC_TEST(api_routes_refusals_and_headers) {
    fx f;
    CHECK(fx_open(&f, NULL));
    hc_api_resp resp;
    hc_api_req opt = {.method = "OPTIONS", .path = "/anything"};
    hc_api_handle(f.api, &opt, &resp);
    CHECK(resp.status == 204 && hc_api_resp_header(&resp, "Access-Control-Allow-Methods"));
    hc_api_resp_fini(&resp);

    hc_api_req put = {.method = "PUT", .path = "/jobs"};
    hc_api_handle(f.api, &put, &resp);
    CHECK(resp.status == 405 && !strcmp(hc_api_resp_header(&resp, "Allow"), "GET, HEAD, OPTIONS"));
    hc_api_resp_fini(&resp);

    /* /files is no route without file storage. */
    hc_api_req files = {.method = "GET", .path = "/files/x.mp4"};
    hc_api_handle(f.api, &files, &resp);
    CHECK(resp.status == 404);
    hc_api_resp_fini(&resp);

    /* Refused from the headers alone: a form upload, a claimed length over the limit. */
    hc_api_kv form[] = {{"Content-Type", "multipart/form-data; boundary=x"}};
    hc_api_req early = {.method = "POST", .path = "/render", .headers = form, .n_headers = 1};
    CHECK(hc_api_takes_body("POST", "/render") && !hc_api_takes_body("GET", "/render"));
    CHECK(hc_api_refuse_early(f.api, &early, &resp) && resp.status == 415);
    hc_api_resp_fini(&resp);
    hc_api_kv big[] = {{"content-length", "99999999999"}};
    early.headers = big;
    CHECK(hc_api_refuse_early(f.api, &early, &resp) && resp.status == 413);
    hc_api_resp_fini(&resp);
    hc_api_kv ok[] = {{"content-type", "application/json"}, {"content-length", "10"}};
    early.headers = ok;
    early.n_headers = 2;
    CHECK(!hc_api_refuse_early(f.api, &early, &resp));
    hc_api_resp_fini(&resp);

    hc_api_req metrics = {.method = "GET", .path = "/metrics"};
    hc_api_handle(f.api, &metrics, &resp);
    CHECK(resp.status == 200);
    CHECKF(strstr(resp.body.p, "hydra_http_requests_total{code=\"405\"} 1") &&
               strstr(resp.body.p, "hydra_http_requests_total{code=\"415\"} 1") &&
               strstr(resp.body.p, "hydra_http_requests_total{code=\"413\"} 1"),
           "%s", resp.body.p);
    hc_api_resp_fini(&resp);
    fx_close(&f);
}

HC_TEST(api_apigw_response_shape) {
    fx f;
    CHECK(fx_open(&f, NULL));
    const char *ev = "{\"version\":\"2.0\",\"rawPath\":\"/render/status\",\"rawQueryString\":"
                     "\"job_id=none\",\"headers\":{\"x-api-key\":\"k\"},\"requestContext\":{\"http\":"
                     "{\"method\":\"GET\"},\"stage\":\"$default\"},\"isBase64Encoded\":false}";
    hc_buf out = {0};
    hc_err err = {0};
    CHECK(hc_api_apigw(f.api, ev, strlen(ev), &out, &err) == 0);
    json_t *j = json_loads(out.p, 0, NULL);
    CHECK(json_integer_value(json_object_get(j, "statusCode")) == 404);
    CHECK(json_is_false(json_object_get(j, "isBase64Encoded")));
    CHECK(!strcmp(json_string_value(json_object_get(json_object_get(j, "headers"),
                                                    "Content-Type")),
                  "application/json"));
    CHECK(strstr(json_string_value(json_object_get(j, "body")), "NOTFOUND"));
    json_decref(j);
    hc_buf_fini(&out);
    CHECK(hc_api_apigw(f.api, "{\"source\":\"aws.events\"}", 23, &out, &err) == HC_EUNSUPPORTED);
    hc_buf_fini(&out);
    fx_close(&f);
}
