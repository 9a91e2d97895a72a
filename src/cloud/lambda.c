/* The Lambda Runtime API client (API version 2018-06-01) and the runtime
 * loop: /next without a time limit, the handler, then /response or
 * /error; /init/error for failures before the loop.
 *
 * Invariant: each invocation taken from /next is answered exactly once
 * (response or error) before the next /next, and only connection failures
 * are retried (a status from the Runtime API is final: retrying a
 * /response it refused could answer twice). Event bodies and responses
 * are never logged. */
#include "cloud/hc_cloud.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "lambda"

struct hc_lambda {
    char base[512]; /* "http://HOST:PORT/2018-06-01/runtime" */
};

/* The Runtime API's statuses are answers, not transient failures. */
static bool no_status_retry(long status, const hc_buf *body) {
    (void)status;
    (void)body;
    return false;
}

/* /next blocks until an event arrives (the environment may be frozen for
 * hours meanwhile): no overall or idle limit. */
static const hc_httpc_policy next_policy = {
    .name = "lambda-runtime",
    .guard = false,
    .timeout_ms = 0,
    .idle_timeout_s = -1,
    .max_attempts = 5,
    .backoff_ms = 50,
    .max_backoff_ms = 1000,
};

static const hc_httpc_policy post_policy = {
    .name = "lambda-runtime",
    .guard = false,
    .timeout_ms = 0,
    .idle_timeout_s = -1,
    .max_attempts = 3,
    .backoff_ms = 50,
    .max_backoff_ms = 1000,
};

void hc_lambda_invocation_fini(hc_lambda_invocation *inv) {
    if (!inv) return;
    hc_buf_fini(&inv->event);
}

int hc_lambda_open(const char *runtime_api, hc_lambda **out, hc_err *err) {
    *out = NULL;
    if (!runtime_api || !*runtime_api)
        return hc_err_set(err, HC_EINVAL,
                          "AWS_LAMBDA_RUNTIME_API: not set (the Lambda Runtime API's HOST:PORT)");
    if (strchr(runtime_api, '/') || strlen(runtime_api) > 400)
        return hc_err_set(err, HC_EINVAL, "AWS_LAMBDA_RUNTIME_API: expected HOST:PORT (got \"%.80s\")",
                          runtime_api);
    hc_lambda *l = hc_xcalloc(1, sizeof *l);
    snprintf(l->base, sizeof l->base, "http://%s/2018-06-01/runtime", runtime_api);
    *out = l;
    return 0;
}

void hc_lambda_close(hc_lambda *l) {
    free(l);
}

int hc_lambda_next(hc_lambda *l, hc_lambda_invocation *inv, hc_err *err) {
    memset(inv, 0, sizeof *inv);
    char url[600];
    snprintf(url, sizeof url, "%s/invocation/next", l->base);
    hc_httpc_req req = {.method = "GET", .url = url, .retry_status = no_status_retry};
    hc_httpc_resp resp;
    int rc = hc_httpc_do(&next_policy, &req, &resp, err);
    if (rc) {
        hc_httpc_resp_fini(&resp);
        return rc;
    }
    if (resp.status != 200) {
        rc = hc_err_set(err, resp.status >= 500 ? HC_ENET : HC_EIO,
                        "lambda runtime: GET /invocation/next answered %ld", resp.status);
        hc_httpc_resp_fini(&resp);
        return rc;
    }
    char deadline[32] = "";
    if (!hc_httpc_header(&resp, "Lambda-Runtime-Aws-Request-Id", inv->request_id,
                         sizeof inv->request_id) ||
        !inv->request_id[0]) {
        hc_httpc_resp_fini(&resp);
        return hc_err_set(err, HC_EIO,
                          "lambda runtime: /invocation/next without Lambda-Runtime-Aws-Request-Id");
    }
    if (hc_httpc_header(&resp, "Lambda-Runtime-Deadline-Ms", deadline, sizeof deadline))
        inv->deadline_ms = strtoll(deadline, NULL, 10);
    hc_httpc_header(&resp, "Lambda-Runtime-Invoked-Function-Arn", inv->function_arn,
                    sizeof inv->function_arn);
    hc_httpc_header(&resp, "Lambda-Runtime-Trace-Id", inv->trace_id, sizeof inv->trace_id);
    inv->event = resp.body;
    resp.body = (hc_buf){0};
    hc_httpc_resp_fini(&resp);
    return 0;
}

/* POST body to base + path; 202 expected. */
static int post(hc_lambda *l, const char *path, const char *const *headers, const void *body,
                size_t len, hc_err *err) {
    char url[1024];
    snprintf(url, sizeof url, "%s%s", l->base, path);
    hc_httpc_req req = {.method = "POST",
                        .url = url,
                        .headers = headers,
                        .body = body ? body : "",
                        .body_len = len,
                        .retry_status = no_status_retry};
    hc_httpc_resp resp;
    int rc = hc_httpc_do(&post_policy, &req, &resp, err);
    if (!rc && resp.status != 202 && resp.status != 200) {
        char shown[200];
        snprintf(shown, sizeof shown, "%.180s", resp.body.p ? resp.body.p : "");
        for (char *c = shown; *c; c++)
            if (*c < 0x20 || *c > 0x7e) *c = '?';
        rc = hc_err_set(err, resp.status == 413 ? HC_ETOOBIG : HC_EIO,
                        "lambda runtime: POST %s answered %ld: %s", path, resp.status, shown);
    }
    hc_httpc_resp_fini(&resp);
    return rc;
}

/* "/invocation/<id>/<what>" with the id percent-encoded. */
static void invocation_path(char *buf, size_t len, const char *request_id, const char *what) {
    hc_buf id = {0};
    hc_url_encode(&id, request_id, strlen(request_id), false);
    snprintf(buf, len, "/invocation/%s/%s", id.p ? id.p : "", what);
    hc_buf_fini(&id);
}

int hc_lambda_respond(hc_lambda *l, const char *request_id, const void *body, size_t len,
                      hc_err *err) {
    char path[400];
    invocation_path(path, sizeof path, request_id, "response");
    static const char *const headers[] = {"Content-Type: application/json", NULL};
    return post(l, path, headers, body, len, err);
}

static int post_error(hc_lambda *l, const char *path, const char *error_type, const char *message,
                      hc_err *err) {
    char type[160], esc_type[400], hdr[200];
    snprintf(type, sizeof type, "%s", error_type && *error_type ? error_type : "Unhandled");
    for (char *c = type; *c; c++) /* a header value */
        if (*c < 0x21 || *c > 0x7e) *c = '_';
    hc_json_escape(esc_type, sizeof esc_type, type);
    size_t mlen = message ? strlen(message) : 0;
    char *esc_msg = hc_xmalloc(mlen * 6 + 1);
    hc_json_escape(esc_msg, mlen * 6 + 1, message ? message : "");
    hc_buf body = {0};
    hc_buf_printf(&body, "{\"errorMessage\":\"%s\",\"errorType\":\"%s\",\"stackTrace\":[]}",
                  esc_msg, esc_type);
    free(esc_msg);
    snprintf(hdr, sizeof hdr, "Lambda-Runtime-Function-Error-Type: %s", type);
    const char *const headers[] = {"Content-Type: application/json", hdr, NULL};
    int rc = post(l, path, headers, body.p, body.n, err);
    hc_buf_fini(&body);
    return rc;
}

int hc_lambda_fail(hc_lambda *l, const char *request_id, const char *error_type,
                   const char *message, hc_err *err) {
    char path[400];
    invocation_path(path, sizeof path, request_id, "error");
    return post_error(l, path, error_type, message, err);
}

int hc_lambda_init_error(hc_lambda *l, const char *error_type, const char *message, hc_err *err) {
    return post_error(l, "/init/error", error_type, message, err);
}

int hc_lambda_run(hc_lambda *l, hc_lambda_handler handler, void *ud, const volatile bool *stop,
                  hc_err *err) {
    while (!stop || !*stop) {
        hc_lambda_invocation inv;
        int rc = hc_lambda_next(l, &inv, err);
        if (rc) {
            hc_lambda_invocation_fini(&inv);
            return rc;
        }
        /* What X-Ray and the SDKs read; the loop is the only writer. */
        if (inv.trace_id[0])
            setenv("_X_AMZN_TRACE_ID", inv.trace_id, 1);
        else
            unsetenv("_X_AMZN_TRACE_ID");
        hc_log_set_job(NULL);
        hc_buf out = {0};
        hc_err herr = {0};
        char type[128] = "";
        int hrc = handler(ud, &inv, &out, type, sizeof type, &herr);
        hc_err perr = {0};
        if (hrc == 0) {
            rc = hc_lambda_respond(l, inv.request_id, out.p, out.n, &perr);
            if (rc == HC_ETOOBIG) { /* over the 6 MB response limit: say so instead */
                memset(&perr, 0, sizeof perr);
                rc = hc_lambda_fail(l, inv.request_id, "Runtime.ResponseTooLarge",
                                    "the response is over the Lambda response size limit", &perr);
            }
        } else {
            if (!type[0]) snprintf(type, sizeof type, "HC_%s", hc_errname(hrc));
            HC_WARN(COMP, "invocation %s failed: %s", inv.request_id,
                    herr.msg[0] ? herr.msg : hc_strerror(hrc));
            rc = hc_lambda_fail(l, inv.request_id, type, herr.msg[0] ? herr.msg : hc_strerror(hrc),
                                &perr);
        }
        if (rc) HC_ERROR(COMP, "invocation %s: %s", inv.request_id, perr.msg);
        hc_buf_fini(&out);
        hc_lambda_invocation_fini(&inv);
    }
    (void)err;
    return 0;
}
