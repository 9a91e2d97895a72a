/* Internals shared by the HTTP files: the API object, the per-request
 * handle the route handlers answer through, and the helpers that build
 * responses (JSON errors, CORS, access log, counters). Nothing here knows
 * libmicrohttpd: server.c adapts it to hc_api_handle, as the Lambda loop
 * does for API Gateway events.
 *
 * Invariant: every response leaves through http_finish() (called once by
 * hc_api_handle / hc_api_refuse_early / hc_api_error), which adds the CORS
 * headers, counts the status code and writes the access-log line, so no
 * route can forget any of them. */
#ifndef HC_HTTP_INT_H
#define HC_HTTP_INT_H

#include "http/hc_http.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Methods as bits, for the route table. */
enum {
    HTTP_GET = 1u << 0,
    HTTP_HEAD = 1u << 1,
    HTTP_POST = 1u << 2,
    HTTP_DELETE = 1u << 3,
    HTTP_OPTIONS = 1u << 4,
    HTTP_OTHER = 1u << 5,
};

/* Statuses by name (RFC 9110). */
enum {
    HTTP_OK = 200,
    HTTP_ACCEPTED = 202,
    HTTP_NO_CONTENT = 204,
    HTTP_PARTIAL_CONTENT = 206,
    HTTP_NOT_MODIFIED = 304,
    HTTP_BAD_REQUEST = 400,
    HTTP_UNAUTHORIZED = 401,
    HTTP_NOT_FOUND = 404,
    HTTP_METHOD_NOT_ALLOWED = 405,
    HTTP_CONFLICT = 409,
    HTTP_CONTENT_TOO_LARGE = 413,
    HTTP_UNSUPPORTED_MEDIA_TYPE = 415,
    HTTP_RANGE_NOT_SATISFIABLE = 416,
    HTTP_INTERNAL_SERVER_ERROR = 500,
    HTTP_SERVICE_UNAVAILABLE = 503,
};

/* hydra_render_seconds buckets (upper bounds, seconds). */
#define HTTP_RENDER_BUCKETS 12
extern const double http_render_bounds_s[HTTP_RENDER_BUCKETS];

struct hc_api {
    hc_http_env env; /* cfg and store borrowed; executor read through `executor` */
    _Atomic(hc_executor *) executor;
    bool files;           /* /files route: env.storage is a file storage */
    bool keys;            /* API keys configured: routes need one, files need one or a sig */
    char sign_secret[65]; /* URL-signing key (hex), "" when keys are off */
    atomic_bool quiesced;

    /* metrics */
    _Atomic uint64_t codes[500];                     /* responses by status code - 100 */
    pthread_mutex_t mu;                              /* guards the render histogram below */
    uint64_t render_bucket[HTTP_RENDER_BUCKETS + 1]; /* last: +Inf */
    double render_sum_s;
    uint64_t render_count;
    uint64_t frames_total;
    double last_fps;
    uint64_t finished[HC_JOB_STATUS_COUNT]; /* final states seen through hc_api_job_final */
};

/* One request as the handlers see it. Borrowed for the handler's call. */
typedef struct http_req {
    hc_api *api;
    const hc_api_req *in;
    hc_api_resp *out;
    unsigned mbit;    /* HTTP_* */
    const char *rest; /* after a prefix route's prefix ("" for exact routes) */
    bool authed;      /* a valid API key was presented */
} http_req;

/* Request headers and query arguments (case-insensitive names for
 * headers), NULL when absent. */
const char *http_header(const http_req *r, const char *name);
const char *http_arg(const http_req *r, const char *name);

/* Set the status and add a response header line. */
void http_status(http_req *r, int status);
void http_add_header(http_req *r, const char *name, const char *value);
/* Reply with a JSON body: `json` is malloc'd text the response takes. */
void http_reply_json(http_req *r, int status, char *json);
/* {"error":{"code":code,"message":msg}} with status. */
void http_reply_error(http_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The error for an HC_E* code through the one map (hc_api_status_of). */
void http_reply_rc(http_req *r, int rc, const char *msg);

/* The status JSON of a job with /files URLs signed when keys are on
 * (caller frees with free()). */
char *http_status_json(hc_api *api, const hc_job *job);

/* ---- routes (api.c, files.c) ---- */
void http_api_submit(http_req *r);
void http_api_status_query(http_req *r);
void http_api_job(http_req *r);
void http_api_list(http_req *r);
void http_api_healthz(http_req *r);
void http_api_metrics(http_req *r);
void http_files_get(http_req *r);

/* ---- files.c: URL signing ---- */
/* Is the request's ?exp=&sig= a valid, unexpired signature for key? */
bool http_sign_check(const http_req *r, const char *key);
/* url with "?exp=E&sig=S" appended when it is one of our /files URLs and
 * signing is on; NULL otherwise (caller frees with free()). */
char *http_sign_url(const hc_api *api, const char *url);

/* ---- guard.c: what a submitted request may point at ---- */
/* HC_EINVAL naming `label` when url (http or https) names a host that is a
 * literal private, loopback, link-local or otherwise internal address (or
 * "localhost"), unless allow (HC_URL_ALLOW) lets it: the fetcher's policy,
 * hc_url_guard_allows of core/hc_core.h. Host names pass (they are
 * checked where they are resolved, in the worker). */
int http_url_guard(const char *url, const char *label, const char *allow, hc_err *err);

#endif
