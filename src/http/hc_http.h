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
 * the executor is only woken after that. */
#ifndef HC_HTTP_H
#define HC_HTTP_H

#include "core/hc_core.h"
#include "dispatch/hc_dispatch.h"
#include "store/hc_store.h"

typedef struct hc_http_server hc_http_server;

/* Borrowed for the server's lifetime. executor may be NULL (jobs stay
 * queued); outputs_dir is the file storage root (NULL: no /files route). */
typedef struct hc_http_env {
    const hc_config *cfg;
    hc_store *store;
    hc_executor *executor;
    hc_notifier *notifier; /* woken when a cancel makes a queued job final (may be NULL) */
    const char *outputs_dir;
} hc_http_env;

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
