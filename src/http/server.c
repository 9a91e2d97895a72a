/* The HTTP server: binding HC_LISTEN, libmicrohttpd's thread pool, the
 * route table, CORS, API keys, request bodies, the access log and the
 * response counters behind /metrics.
 *
 * Requests are answered on libmicrohttpd's last call for them (so the
 * connection stays open for the next one); those without a body keep no
 * per-request state. POST /render collects its body (bounded by
 * HC_MAX_BODY_BYTES, refused with 413 from Content-Length before any byte
 * is read, or once the chunks pass the limit).
 *
 * Invariant: every response goes through http_reply(), so each one carries
 * Access-Control-Allow-Origin, is counted in hydra_http_requests_total and
 * logged (at debug) with its status and duration. No header value of the
 * request (Authorization, X-Api-Key) and no body is ever logged. */
#include "http/http_int.h"

#include "dispatch/hc_dispatch.h"
#include "jobs/hc_jobs.h"
#include "store/hc_store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    LISTEN_BACKLOG = 1024,
    CONNECTION_TIMEOUT_S = 30,
    CONNECTION_LIMIT = 4096,
    /* A chunked body past the limit is drained (to answer 413) up to this
     * much; beyond it the connection is dropped. */
    DRAIN_LIMIT_BYTES = 8 * HC_MAX_BODY_BYTES,
};

/* Route flags. */
enum {
    R_OPEN = 1u << 0,   /* no API key needed */
    R_BODY = 1u << 1,   /* collects a request body */
    R_PREFIX = 1u << 2, /* path is a prefix; the handler gets the rest */
    R_FILES = 1u << 3,  /* key or URL signature (checked by the handler) */
};

typedef struct route {
    const char *path;
    unsigned flags;
    unsigned methods; /* HTTP_* bits */
    const char *allow;
    enum MHD_Result (*handler)(http_req *r);
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

/* State of a request that carries a body (POST /render). */
typedef struct body_ctx {
    const route *rt;
    int64_t t0_us;
    bool authed;
    bool too_big; /* past HC_MAX_BODY_BYTES: drained, answered 413 */
    hc_buf body;
    size_t seen; /* bytes received, kept or not */
} body_ctx;

/* ---- responses -------------------------------------------------------- */

static void access_log(const http_req *r, unsigned status) {
    char path[600], fields[800];
    hc_json_escape(path, sizeof path, r->path);
    snprintf(fields, sizeof fields,
             ",\"method\":\"%s\",\"path\":\"%s\",\"status\":%u,\"dur_ms\":%.3f",
             r->mbit == HTTP_OTHER ? "OTHER" : r->method, path, status,
             (double)(hc_now_us() - r->t0_us) / 1000.0);
    hc_log_write_fields(HC_LOG_DEBUG, "http", fields, "request");
}

enum MHD_Result http_reply(http_req *r, unsigned status, struct MHD_Response *resp) {
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
    MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                            "Content-Range, Content-Length, Location, ETag");
    /* Draining: clients on kept-alive connections reconnect (and are
     * refused) rather than keep talking to a server on its way out. */
    if (atomic_load_explicit(&r->srv->quiesced, memory_order_relaxed))
        MHD_add_response_header(resp, "Connection", "close");
    enum MHD_Result ok = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    if (status >= 100 && status < 600)
        atomic_fetch_add_explicit(&r->srv->codes[status - 100], 1, memory_order_relaxed);
    if (HC_LOG_DEBUG >= hc_log_threshold) access_log(r, status);
    return ok;
}

enum MHD_Result http_reply_json(http_req *r, unsigned status, char *json) {
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(json), json, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(json);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    return http_reply(r, status, resp);
}

struct MHD_Response *http_error_response(const char *code, const char *msg) {
    char esc_code[64], esc_msg[2048];
    hc_json_escape(esc_code, sizeof esc_code, code);
    hc_json_escape(esc_msg, sizeof esc_msg, msg);
    size_t cap = strlen(esc_code) + strlen(esc_msg) + 48;
    char *body = hc_xmalloc(cap);
    int n =
        snprintf(body, cap, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", esc_code, esc_msg);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return NULL;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    return resp;
}

enum MHD_Result http_reply_error(http_req *r, unsigned status, const char *code, const char *fmt,
                                 ...) {
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct MHD_Response *resp = http_error_response(code, msg);
    if (resp && status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    return http_reply(r, status, resp);
}

/* ---- request routing ---------------------------------------------------- */

static unsigned method_bit(const char *m) {
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

/* Authorization: Bearer K, or X-Api-Key: K, against HC_API_KEYS. */
static bool key_presented(const hc_http_server *srv, struct MHD_Connection *conn) {
    const char *list = srv->env.cfg->api_keys;
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (h && !strncasecmp(h, "Bearer ", 7)) {
        h += 7;
        while (*h == ' ')
            h++;
        if (hc_config_key_matches(list, h)) return true;
    }
    h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Api-Key");
    return h && hc_config_key_matches(list, h);
}

static enum MHD_Result reply_preflight(http_req *r) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Access-Control-Allow-Methods",
                            "GET, POST, DELETE, OPTIONS, HEAD");
    MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                            "Authorization, X-Api-Key, Content-Type, Range");
    MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
    return http_reply(r, MHD_HTTP_NO_CONTENT, resp);
}

/* application/json, with or without parameters; a missing type is taken as JSON. */
/* The body is read as JSON whatever the type says, as the original API
 * did, for the types a JSON body arrives with in practice: none,
 * application/json (or any +json), text/plain, and
 * application/x-www-form-urlencoded (what `curl -d` sends). Form uploads
 * and other media are refused. */
static bool json_content_type(struct MHD_Connection *conn) {
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
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
 * response has been queued (*ret says how that went). */
static const route *route_request(http_req *r, enum MHD_Result *ret) {
    hc_http_server *srv = r->srv;
    const char *rest = "";
    const route *rt = find_route(r->path, &rest);
    if (rt && (rt->flags & R_FILES) && !srv->outputs_real[0]) rt = NULL;
    if (!rt) {
        *ret = http_reply_error(r, MHD_HTTP_NOT_FOUND, "NOTFOUND", "no such resource");
        return NULL;
    }
    r->rest = rest;
    if (!(rt->methods & r->mbit)) {
        struct MHD_Response *resp =
            http_error_response("METHOD_NOT_ALLOWED", "method not allowed here (see Allow)");
        if (resp) MHD_add_response_header(resp, "Allow", rt->allow);
        *ret = http_reply(r, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
        return NULL;
    }
    if (srv->keys) {
        r->authed = key_presented(srv, r->conn);
        if (!r->authed && !(rt->flags & (R_OPEN | R_FILES))) {
            *ret = http_reply_error(r, MHD_HTTP_UNAUTHORIZED, "UNAUTHORIZED",
                                    "an API key is required (Authorization: Bearer KEY or "
                                    "X-Api-Key: KEY)");
            return NULL;
        }
    }
    return rt;
}

/* A request without a body, complete: answer it. */
static enum MHD_Result answer(http_req *r) {
    if (r->mbit == HTTP_OPTIONS) return reply_preflight(r);
    enum MHD_Result ret = MHD_YES;
    const route *rt = route_request(r, &ret);
    return rt ? rt->handler(r) : ret;
}

/* The headers of a POST to a body route: refuse it at once (401, 415, 413
 * from Content-Length: the body is then never read and the connection is
 * closed) or start collecting the body. */
static enum MHD_Result begin_body(http_req *r, void **con_cls) {
    enum MHD_Result ret = MHD_YES;
    const route *rt = route_request(r, &ret);
    if (!rt) return ret;
    if (!json_content_type(r->conn))
        return http_reply_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE",
                                "request body: Content-Type must be application/json (got "
                                "a form upload or another media type)");
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
    size_t want = 0;
    if (cl) {
        errno = 0;
        char *end = NULL;
        unsigned long long v = strtoull(cl, &end, 10);
        if (errno || end == cl || v > HC_MAX_BODY_BYTES)
            return http_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "TOOBIG",
                                    "request body: %s bytes exceeds the limit of %d", cl,
                                    HC_MAX_BODY_BYTES);
        want = (size_t)v;
    }
    body_ctx *b = hc_xcalloc(1, sizeof *b);
    b->rt = rt;
    b->t0_us = r->t0_us;
    b->authed = r->authed;
    /* Grown as bytes arrive: a claimed length reserves little. */
    hc_buf_reserve(&b->body, want && want < 65536 ? want : 65536);
    *con_cls = b;
    return MHD_YES;
}

static void body_append(body_ctx *b, const char *data, size_t n) {
    b->seen += n;
    if (b->too_big) return;
    if (b->body.n + n > HC_MAX_BODY_BYTES) {
        b->too_big = true;
        hc_buf_fini(&b->body);
        return;
    }
    hc_buf_put(&b->body, data, n);
}

/* A body on a route that takes none, too large (or of unknown length) to
 * read and drop. */
static bool unwanted_body(struct MHD_Connection *conn) {
    if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding")) return true;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    return cl && strtoull(cl, NULL, 10) > 65536;
}

/* Marks a request without a body between its first and last call. */
static char no_body;

/* libmicrohttpd calls this once with the headers, then with each piece of
 * the body, then once more with none. Answers are queued on the last call
 * only (but for refused uploads): libmicrohttpd 0.9.75 closes the
 * connection after a response queued on the first call, and keep-alive is
 * what makes small requests cheap. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
    (void)version;
    http_req r = {.srv = cls, .conn = conn, .method = method, .path = url, .rest = ""};
    r.mbit = method_bit(method);
    if (!*con_cls) {
        const char *rest;
        const route *rt = r.mbit == HTTP_POST ? find_route(url, &rest) : NULL;
        if (rt && (rt->flags & R_BODY)) {
            r.t0_us = hc_now_us();
            return begin_body(&r, con_cls);
        }
        if (unwanted_body(conn)) { /* answer now: the body is then never read */
            r.t0_us = hc_now_us();
            return answer(&r);
        }
        *con_cls = &no_body;
        return MHD_YES;
    }
    if (*con_cls == &no_body) {
        if (*upload_data_size) { /* a body nobody asked for */
            *upload_data_size = 0;
            return MHD_YES;
        }
        r.t0_us = hc_now_us();
        return answer(&r);
    }
    body_ctx *b = *con_cls;
    if (*upload_data_size) {
        body_append(b, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return b->seen > DRAIN_LIMIT_BYTES ? MHD_NO : MHD_YES;
    }
    r.t0_us = b->t0_us;
    r.authed = b->authed;
    if (b->too_big)
        return http_reply_error(&r, MHD_HTTP_CONTENT_TOO_LARGE, "TOOBIG",
                                "request body: more than %d bytes", HC_MAX_BODY_BYTES);
    r.body = b->body.p ? b->body.p : "";
    r.body_len = b->body.n;
    return b->rt->handler(&r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)conn;
    (void)toe;
    body_ctx *b = *con_cls;
    *con_cls = NULL;
    if (!b || b == (void *)&no_body) return;
    hc_buf_fini(&b->body);
    free(b);
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decoding of the path and query arguments, except that %00 is
 * kept as the three characters: a NUL would cut a file key short. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s) {
    (void)cls;
    (void)conn;
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

/* libmicrohttpd's own messages: client trouble is debug noise; running out
 * of connections or threads is worth a warning. */
static void mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = 0;
    bool serious = strstr(msg, "limit") || strstr(msg, "Failed to create") ||
                   strstr(msg, "Failed to start") || strstr(msg, "thread");
    if (serious)
        HC_WARN("http", "libmicrohttpd: %s", msg);
    else
        HC_DEBUG("http", "libmicrohttpd: %s", msg);
}

/* ---- binding -------------------------------------------------------------- */

/* Split "HOST:PORT", "[V6]:PORT" or ":PORT" (all interfaces). */
static int split_listen(const char *spec, char *host, size_t hcap, char *port, size_t pcap,
                        hc_err *err) {
    const char *colon;
    const char *h = spec;
    size_t hlen;
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (!close || close[1] != ':') goto bad;
        h = spec + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(spec, ':');
        if (!colon) goto bad;
        hlen = (size_t)(colon - spec);
    }
    if (hlen >= hcap) goto bad;
    memcpy(host, h, hlen);
    host[hlen] = 0;
    if (!hlen) snprintf(host, hcap, "0.0.0.0");
    const char *p = colon + 1;
    size_t plen = strlen(p);
    if (plen == 0 || plen > 5 || plen >= pcap || strspn(p, "0123456789") != plen || atol(p) > 65535)
        goto bad;
    memcpy(port, p, plen + 1);
    return 0;
bad:
    return hc_err_set(err, HC_EINVAL,
                      "HC_LISTEN: expected HOST:PORT, [IPV6]:PORT or :PORT (got \"%s\")", spec);
}

/* A listening socket for spec (HC_LISTEN); *url gets the URL clients can use
 * (a wildcard address is reported as the loopback one). */
static int open_listener(const char *spec, int *fd_out, bool *v6, char *url, size_t url_cap,
                         hc_err *err) {
    char host[256], port[8];
    int rc = split_listen(spec, host, sizeof host, port, sizeof port, err);
    if (rc) return rc;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) return hc_err_set(err, HC_EINVAL, "HC_LISTEN %s: %s", spec, gai_strerror(gai));
    const struct addrinfo *ai = res;
    for (const struct addrinfo *a = res; a; a = a->ai_next)
        if (a->ai_family == AF_INET) {
            ai = a;
            break;
        }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0) {
        rc = hc_err_set(err, HC_EIO, "HC_LISTEN %s: socket: %s", spec, strerror(errno));
        goto done;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        rc = hc_err_set(err, HC_EIO, "HC_LISTEN %s: %s", spec, strerror(errno));
        goto done;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        rc = hc_err_set(err, HC_EIO, "HC_LISTEN %s: getsockname: %s", spec, strerror(errno));
        goto done;
    }
    char num[INET6_ADDRSTRLEN] = "";
    unsigned bound_port;
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
        bound_port = ntohs(s6->sin6_port);
        if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
            snprintf(num, sizeof num, "::1");
        else
            inet_ntop(AF_INET6, &s6->sin6_addr, num, sizeof num);
        snprintf(url, url_cap, "http://[%s]:%u", num, bound_port);
        *v6 = true;
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
        bound_port = ntohs(s4->sin_port);
        if (s4->sin_addr.s_addr == htonl(INADDR_ANY))
            snprintf(num, sizeof num, "127.0.0.1");
        else
            inet_ntop(AF_INET, &s4->sin_addr, num, sizeof num);
        snprintf(url, url_cap, "http://%s:%u", num, bound_port);
        *v6 = false;
    }
    *fd_out = fd;
    fd = -1;
done:
    if (fd >= 0) close(fd);
    freeaddrinfo(res);
    return rc;
}

/* ---- lifecycle ------------------------------------------------------------ */

static char *files_prefix(const char *base) {
    if (!base || !*base) return NULL;
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    char *p = hc_xmalloc(n + 8);
    memcpy(p, base, n);
    memcpy(p + n, "/files/", 8);
    return p;
}

static void server_free(hc_http_server *srv) {
    if (!srv) return;
    free(srv->file_prefix[0]);
    free(srv->file_prefix[1]);
    pthread_mutex_destroy(&srv->mu);
    free(srv);
}

int hc_http_start(const hc_http_env *env, hc_http_server **out, hc_err *err) {
    *out = NULL;
    if (!env || !env->cfg || !env->store)
        return hc_err_set(err, HC_EINVAL, "hc_http_start: cfg and store are required");
    const hc_config *cfg = env->cfg;
    hc_http_server *srv = hc_xcalloc(1, sizeof *srv);
    srv->env = *env;
    atomic_init(&srv->executor, env->executor);
    atomic_init(&srv->quiesced, false);
    pthread_mutex_init(&srv->mu, NULL);
    int rc = 0, fd = -1;
    bool v6 = false;

    if (env->outputs_dir) {
        if (!realpath(env->outputs_dir, srv->outputs_real)) {
            rc = hc_err_set(err, HC_EIO, "outputs directory %s: %s", env->outputs_dir,
                            strerror(errno));
            goto fail;
        }
        srv->outputs_real_len = strlen(srv->outputs_real);
    }
    srv->keys = cfg->api_keys && cfg->api_keys[strspn(cfg->api_keys, " ,\t")];
    if (srv->keys) {
        if (!cfg->data_dir) {
            rc = hc_err_set(err, HC_EINVAL, "HC_DATA_DIR is required for signed file URLs");
            goto fail;
        }
        if ((rc = hc_urlsign_key_load(cfg->data_dir, srv->sign_secret, err))) goto fail;
    }
    if ((rc = open_listener(cfg->listen && *cfg->listen ? cfg->listen : "127.0.0.1:8080", &fd, &v6,
                            srv->url, sizeof srv->url, err)))
        goto fail;
    srv->file_prefix[0] = files_prefix(cfg->public_url);
    srv->file_prefix[1] = files_prefix(srv->url);

    /* Connections: stay well inside the descriptor limit. */
    unsigned limit = CONNECTION_LIMIT;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur / 2 < limit)
        limit = rl.rlim_cur > 128 ? (unsigned)(rl.rlim_cur / 2) : 64;
    int cores = hc_cpu_count();
    unsigned threads = cores < 2 ? 2u : (unsigned)cores;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES) flags |= MHD_USE_EPOLL;
    if (v6) flags |= MHD_USE_IPv6;
    /* The logger first, so every message of the start goes through it. */
    srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
                                mhd_log, srv, MHD_OPTION_LISTEN_SOCKET, fd,
                                MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT,
                                (unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT, limit,
                                MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
                                MHD_OPTION_UNESCAPE_CALLBACK, unescape, srv, MHD_OPTION_END);
    if (!srv->mhd) {
        /* libmicrohttpd closes the socket on some failure paths only. */
        if (fcntl(fd, F_GETFD) != -1) close(fd);
        rc = hc_err_set(err, HC_EIO, "HC_LISTEN %s: cannot start the HTTP server", cfg->listen);
        goto fail;
    }
    HC_DEBUG("http", "serving %s with %u threads, %u connections", srv->url, threads, limit);
    *out = srv;
    return 0;
fail:
    server_free(srv);
    return rc;
}

const char *hc_http_url(const hc_http_server *srv) {
    return srv->url;
}

void hc_http_quiesce(hc_http_server *srv) {
    if (!srv || atomic_exchange(&srv->quiesced, true)) return;
    MHD_socket fd = MHD_quiesce_daemon(srv->mhd);
    if (fd != MHD_INVALID_SOCKET) close(fd);
}

void hc_http_stop(hc_http_server *srv) {
    if (!srv) return;
    MHD_stop_daemon(srv->mhd);
    server_free(srv);
}

void hc_http_set_executor(hc_http_server *srv, hc_executor *x) {
    if (srv) atomic_store(&srv->executor, x);
}

const double http_render_bounds_s[HTTP_RENDER_BUCKETS] = {1,  2,   5,   10,  20,  30,
                                                          60, 120, 300, 600, 900, 1800};

void hc_http_observe_render(hc_http_server *srv, double render_s, int64_t frames) {
    if (!srv || !(render_s >= 0)) return;
    pthread_mutex_lock(&srv->mu);
    int i = 0;
    while (i < HTTP_RENDER_BUCKETS && render_s > http_render_bounds_s[i])
        i++;
    srv->render_bucket[i]++;
    srv->render_sum_s += render_s;
    srv->render_count++;
    if (frames > 0) {
        srv->frames_total += (uint64_t)frames;
        if (render_s > 0) srv->last_fps = (double)frames / render_s;
    }
    pthread_mutex_unlock(&srv->mu);
}

void hc_http_job_final(hc_http_server *srv, const char *job_id) {
    if (!srv || !job_id) return;
    hc_job job = {0};
    hc_err err = {0};
    if (hc_store_get(srv->env.store, job_id, &job, &err) != 0) return;
    if ((int)job.status >= 0 && job.status < HC_JOB_STATUS_COUNT) {
        pthread_mutex_lock(&srv->mu);
        srv->finished[job.status]++;
        pthread_mutex_unlock(&srv->mu);
    }
    if (job.status == HC_JOB_COMPLETED && job.render_s > 0)
        hc_http_observe_render(srv, job.render_s,
                               job.frames_done > 0 ? job.frames_done : job.frames_total);
    hc_job_fini(&job);
}
