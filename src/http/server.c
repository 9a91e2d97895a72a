/* The HTTP server: binding HC_LISTEN, libmicrohttpd's thread pool and
 * the adaptation of its requests to hc_api_handle (handle.c), which does
 * the routing, CORS, API keys, the access log and the counters.
 *
 * Requests are answered on libmicrohttpd's last call for them (so the
 * connection stays open for the next one); those without a body keep no
 * per-request state. POST /render collects its body (bounded by
 * HC_MAX_BODY_BYTES, refused with 413 from Content-Length before any byte
 * is read, or once the chunks pass the limit).
 *
 * Invariant: every response is made by hc_api_handle, hc_api_refuse_early
 * or hc_api_error, so the server and the Lambda loop answer alike; file
 * bodies are sent from their descriptor, never copied. */
#include "http/hc_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
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
    /* Request headers and query arguments passed on (the rest are dropped). */
    MAX_FIELDS = 128,
};

struct hc_http_server {
    hc_api *api;
    struct MHD_Daemon *mhd;
    char url[96]; /* "http://HOST:PORT" */
};

/* State of a request that carries a body (POST /render). */
typedef struct body_ctx {
    int64_t t0_us;
    bool too_big; /* past HC_MAX_BODY_BYTES: drained, answered 413 */
    hc_buf body;
    size_t seen; /* bytes received, kept or not */
} body_ctx;

/* ---- requests and responses ------------------------------------------------- */

typedef struct fields {
    hc_api_kv v[MAX_FIELDS];
    int n;
} fields;

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value) {
    (void)kind;
    fields *f = cls;
    if (f->n >= MAX_FIELDS) return MHD_NO;
    f->v[f->n++] = (hc_api_kv){key, value ? value : ""};
    return MHD_YES;
}

/* The request as hc_api sees it; hv and qv hold its fields. */
static void make_req(struct MHD_Connection *conn, const char *method, const char *url,
                     int64_t t0_us, fields *hv, fields *qv, hc_api_req *req) {
    hv->n = qv->n = 0;
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect, hv);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect, qv);
    *req = (hc_api_req){.method = method,
                        .path = url,
                        .query = qv->v,
                        .n_query = qv->n,
                        .headers = hv->v,
                        .n_headers = hv->n,
                        .t0_us = t0_us};
}

/* Queue resp (and fini it). */
static enum MHD_Result send_resp(struct MHD_Connection *conn, hc_api_resp *resp) {
    struct MHD_Response *m;
    if (resp->fd >= 0) {
        m = MHD_create_response_from_fd_at_offset64(resp->file_len, resp->fd,
                                                    (int64_t)resp->file_off);
        if (m) resp->fd = -1; /* libmicrohttpd closes it */
    } else if (resp->body.n) {
        m = MHD_create_response_from_buffer(resp->body.n, resp->body.p, MHD_RESPMEM_MUST_FREE);
        if (m) resp->body = (hc_buf){0};
    } else {
        m = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    }
    enum MHD_Result ok = MHD_NO;
    if (m) {
        for (int i = 0; i < resp->headers.n; i++) {
            char *h = resp->headers.v[i], *colon = strchr(h, ':');
            if (!colon) continue;
            *colon = 0;
            const char *v = colon + 1;
            while (*v == ' ')
                v++;
            MHD_add_response_header(m, h, v);
        }
        ok = MHD_queue_response(conn, (unsigned)resp->status, m);
        MHD_destroy_response(m);
    }
    hc_api_resp_fini(resp);
    return ok;
}

/* A complete request (body may be NULL): answer it. */
static enum MHD_Result answer(hc_http_server *srv, struct MHD_Connection *conn, const char *method,
                              const char *url, int64_t t0_us, const body_ctx *b) {
    fields hv, qv;
    hc_api_req req;
    hc_api_resp resp;
    make_req(conn, method, url, t0_us, &hv, &qv, &req);
    if (b && b->too_big) {
        hc_api_error(srv->api, &req, &resp, 413, "TOOBIG", "request body: more than %d bytes",
                     HC_MAX_BODY_BYTES);
    } else {
        if (b) {
            req.body = b->body.p ? b->body.p : "";
            req.body_len = b->body.n;
        }
        hc_api_handle(srv->api, &req, &resp);
    }
    return send_resp(conn, &resp);
}

/* The headers of a POST to a body route: refuse it at once (401, 415, 413
 * from Content-Length: the body is then never read and the connection is
 * closed) or start collecting the body. */
static enum MHD_Result begin_body(hc_http_server *srv, struct MHD_Connection *conn,
                                  const char *method, const char *url, void **con_cls) {
    fields hv, qv;
    hc_api_req req;
    hc_api_resp resp;
    int64_t t0 = hc_now_us();
    make_req(conn, method, url, t0, &hv, &qv, &req);
    if (hc_api_refuse_early(srv->api, &req, &resp)) return send_resp(conn, &resp);
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    size_t want = cl ? (size_t)strtoull(cl, NULL, 10) : 0;
    body_ctx *b = hc_xcalloc(1, sizeof *b);
    b->t0_us = t0;
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
    hc_http_server *srv = cls;
    if (!*con_cls) {
        if (hc_api_takes_body(method, url)) return begin_body(srv, conn, method, url, con_cls);
        if (unwanted_body(conn)) /* answer now: the body is then never read */
            return answer(srv, conn, method, url, hc_now_us(), NULL);
        *con_cls = &no_body;
        return MHD_YES;
    }
    if (*con_cls == &no_body) {
        if (*upload_data_size) { /* a body nobody asked for */
            *upload_data_size = 0;
            return MHD_YES;
        }
        return answer(srv, conn, method, url, hc_now_us(), NULL);
    }
    body_ctx *b = *con_cls;
    if (*upload_data_size) {
        body_append(b, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return b->seen > DRAIN_LIMIT_BYTES ? MHD_NO : MHD_YES;
    }
    return answer(srv, conn, method, url, b->t0_us, b);
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

/* Percent-decoding of the path and query arguments, except that %00 is
 * kept as the three characters: a NUL would cut a file key short. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s) {
    (void)cls;
    (void)conn;
    return hc_api_unescape(s);
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

static void server_free(hc_http_server *srv) {
    if (!srv) return;
    hc_api_close(srv->api);
    free(srv);
}

int hc_http_start(const hc_http_env *env, hc_http_server **out, hc_err *err) {
    *out = NULL;
    if (!env || !env->cfg || !env->store)
        return hc_err_set(err, HC_EINVAL, "hc_http_start: cfg and store are required");
    const hc_config *cfg = env->cfg;
    hc_http_server *srv = hc_xcalloc(1, sizeof *srv);
    int rc = 0, fd = -1;
    bool v6 = false;
    if ((rc = open_listener(cfg->listen && *cfg->listen ? cfg->listen : "127.0.0.1:8080", &fd, &v6,
                            srv->url, sizeof srv->url, err)))
        goto fail;
    if ((rc = hc_api_open(env, &srv->api, err))) {
        close(fd);
        goto fail;
    }

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
    if (!srv || hc_api_quiesced(srv->api)) return;
    hc_api_quiesce(srv->api);
    MHD_socket fd = MHD_quiesce_daemon(srv->mhd);
    if (fd != MHD_INVALID_SOCKET) close(fd);
}

void hc_http_stop(hc_http_server *srv) {
    if (!srv) return;
    MHD_stop_daemon(srv->mhd);
    server_free(srv);
}

void hc_http_set_executor(hc_http_server *srv, hc_executor *x) {
    if (srv) hc_api_set_executor(srv->api, x);
}

void hc_http_observe_render(hc_http_server *srv, double render_s, int64_t frames) {
    if (srv) hc_api_observe_render(srv->api, render_s, frames);
}

void hc_http_job_final(hc_http_server *srv, const char *job_id) {
    if (srv) hc_api_job_final(srv->api, job_id);
}
