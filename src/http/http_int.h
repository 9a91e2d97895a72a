/* Internals shared by the HTTP files: the server object, the per-request
 * handle the route handlers answer through, and the helpers that build
 * responses (JSON errors, CORS, access log, counters).
 *
 * Invariant: every response leaves through http_reply(), which adds the
 * CORS header, counts the status code and writes the access-log line, so
 * no route can forget any of them. */
#ifndef HC_HTTP_INT_H
#define HC_HTTP_INT_H

#include "http/hc_http.h"

#include <microhttpd.h>
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

/* hydra_render_seconds buckets (upper bounds, seconds). */
#define HTTP_RENDER_BUCKETS 12
extern const double http_render_bounds_s[HTTP_RENDER_BUCKETS];

struct hc_http_server {
    hc_http_env env; /* cfg and store borrowed; executor read through `executor` */
    _Atomic(hc_executor *) executor;
    struct MHD_Daemon *mhd;
    char url[96];            /* "http://HOST:PORT" */
    char outputs_real[4096]; /* realpath of env.outputs_dir, "" = no /files route */
    size_t outputs_real_len;
    bool keys;            /* API keys configured: routes need one, files need one or a sig */
    char sign_secret[65]; /* URL-signing key (hex), "" when keys are off */
    char *file_prefix[2]; /* "<public_url>/files/" and "<bound url>/files/" (owned, NULL) */
    atomic_bool quiesced;

    /* metrics */
    _Atomic uint64_t codes[500];                     /* responses by status code - 100 */
    pthread_mutex_t mu;                              /* guards the render histogram below */
    uint64_t render_bucket[HTTP_RENDER_BUCKETS + 1]; /* last: +Inf */
    double render_sum_s;
    uint64_t render_count;
    uint64_t frames_total;
    double last_fps;
    uint64_t finished[HC_JOB_STATUS_COUNT]; /* final states seen through hc_http_job_final */
};

/* One request as the handlers see it. Borrowed for the handler's call. */
typedef struct http_req {
    hc_http_server *srv;
    struct MHD_Connection *conn;
    const char *method; /* as sent */
    unsigned mbit;      /* HTTP_* */
    const char *path;   /* decoded, without the query */
    const char *rest;   /* after a prefix route's prefix ("" for exact routes) */
    const char *body;   /* POST body (not NUL-terminated), NULL otherwise */
    size_t body_len;
    int64_t t0_us; /* when the headers arrived (hc_now_us) */
    bool authed;   /* a valid API key was presented */
} http_req;

/* Queue resp with status, adding CORS and counting/logging. Takes resp
 * (destroys it). Returns MHD_YES/MHD_NO for the access handler. */
enum MHD_Result http_reply(http_req *r, unsigned status, struct MHD_Response *resp);
/* Reply with a JSON body: `json` is malloc'd text the response takes. */
enum MHD_Result http_reply_json(http_req *r, unsigned status, char *json);
/* {"error":{"code":code,"message":msg}} with status. */
enum MHD_Result http_reply_error(http_req *r, unsigned status, const char *code, const char *fmt,
                                 ...) __attribute__((format(printf, 4, 5)));
/* A JSON error response object (not queued), for callers that add headers. */
struct MHD_Response *http_error_response(const char *code, const char *msg);

/* The status JSON of a job with /files URLs signed when keys are on
 * (caller frees with free()). */
char *http_status_json(hc_http_server *srv, const hc_job *job);

/* ---- routes (api.c, files.c) ---- */
enum MHD_Result http_api_submit(http_req *r);
enum MHD_Result http_api_status_query(http_req *r);
enum MHD_Result http_api_job(http_req *r);
enum MHD_Result http_api_list(http_req *r);
enum MHD_Result http_api_healthz(http_req *r);
enum MHD_Result http_api_metrics(http_req *r);
enum MHD_Result http_files_get(http_req *r);

/* ---- files.c: URL signing ---- */
/* Is the request's ?exp=&sig= a valid, unexpired signature for key? */
bool http_sign_check(const hc_http_server *srv, struct MHD_Connection *conn, const char *key);
/* url with "?exp=E&sig=S" appended when it is one of our /files URLs and
 * signing is on; NULL otherwise (caller frees with free()). */
char *http_sign_url(const hc_http_server *srv, const char *url);

/* ---- guard.c: what a submitted request may point at ---- */
/* HC_EINVAL naming `label` when url (http or https) names a host that is a
 * literal private, loopback, link-local or otherwise internal address (or
 * "localhost"), unless allow (HC_URL_ALLOW) lets it: the fetcher's policy,
 * hc_url_guard_allows of core/hc_core.h. Host names pass (they are
 * checked where they are resolved, in the worker). */
int http_url_guard(const char *url, const char *label, const char *allow, hc_err *err);

#endif
