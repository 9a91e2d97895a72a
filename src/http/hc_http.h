/* The HTTP API (DESIGN.md §2, §3): libmicrohttpd serving the routes
 *   POST /render, GET /render/status?job_id=, GET /render/{id},
 *   DELETE /render/{id}, GET /jobs?status=&limit=&cursor=, GET /healthz,
 *   GET /metrics (Prometheus text), GET /files/{key} (outputs, with Range),
 *   OPTIONS * (CORS preflight)
 * with JSON errors {"error":{"code","message"}}, CORS on every response,
 * optional API keys, a body size limit and per-connection timeouts.
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
    const char *outputs_dir;
} hc_http_env;

/* Bind cfg->listen (":0" or "HOST:0" = an ephemeral port) and serve from
 * libmicrohttpd's own threads. *out: caller stops with hc_http_stop. */
int hc_http_start(const hc_http_env *env, hc_http_server **out, hc_err *err);
/* "http://HOST:PORT" actually bound (borrowed until hc_http_stop). */
const char *hc_http_url(const hc_http_server *srv);
/* Stop accepting connections; requests in flight finish. */
void hc_http_quiesce(hc_http_server *srv);
/* Stop serving and free; NULL is a no-op. */
void hc_http_stop(hc_http_server *srv);

#endif
