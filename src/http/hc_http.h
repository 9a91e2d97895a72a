/* The HTTP API (DESIGN.md §2, §3): libmicrohttpd serving the routes
 *   POST /render, GET /render/status?job_id=, GET /render/{id},
 *   DELETE /render/{id}, GET /jobs?status=&limit=&cursor=, GET /healthz,
 *   GET /metrics (Prometheus text), GET /files/{key} (outputs, with Range),
 *   OPTIONS * (CORS preflight)
 * with JSON errors {"error":{"code","message"}}, CORS on every response,
 * optional API keys, a body size limit and per-connection timeouts.
 *
 * Error codes by status: 400 INVAL (the message names the field), 401
 * UNAUTHORIZED, 404 NOTFOUND, 405 METHOD_NOT_ALLOWED (with Allow), 409
 * CONFLICT (a job_id reused with a different request; DELETE of a final
 * job, whose status is then under "job"), 413 TOOBIG, 415
 * UNSUPPORTED_MEDIA_TYPE, 416 RANGE_NOT_SATISFIABLE, 500 INTERNAL, 503
 * UNAVAILABLE (the store failed). POST /render answers 202 (new job,
 * Location: /render/ID) or 200 (the same request again) with the status
 * JSON of hc_job_status_json.
 *
 * Invariant: a 2xx to POST /render means the job is in the store (durable);
 * the executor is only woken (or, with submit_sync, run) after that. */
#ifndef HC_HTTP_H
#define HC_HTTP_H

#include "core/hc_core.h"
#include "dispatch/hc_dispatch.h"
#include "jobs/hc_jobs.h"
#include "storage/hc_storage.h"
#include "store/hc_store.h"

typedef struct hc_http_server hc_http_server;

/* Borrowed for the server's lifetime. executor may be NULL (jobs stay
 * queued); storage holds the outputs: /files serves a file: storage, and
 * status links are signed (or presigned) through it (NULL: no /files
 * route, URLs handed out as stored). */
typedef struct hc_http_env {
    const hc_config *cfg;
    hc_store *store;
    hc_executor *executor;
    hc_notifier *notifier; /* woken when a cancel makes a queued job final (may be NULL) */
    hc_storage *storage;
    /* Checks a parsed POST /render request beyond what the parser knows
     * (app/ sets the render module's hc_render_validate: effect names):
     * HC_EINVAL naming the field is a 400 and nothing is stored. NULL: no
     * further check. */
    int (*validate)(const hc_request *req, hc_err *err);
    /* After a new job is stored, run one executor pass in the handler
     * (hc_executor_reconcile: the job submitted to a remote scheduler and
     * its batch_job_id stored) and answer with the job as it is then,
     * instead of only waking the executor. For `lambda`, whose process may
     * be frozen as soon as it answers (DESIGN.md §11: SubmitJob ->
     * batch_job_id stored -> 202). A failed submission leaves the job
     * queued for the next pass; the answer is a 202 all the same. */
    bool submit_sync;
} hc_http_env;

/* ---- the API handlers, independent of any server -------------------------
 * One request in, one response out: `serve` (libmicrohttpd, server.c) and
 * `lambda` (API Gateway events) both run every route through
 * hc_api_handle, so routing, API keys, CORS, the error JSON, /metrics
 * counters and /files ranges are the same code for both. */
typedef struct hc_api hc_api;

typedef struct hc_api_kv {
    const char *name, *value;
} hc_api_kv;

typedef struct hc_api_req {
    const char *method;       /* "GET", "POST", ... as sent */
    const char *path;         /* percent-decoded (%00 kept as text), without the query */
    const hc_api_kv *query;   /* decoded query arguments, n_query of them */
    int n_query;
    const hc_api_kv *headers; /* request headers (names in any case), n_headers of them */
    int n_headers;
    const char *body;         /* the request body (not NUL-terminated; NULL = none) */
    size_t body_len;
    int64_t t0_us;            /* when the request arrived (hc_now_us; 0 = now) */
} hc_api_req;

typedef struct hc_api_resp {
    int status;
    hc_strlist headers; /* "Name: value" lines, CORS included */
    hc_buf body;        /* the body, unless fd >= 0 */
    /* A file body: bytes [file_off, file_off + file_len) of fd (owned by
     * the response; -1 = none). */
    int fd;
    uint64_t file_off, file_len;
} hc_api_resp;

/* The handler state for env (borrowed for its lifetime). Status links are
 * signed by env->storage (hc_storage_sign_url: a file storage signs /files
 * URLs of the public URL and of any origin the server answers on). With
 * cfg->api_keys set,
 * every route but GET /healthz, OPTIONS and /files needs a key; /files
 * takes a key or a signed URL (?exp=UNIX&sig=HMAC-SHA256 of "KEY\nEXP"
 * in hex) under DATA_DIR/url-signing.key (created, mode 0600, when
 * absent). */
int hc_api_open(const hc_http_env *env, hc_api **out, hc_err *err);
void hc_api_close(hc_api *api); /* NULL is a no-op */
/* Answer req into resp (initialised here; hc_api_resp_fini frees).
 * Thread-safe. */
void hc_api_handle(hc_api *api, const hc_api_req *req, hc_api_resp *resp);
/* Refusals a server makes from the headers alone, before reading a body
 * (route, method, API key, Content-Type, Content-Length over the limit):
 * true with the response in resp (initialised) when req is refused. */
bool hc_api_refuse_early(hc_api *api, const hc_api_req *req, hc_api_resp *resp);
/* Does a method + path go to a route that takes a request body (POST
 * /render)? A server collects the body only for those. */
bool hc_api_takes_body(const char *method, const char *path);
/* An error response (JSON {"error":{code,message}}) through the same
 * path as every other, e.g. for a body the server stopped reading. */
void hc_api_error(hc_api *api, const hc_api_req *req, hc_api_resp *resp, int status,
                  const char *code, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Read a file body into resp->body (closing fd), for servers that cannot
 * send from a descriptor. */
int hc_api_resp_load(hc_api_resp *resp, hc_err *err);
void hc_api_resp_fini(hc_api_resp *resp);
/* The value of header name (case-insensitive) in resp, or NULL. */
const char *hc_api_resp_header(const hc_api_resp *resp, const char *name);
/* The one HC_E* -> HTTP map: status and the JSON error code for rc
 * (HC_EINVAL 400 "INVAL", HC_ENOTFOUND 404 "NOTFOUND", HC_ETOOBIG 413
 * "TOOBIG", HC_ECONFLICT/HC_EEXISTS 409 "CONFLICT", HC_EIO/HC_ENET/
 * HC_ETIMEOUT 503 "UNAVAILABLE", HC_EUNSUPPORTED 415, else 500 "INTERNAL"). */
int hc_api_status_of(int rc, const char **code);
/* Decode a raw query string ("a=1&b=x%20y", '+' is a space) into kv
 * pairs pointing into *storage (caller frees both with free()). */
int hc_api_query_parse(const char *raw, hc_api_kv **kv, char **storage);
/* Percent-decode s in place (%00 kept as the three characters). */
size_t hc_api_unescape(char *s);
/* Draining: /healthz answers 503 "draining", responses carry Connection: close. */
void hc_api_quiesce(hc_api *api);
bool hc_api_quiesced(const hc_api *api);
void hc_api_set_executor(hc_api *api, hc_executor *x);
void hc_api_job_final(hc_api *api, const char *job_id);
void hc_api_observe_render(hc_api *api, double render_s, int64_t frames);

/* An API Gateway HTTP API event (payload format 2.0, JSON text) through
 * hc_api_handle; the Lambda response JSON ({statusCode, headers, body,
 * isBase64Encoded}) is appended to *out. HC_EUNSUPPORTED when the event is
 * not such an event (no requestContext.http.method), HC_EINVAL for another
 * payload version; a request the API refuses is a response (4xx), not an
 * error. */
int hc_api_apigw(hc_api *api, const char *event, size_t len, hc_buf *out, hc_err *err);

/* ---- the libmicrohttpd server ---------------------------------------------- */
/* Bind cfg->listen ("HOST:PORT", "[V6]:PORT", ":PORT" = all interfaces;
 * port 0 = ephemeral) and serve from libmicrohttpd's own thread pool (one
 * thread per core, at least 2; 30 s per-connection timeout). With
 * cfg->api_keys set, every route but GET /healthz, OPTIONS and /files needs
 * a key; /files takes a key or a signed URL (?exp=UNIX&sig=HMAC-SHA256 of
 * "KEY\nEXP" in hex), under DATA_DIR/url-signing.key (created, mode 0600,
 * when absent); status JSON then carries signed output_url/poster_url
 * (7 days) for URLs under cfg->public_url or the bound URL + "/files/".
 * Returns HC_EINVAL for a malformed listen address, HC_EIO when it cannot
 * be bound (message with the reason). *out: caller stops with
 * hc_http_stop. */
int hc_http_start(const hc_http_env *env, hc_http_server **out, hc_err *err);
/* "http://HOST:PORT" actually bound, a wildcard address shown as the
 * loopback one so the URL is usable (borrowed until hc_http_stop). */
const char *hc_http_url(const hc_http_server *srv);
/* Stop accepting connections; requests in flight finish, later ones on
 * kept-alive connections are answered with Connection: close, and
 * /healthz answers 503 "draining". Idempotent. */
void hc_http_quiesce(hc_http_server *srv);
/* Stop serving and free; NULL is a no-op. */
void hc_http_stop(hc_http_server *srv);

/* Set the executor woken after each submit and told of cancels (it may
 * start after the server; NULL: jobs stay queued). Thread-safe. */
void hc_http_set_executor(hc_http_server *srv, hc_executor *x);
/* A job reached a final state (the executor's on_final): the server reads
 * it from the store and feeds /metrics (render time, frames). Any thread;
 * srv NULL is a no-op. */
void hc_http_job_final(hc_http_server *srv, const char *job_id);
/* Record one finished render in /metrics directly (hydra_render_seconds,
 * hydra_frames_encoded_total, hydra_frames_per_second). Any thread. */
void hc_http_observe_render(hc_http_server *srv, double render_s, int64_t frames);

#endif
