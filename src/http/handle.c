/* The API dispatcher (DESIGN.md §2, §3): one request in, one response out,
 * whatever carried it (libmicrohttpd in server.c, an API Gateway event in
 * the Lambda loop). The route table, CORS, the preflight, API keys, the
 * request body's type and size, the access log and the counters behind
 * /metrics all live here, and the one map from HC_E* codes to HTTP
 * statuses and JSON error codes.
 *
 * Invariant: every response goes through http_finish() exactly once, so
 * each one carries Access-Control-Allow-Origin, is counted in
 * hydra_http_requests_total and logged (at debug) with its status and
 * duration. No header value of the request (Authorization, X-Api-Key) and
 * no body is ever logged. */
#include "http/http_int.h"

#include "jobs/hc_jobs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Route flags. */
enum {
    R_OPEN = 1u << 0,   /* no API key needed */
    R_BODY = 1u << 1,   /* takes a request body */
    R_PREFIX = 1u << 2, /* path is a prefix; the handler gets the rest */
    R_FILES = 1u << 3,  /* key or URL signature (checked by the handler) */
};

typedef struct route {
    const char *path;
    unsigned flags;
    unsigned methods; /* HTTP_* bits */
    const char *allow;
    void (*handler)(http_req *r);
} route;

/* The API (DESIGN.md §2, §3). First match wins; HEAD is served wherever GET is. */
static const route routes[] = {
    {"/render", R_BODY, HTTP_POST, "POST, OPTIONS", http_api_submit},
    {"/render/status", 0, HTTP_GET | HTTP_HEAD, "GET, HEAD, OPTIONS", http_api_status_query},
    {"/render/", R_PREFIX, HTTP_GET | HTTP_HEAD | HTTP_DELETE, "GET, HEAD, DELETE, OPTIONS",
     http_api_job},
    {"/jobs", 0, HTTP_GET | HTTP_HEAD, "GET, HEAD, OPTIONS", http_api_list},
    {"/healthz", R_OPEN, HTTP_GET | HTTP_HEAD, "GET, HEAD, OPTIONS", http_api_healthz},
    {"/metrics", 0, HTTP_GET | HTTP_HEAD, "GET, HEAD, OPTIONS", http_api_metrics},
    {"/files/", R_PREFIX | R_FILES, HTTP_GET | HTTP_HEAD, "GET, HEAD, OPTIONS", http_files_get},
};

/* ---- the error map ------------------------------------------------------------ */

int hc_api_status_of(int rc, const char **code) {
    const char *c = "INTERNAL";
    int st = HTTP_INTERNAL_SERVER_ERROR;
    switch (rc) {
    case HC_EINVAL:
        st = HTTP_BAD_REQUEST, c = "INVAL";
        break;
    case HC_EMEDIA:
        st = HTTP_BAD_REQUEST, c = "MEDIA";
        break;
    case HC_ETOOBIG:
        st = HTTP_CONTENT_TOO_LARGE, c = "TOOBIG";
        break;
    case HC_ENOTFOUND:
        st = HTTP_NOT_FOUND, c = "NOTFOUND";
        break;
    case HC_ECONFLICT:
    case HC_EEXISTS:
        st = HTTP_CONFLICT, c = "CONFLICT";
        break;
    case HC_EUNSUPPORTED:
        st = HTTP_UNSUPPORTED_MEDIA_TYPE, c = "UNSUPPORTED_MEDIA_TYPE";
        break;
    case HC_EIO:
    case HC_ENET:
    case HC_ETIMEOUT:
        st = HTTP_SERVICE_UNAVAILABLE, c = "UNAVAILABLE";
        break;
    default:
        break;
    }
    if (code) *code = c;
    return st;
}

/* ---- request fields ------------------------------------------------------------ */

const char *http_header(const http_req *r, const char *name) {
    for (int i = 0; i < r->in->n_headers; i++)
        if (!strcasecmp(r->in->headers[i].name, name)) return r->in->headers[i].value;
    return NULL;
}

const char *http_arg(const http_req *r, const char *name) {
    for (int i = 0; i < r->in->n_query; i++)
        if (!strcmp(r->in->query[i].name, name)) return r->in->query[i].value;
    return NULL;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

size_t hc_api_unescape(char *s) {
    char *w = s;
    for (const char *p = s; *p;) {
        int hi, lo;
        if (p[0] == '%' && (hi = hex_value(p[1])) >= 0 && (lo = hex_value(p[2])) >= 0 &&
            (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            p += 3;
        } else {
            *w++ = *p++;
        }
    }
    *w = 0;
    return (size_t)(w - s);
}

int hc_api_query_parse(const char *raw, hc_api_kv **kv, char **storage) {
    *kv = NULL;
    *storage = NULL;
    if (!raw || !*raw) return 0;
    char *s = hc_strdup(raw);
    int cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == '&';
    hc_api_kv *v = hc_xcalloc((size_t)cap, sizeof *v);
    int n = 0;
    for (char *p = s; p;) {
        char *amp = strchr(p, '&');
        if (amp) *amp = 0;
        if (*p) {
            for (char *c = p; *c; c++)
                if (*c == '+') *c = ' ';
            char *eq = strchr(p, '=');
            const char *val = "";
            if (eq) {
                *eq = 0;
                hc_api_unescape(eq + 1);
                val = eq + 1;
            }
            hc_api_unescape(p);
            v[n++] = (hc_api_kv){p, val};
        }
        p = amp ? amp + 1 : NULL;
    }
    *kv = v;
    *storage = s;
    return n;
}

/* ---- responses ------------------------------------------------------------------ */

void http_status(http_req *r, int status) {
    r->out->status = status;
}

void http_add_header(http_req *r, const char *name, const char *value) {
    hc_strlist_add(&r->out->headers, "%s: %s", name, value);
}

void http_reply_json(http_req *r, int status, char *json) {
    r->out->status = status;
    hc_buf_fini(&r->out->body);
    size_t n = strlen(json);
    r->out->body = (hc_buf){.p = json, .n = n, .cap = n + 1};
    http_add_header(r, "Content-Type", "application/json");
}

static void error_body(http_req *r, int status, const char *code, const char *msg) {
    char esc_code[64], esc_msg[2048];
    hc_json_escape(esc_code, sizeof esc_code, code);
    hc_json_escape(esc_msg, sizeof esc_msg, msg);
    hc_buf b = {0};
    hc_buf_printf(&b, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", esc_code, esc_msg);
    http_reply_json(r, status, b.p);
    if (status == HTTP_UNAUTHORIZED) http_add_header(r, "WWW-Authenticate", "Bearer");
}

void http_reply_error(http_req *r, int status, const char *code, const char *fmt, ...) {
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    error_body(r, status, code, msg);
}

void http_reply_rc(http_req *r, int rc, const char *msg) {
    const char *code;
    int st = hc_api_status_of(rc, &code);
    error_body(r, st, code, msg && *msg ? msg : hc_strerror(rc));
}

static void access_log(const http_req *r) {
    char path[600], fields[800];
    hc_json_escape(path, sizeof path, r->in->path);
    int64_t t0 = r->in->t0_us;
    snprintf(fields, sizeof fields,
             ",\"method\":\"%s\",\"path\":\"%s\",\"status\":%d,\"dur_ms\":%.3f",
             r->mbit == HTTP_OTHER ? "OTHER" : r->in->method, path, r->out->status,
             t0 ? (double)(hc_now_us() - t0) / 1000.0 : 0.0);
    hc_log_write_fields(HC_LOG_DEBUG, "http", fields, "request");
}

/* Every response, once: CORS, draining, the counter, the access log. */
static void http_finish(http_req *r) {
    http_add_header(r, "Access-Control-Allow-Origin", "*");
    http_add_header(r, "Access-Control-Expose-Headers",
                    "Content-Range, Content-Length, Location, ETag");
    /* Draining: clients on kept-alive connections reconnect (and are
     * refused) rather than keep talking to a server on its way out. */
    if (atomic_load_explicit(&r->api->quiesced, memory_order_relaxed))
        http_add_header(r, "Connection", "close");
    int status = r->out->status;
    if (status >= 100 && status < 600)
        atomic_fetch_add_explicit(&r->api->codes[status - 100], 1, memory_order_relaxed);
    if (HC_LOG_DEBUG >= hc_log_threshold) access_log(r);
}

/* ---- routing ------------------------------------------------------------------------ */

static unsigned method_bit(const char *m) {
    if (!m) return HTTP_OTHER;
    switch (m[0]) {
    case 'G':
        if (!strcmp(m, "GET")) return HTTP_GET;
        break;
    case 'H':
        if (!strcmp(m, "HEAD")) return HTTP_HEAD;
        break;
    case 'P':
        if (!strcmp(m, "POST")) return HTTP_POST;
        break;
    case 'D':
        if (!strcmp(m, "DELETE")) return HTTP_DELETE;
        break;
    case 'O':
        if (!strcmp(m, "OPTIONS")) return HTTP_OPTIONS;
        break;
    }
    return HTTP_OTHER;
}

static const route *find_route(const char *path, const char **rest) {
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const route *rt = &routes[i];
        if (rt->flags & R_PREFIX) {
            size_t n = strlen(rt->path);
            if (!strncmp(path, rt->path, n)) {
                *rest = path + n;
                return rt;
            }
        } else if (!strcmp(path, rt->path)) {
            *rest = "";
            return rt;
        }
    }
    return NULL;
}

bool hc_api_takes_body(const char *method, const char *path) {
    const char *rest;
    const route *rt = method_bit(method) == HTTP_POST && path ? find_route(path, &rest) : NULL;
    return rt && (rt->flags & R_BODY);
}

/* Authorization: Bearer K, or X-Api-Key: K, against HC_API_KEYS. */
static bool key_presented(const http_req *r) {
    const char *list = r->api->env.cfg->api_keys;
    const char *h = http_header(r, "Authorization");
    if (h && !strncasecmp(h, "Bearer ", 7)) {
        h += 7;
        while (*h == ' ')
            h++;
        if (hc_config_key_matches(list, h)) return true;
    }
    h = http_header(r, "X-Api-Key");
    return h && hc_config_key_matches(list, h);
}

static void reply_preflight(http_req *r) {
    http_status(r, HTTP_NO_CONTENT);
    http_add_header(r, "Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS, HEAD");
    http_add_header(r, "Access-Control-Allow-Headers",
                    "Authorization, X-Api-Key, Content-Type, Range");
    http_add_header(r, "Access-Control-Max-Age", "600");
}

/* The body is read as JSON whatever the type says, as the original API
 * did, for the types a JSON body arrives with in practice: none,
 * application/json (or any +json), text/plain, and
 * application/x-www-form-urlencoded (what `curl -d` sends). Form uploads
 * and other media are refused. */
static bool json_content_type(const http_req *r) {
    const char *ct = http_header(r, "Content-Type");
    if (!ct) return true;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, "; \t");
    static const char *const ok[] = {"application/json", "text/plain",
                                     "application/x-www-form-urlencoded"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (n == strlen(ok[i]) && !strncasecmp(ct, ok[i], n)) return true;
    return n > 5 && !strncasecmp(ct + n - 5, "+json", 5);
}

/* Route, method and API key: the route to run, or NULL when an error
 * response has been made. */
static const route *route_request(http_req *r) {
    hc_api *api = r->api;
    const char *rest = "";
    const route *rt = find_route(r->in->path, &rest);
    if (rt && (rt->flags & R_FILES) && !api->files) rt = NULL;
    if (!rt) {
        http_reply_error(r, HTTP_NOT_FOUND, "NOTFOUND", "no such resource");
        return NULL;
    }
    r->rest = rest;
    if (!(rt->methods & r->mbit)) {
        http_reply_error(r, HTTP_METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED",
                         "method not allowed here (see Allow)");
        http_add_header(r, "Allow", rt->allow);
        return NULL;
    }
    if (api->keys) {
        r->authed = key_presented(r);
        if (!r->authed && !(rt->flags & (R_OPEN | R_FILES))) {
            http_reply_error(r, HTTP_UNAUTHORIZED, "UNAUTHORIZED",
                             "an API key is required (Authorization: Bearer KEY or "
                             "X-Api-Key: KEY)");
            return NULL;
        }
    }
    return rt;
}

/* The checks a body route makes before its body: NULL when refused. */
static const route *check_body_route(http_req *r, bool early) {
    const route *rt = route_request(r);
    if (!rt || !(rt->flags & R_BODY)) return rt;
    if (!json_content_type(r)) {
        http_reply_error(r, HTTP_UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE",
                         "request body: Content-Type must be application/json (got "
                         "a form upload or another media type)");
        return NULL;
    }
    const char *cl = early ? http_header(r, "Content-Length") : NULL;
    if (cl) {
        errno = 0;
        char *end = NULL;
        unsigned long long v = strtoull(cl, &end, 10);
        if (errno || end == cl || v > HC_MAX_BODY_BYTES) {
            http_reply_error(r, HTTP_CONTENT_TOO_LARGE, "TOOBIG",
                             "request body: %s bytes exceeds the limit of %d", cl,
                             HC_MAX_BODY_BYTES);
            return NULL;
        }
    }
    if (!early && r->in->body_len > HC_MAX_BODY_BYTES) {
        http_reply_error(r, HTTP_CONTENT_TOO_LARGE, "TOOBIG", "request body: more than %d bytes",
                         HC_MAX_BODY_BYTES);
        return NULL;
    }
    return rt;
}

static void resp_init(hc_api_resp *resp) {
    *resp = (hc_api_resp){.status = HTTP_INTERNAL_SERVER_ERROR, .fd = -1};
}

void hc_api_handle(hc_api *api, const hc_api_req *req, hc_api_resp *resp) {
    resp_init(resp);
    http_req r = {.api = api, .in = req, .out = resp, .mbit = method_bit(req->method), .rest = ""};
    if (r.mbit == HTTP_OPTIONS) {
        reply_preflight(&r);
    } else {
        const route *rt = check_body_route(&r, false);
        if (rt) rt->handler(&r);
    }
    http_finish(&r);
}

bool hc_api_refuse_early(hc_api *api, const hc_api_req *req, hc_api_resp *resp) {
    resp_init(resp);
    http_req r = {.api = api, .in = req, .out = resp, .mbit = method_bit(req->method), .rest = ""};
    if (r.mbit == HTTP_OPTIONS || check_body_route(&r, true)) {
        hc_api_resp_fini(resp);
        resp_init(resp);
        return false;
    }
    http_finish(&r);
    return true;
}

void hc_api_error(hc_api *api, const hc_api_req *req, hc_api_resp *resp, int status,
                  const char *code, const char *fmt, ...) {
    resp_init(resp);
    http_req r = {.api = api, .in = req, .out = resp, .mbit = method_bit(req->method), .rest = ""};
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    error_body(&r, status, code, msg);
    http_finish(&r);
}

int hc_api_resp_load(hc_api_resp *resp, hc_err *err) {
    if (resp->fd < 0) return 0;
    hc_buf_fini(&resp->body);
    hc_buf_reserve(&resp->body, (size_t)resp->file_len);
    uint64_t done = 0;
    int rc = 0;
    while (done < resp->file_len) {
        ssize_t n = pread(resp->fd, resp->body.p + done, (size_t)(resp->file_len - done),
                          (off_t)(resp->file_off + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            rc = hc_err_set(err, HC_EIO, "file body: %s", n ? strerror(errno) : "file shrank");
            break;
        }
        done += (uint64_t)n;
    }
    resp->body.n = (size_t)done;
    resp->body.p[done] = 0;
    close(resp->fd);
    resp->fd = -1;
    return rc;
}

void hc_api_resp_fini(hc_api_resp *resp) {
    if (!resp) return;
    hc_strlist_fini(&resp->headers);
    hc_buf_fini(&resp->body);
    if (resp->fd >= 0) close(resp->fd);
    resp->fd = -1;
}

const char *hc_api_resp_header(const hc_api_resp *resp, const char *name) {
    size_t n = strlen(name);
    for (int i = 0; i < resp->headers.n; i++) {
        const char *h = resp->headers.v[i];
        if (!strncasecmp(h, name, n) && h[n] == ':') return h + n + 1 + (h[n + 1] == ' ');
    }
    return NULL;
}

/* ---- lifecycle and shared state ------------------------------------------------------ */

void hc_api_close(hc_api *api) {
    if (!api) return;
    pthread_mutex_destroy(&api->mu);
    free(api);
}

int hc_api_open(const hc_http_env *env, hc_api **out, hc_err *err) {
    *out = NULL;
    if (!env || !env->cfg || !env->store)
        return hc_err_set(err, HC_EINVAL, "hc_api_open: cfg and store are required");
    const hc_config *cfg = env->cfg;
    hc_api *api = hc_xcalloc(1, sizeof *api);
    api->env = *env;
    atomic_init(&api->executor, env->executor);
    atomic_init(&api->quiesced, false);
    pthread_mutex_init(&api->mu, NULL);
    int rc = 0;
    api->files = hc_storage_dir(env->storage) != NULL;
    api->keys = cfg->api_keys && cfg->api_keys[strspn(cfg->api_keys, " ,\t")];
    if (api->keys) {
        if (!cfg->data_dir) {
            rc = hc_err_set(err, HC_EINVAL, "HC_DATA_DIR is required for signed file URLs");
            goto fail;
        }
        if ((rc = hc_urlsign_key_load(cfg->data_dir, api->sign_secret, err))) goto fail;
    }
    *out = api;
    return 0;
fail:
    hc_api_close(api);
    return rc;
}

void hc_api_quiesce(hc_api *api) {
    if (api) atomic_store(&api->quiesced, true);
}

bool hc_api_quiesced(const hc_api *api) {
    return api && atomic_load(&api->quiesced);
}

void hc_api_set_executor(hc_api *api, hc_executor *x) {
    if (api) atomic_store(&api->executor, x);
}

const double http_render_bounds_s[HTTP_RENDER_BUCKETS] = {1,  2,   5,   10,  20,  30,
                                                          60, 120, 300, 600, 900, 1800};

void hc_api_observe_render(hc_api *api, double render_s, int64_t frames) {
    if (!api || !(render_s >= 0)) return;
    pthread_mutex_lock(&api->mu);
    int i = 0;
    while (i < HTTP_RENDER_BUCKETS && render_s > http_render_bounds_s[i])
        i++;
    api->render_bucket[i]++;
    api->render_sum_s += render_s;
    api->render_count++;
    if (frames > 0) {
        api->frames_total += (uint64_t)frames;
        if (render_s > 0) api->last_fps = (double)frames / render_s;
    }
    pthread_mutex_unlock(&api->mu);
}

void hc_api_job_final(hc_api *api, const char *job_id) {
    if (!api || !job_id) return;
    hc_job job = {0};
    hc_err err = {0};
    if (hc_store_get(api->env.store, job_id, &job, &err) != 0) return;
    if ((int)job.status >= 0 && job.status < HC_JOB_STATUS_COUNT) {
        pthread_mutex_lock(&api->mu);
        api->finished[job.status]++;
        pthread_mutex_unlock(&api->mu);
    }
    if (job.status == HC_JOB_COMPLETED && job.render_s > 0)
        hc_api_observe_render(api, job.render_s,
                              job.frames_done > 0 ? job.frames_done : job.frames_total);
    hc_job_fini(&job);
}
