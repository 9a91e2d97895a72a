/* The outgoing HTTP client (hc_core.h "outgoing HTTP"): one libcurl easy
 * handle per call, driven through a one-handle multi so the caller's
 * progress/cancel hook is consulted at least every POLL_MS, retries with
 * back-off, the private-address guard as a per-policy option, and URLs
 * redacted wherever they are logged or put into messages.
 *
 * Invariants:
 *  - an attempt starts from a clean slate: response headers and body are
 *    reset (on_reset for a caller's sink), the request body re-read from its
 *    start, prepare called again (fresh signatures);
 *  - a guard refusal, a malformed URL, a refused protocol, a body over the
 *    cap and a caller's stop are final: never retried;
 *  - nothing here logs a query string, user info or a header value. */
#include "core/hc_core.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define COMP       "httpc"
#define USER_AGENT "hydra-compose/0.1"
#define POLL_MS    100

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;
static void curl_init_once(void) {
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- URLs ------------------------------------------------------------------- */

void hc_url_redact(const char *url, char *buf, size_t len) {
    if (!len) return;
    if (!url) {
        snprintf(buf, len, "(no URL)");
        return;
    }
    const char *p = url, *auth = strstr(url, "://");
    size_t o = 0;
    if (auth) {
        auth += 3;
        size_t alen = strcspn(auth, "/?#");
        const char *at = NULL;
        for (const char *q = auth; q < auth + alen; q++)
            if (*q == '@') at = q;
        size_t k = (size_t)(auth - url);
        if (k > len - 1) k = len - 1;
        memcpy(buf, url, k);
        o = k;
        p = at ? at + 1 : auth;
    }
    for (; *p && *p != '?' && *p != '#' && o + 1 < len; p++)
        buf[o++] = *p;
    buf[o] = 0;
}

void hc_url_fini(hc_url *u) {
    if (!u) return;
    free(u->host);
    free(u->path);
    free(u->query);
    free(u->user);
    memset(u, 0, sizeof *u);
}

static char *url_part(CURLU *cu, CURLUPart part) {
    char *v = NULL;
    if (curl_url_get(cu, part, &v, 0) != CURLUE_OK || !v) return NULL;
    char *copy = hc_strdup(v);
    curl_free(v);
    return copy;
}

int hc_url_parse(const char *url, hc_url *out, hc_err *err) {
    memset(out, 0, sizeof *out);
    char shown[512];
    hc_url_redact(url, shown, sizeof shown);
    CURLU *cu = curl_url();
    if (!cu) return hc_err_set(err, HC_ENOMEM, "cannot parse a URL: out of memory");
    CURLUcode uc = url ? curl_url_set(cu, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME)
                       : CURLUE_MALFORMED_INPUT;
    if (uc != CURLUE_OK) {
        curl_url_cleanup(cu);
        return hc_err_set(err, HC_EINVAL, "invalid URL %s: %s", shown, curl_url_strerror(uc));
    }
    char *scheme = url_part(cu, CURLUPART_SCHEME);
    snprintf(out->scheme, sizeof out->scheme, "%s", scheme ? scheme : "");
    free(scheme);
    for (char *c = out->scheme; *c; c++)
        if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
    out->host = url_part(cu, CURLUPART_HOST);
    if (out->host && out->host[0] == '[') { /* IPv6 literal: without brackets */
        size_t n = strlen(out->host);
        memmove(out->host, out->host + 1, n - 1);
        out->host[n - 2] = 0;
    }
    char *port = url_part(cu, CURLUPART_PORT);
    out->port_given = port != NULL;
    free(port);
    char *dport = NULL;
    if (curl_url_get(cu, CURLUPART_PORT, &dport, CURLU_DEFAULT_PORT) == CURLUE_OK && dport)
        out->port = atoi(dport);
    curl_free(dport);
    out->path = url_part(cu, CURLUPART_PATH);
    if (!out->path) out->path = hc_strdup("/");
    out->query = url_part(cu, CURLUPART_QUERY);
    out->user = url_part(cu, CURLUPART_USER);
    curl_url_cleanup(cu);
    if (!out->host || !out->host[0]) {
        hc_url_fini(out);
        return hc_err_set(err, HC_EINVAL, "invalid URL %s: no host", shown);
    }
    return 0;
}

void hc_url_encode(hc_buf *out, const char *s, size_t n, bool keep_slash) {
    static const char hex[] = "0123456789ABCDEF";
    hc_buf_reserve(out, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
            hc_buf_put(out, &s[i], 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            hc_buf_put(out, e, 3);
        }
    }
}

/* ---- the guard on a handle ---------------------------------------------------- */

typedef struct guard {
    const char *allow;
    CURL *curl;
    char refused[160];
} guard;

/* Every connection libcurl makes (each address tried, each redirect hop)
 * passes here with the resolved address; the URL being fetched names the
 * host the allow list may match. */
static curl_socket_t guard_open(void *clientp, curlsocktype purpose, struct curl_sockaddr *a) {
    guard *g = clientp;
    if (purpose == CURLSOCKTYPE_IPCXN) {
        char why[sizeof g->refused];
        char *eff = NULL;
        hc_url u;
        memset(&u, 0, sizeof u);
        const char *host = NULL;
        if (curl_easy_getinfo(g->curl, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff &&
            hc_url_parse(eff, &u, NULL) == 0)
            host = u.host;
        bool ok = hc_url_guard_allows(&a->addr, host, g->allow, why, sizeof why);
        hc_url_fini(&u);
        if (!ok) {
            if (!g->refused[0]) snprintf(g->refused, sizeof g->refused, "%s", why);
            return CURL_SOCKET_BAD;
        }
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* ---- one call ----------------------------------------------------------------- */

typedef struct call {
    const hc_httpc_policy *pol;
    const hc_httpc_req *req;
    hc_httpc_resp *resp;
    int64_t max_body;
    long status;        /* of the header block being received */
    bool in_headers;    /* a new block starts with the next header line */
    bool too_big, stopped;
    int body_fd;        /* body_path, opened once */
    int64_t sent;       /* request body bytes handed to libcurl this attempt */
    long retry_after_s; /* of the last response, -1 when none */
    guard g;
} call;

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud) {
    call *c = ud;
    size_t len = size * nitems;
    if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        const char *sp = memchr(buf, ' ', len);
        c->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        c->resp->headers.n = 0;
        if (c->resp->headers.p) c->resp->headers.p[0] = 0;
        c->retry_after_s = -1;
        hc_buf_put(&c->resp->headers, buf, len);
        return len;
    }
    hc_buf_put(&c->resp->headers, buf, len);
    if (len <= 2 && (buf[0] == '\r' || buf[0] == '\n')) {
        char ra[64];
        if (hc_httpc_header(c->resp, "retry-after", ra, sizeof ra)) {
            char *e;
            long s = strtol(ra, &e, 10);
            if (e != ra && *e == 0 && s >= 0) {
                c->retry_after_s = s;
            } else {
                time_t when = curl_getdate(ra, NULL);
                if (when > 0) c->retry_after_s = when > time(NULL) ? (long)(when - time(NULL)) : 0;
            }
        }
        if (c->req->on_headers && !c->req->on_headers(c->req->ud, c->status, c->resp)) {
            c->stopped = true;
            return 0;
        }
    }
    return len;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
    call *c = ud;
    size_t len = size * nmemb;
    if (c->req->on_data) {
        if (!c->req->on_data(c->req->ud, data, len)) {
            c->stopped = true;
            return 0;
        }
        return len;
    }
    if (c->max_body > 0 && (int64_t)(c->resp->body.n + len) > c->max_body) {
        c->too_big = true;
        return 0;
    }
    hc_buf_put(&c->resp->body, data, len);
    return len;
}

static size_t on_read(char *dst, size_t size, size_t nitems, void *ud) {
    call *c = ud;
    size_t want = size * nitems;
    int64_t left = (int64_t)c->req->body_len - c->sent;
    if (left <= 0) return 0;
    if ((int64_t)want > left) want = (size_t)left;
    if (c->req->body_path) {
        ssize_t r;
        do
            r = pread(c->body_fd, dst, want, (off_t)(c->req->body_off + c->sent));
        while (r < 0 && errno == EINTR);
        if (r <= 0) return CURL_READFUNC_ABORT;
        want = (size_t)r;
    } else {
        memcpy(dst, (const char *)c->req->body + c->sent, want);
    }
    c->sent += (int64_t)want;
    return want;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
    call *c = ud;
    if (c->req->on_progress &&
        !c->req->on_progress(c->req->ud, dlnow, dltotal, ulnow, ultotal)) {
        c->stopped = true;
        return 1;
    }
    return 0;
}

static bool retriable_curl(CURLcode rc) {
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
        return true;
    default:
        return false;
    }
}

static bool default_retry_status(long st) {
    return st == 408 || st == 429 || st == 500 || st == 502 || st == 503 || st == 504;
}

/* One transfer on a one-handle multi, asking the caller's hook between
 * polls (at most POLL_MS apart) whether to stop. */
static CURLcode perform(CURLM *m, CURL *h, call *c) {
    CURLcode res = CURLE_OK;
    if (curl_multi_add_handle(m, h) != CURLM_OK) return CURLE_FAILED_INIT;
    for (int running = 1;;) {
        if (curl_multi_perform(m, &running) != CURLM_OK) {
            res = CURLE_FAILED_INIT;
            break;
        }
        int left;
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left)))
            if (msg->msg == CURLMSG_DONE) res = msg->data.result;
        if (!running) break;
        if (on_progress(c, 0, 0, 0, 0)) {
            res = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        if (curl_multi_poll(m, NULL, 0, POLL_MS, NULL) != CURLM_OK) {
            res = CURLE_FAILED_INIT;
            break;
        }
    }
    curl_multi_remove_handle(m, h);
    return res;
}

/* Sleep ms, asking the caller's hook every POLL_MS; true when stopped. */
static bool pause_ms(call *c, long ms) {
    int64_t until = hc_now_us() + (int64_t)ms * 1000;
    for (;;) {
        int64_t left = (until - hc_now_us()) / 1000;
        if (left <= 0) return false;
        struct timespec ts = {0, (left < POLL_MS ? left : POLL_MS) * 1000000L};
        nanosleep(&ts, NULL);
        if (on_progress(c, 0, 0, 0, 0)) return true;
    }
}

static void set_options(CURL *h, call *c, struct curl_slist *hl, char *errbuf) {
    const hc_httpc_policy *p = c->pol;
    const hc_httpc_req *r = c->req;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, r->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    const char *protocols = p->protocols ? p->protocols : "http,https";
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols);
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
#else
    (void)protocols;
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    if (p->max_redirects > 0) {
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)p->max_redirects);
    }
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(p->connect_timeout_ms > 0 ? p->connect_timeout_ms : 5000));
    if (p->timeout_ms > 0) curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)p->timeout_ms);
    if (p->idle_timeout_s >= 0) {
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                         (long)(p->idle_timeout_s > 0 ? p->idle_timeout_s : 30));
    }
    curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
    if (p->decode_content) curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);

    bool has_body = r->body || r->body_path;
    const char *method = r->method ? r->method : has_body ? "POST" : "GET";
    if (has_body) {
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, c);
        if (!strcmp(method, "PUT")) {
            curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
        } else {
            curl_easy_setopt(h, CURLOPT_POST, 1L);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
            if (strcmp(method, "POST")) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        }
    } else if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(method, "PUT")) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)0);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, c);
    } else if (!strcmp(method, "POST")) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    } else if (strcmp(method, "GET")) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    if (p->guard) {
        c->g.curl = h;
        c->g.allow = p->url_allow;
        c->g.refused[0] = 0;
        curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, guard_open);
        curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &c->g);
        /* No proxy from the environment: through one, the guard would judge
         * the proxy's address and the proxy would reach the private network. */
        curl_easy_setopt(h, CURLOPT_PROXY, "");
    }
}

void hc_httpc_resp_fini(hc_httpc_resp *r) {
    if (!r) return;
    hc_buf_fini(&r->body);
    hc_buf_fini(&r->headers);
    memset(r, 0, sizeof *r);
}

bool hc_httpc_header(const hc_httpc_resp *r, const char *name, char *buf, size_t len) {
    if (len) buf[0] = 0;
    if (!r->headers.p) return false;
    size_t nl = strlen(name);
    for (const char *line = r->headers.p; *line;) {
        const char *end = strchr(line, '\n');
        size_t ll = end ? (size_t)(end - line) : strlen(line);
        if (ll > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1, *e = line + ll;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
                e--;
            size_t vl = (size_t)(e - v);
            if (len) {
                if (vl >= len) vl = len - 1;
                memcpy(buf, v, vl);
                buf[vl] = 0;
            }
            return true;
        }
        if (!end) break;
        line = end + 1;
    }
    return false;
}

int hc_httpc_do(const hc_httpc_policy *pol, const hc_httpc_req *req, hc_httpc_resp *resp,
                hc_err *err) {
    static const hc_httpc_policy defaults = {.name = "http"};
    if (!pol) pol = &defaults;
    memset(resp, 0, sizeof *resp);
    hc_buf_reserve(&resp->body, 0);
    hc_buf_reserve(&resp->headers, 0);
    const char *name = pol->name ? pol->name : "http";
    char shown[512];
    hc_url_redact(req->url, shown, sizeof shown);
    if (!req->url || !*req->url) return hc_err_set(err, HC_EINVAL, "%s: no URL", name);
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK)
        return hc_err_set(err, HC_EINTERNAL, "%s: libcurl initialisation failed: %s", name,
                          curl_easy_strerror(curl_init_rc));

    call c = {.pol = pol, .req = req, .resp = resp, .max_body = pol->max_body_bytes, .body_fd = -1};
    if (req->body_path) {
        c.body_fd = open(req->body_path, O_RDONLY | O_CLOEXEC);
        if (c.body_fd < 0)
            return hc_err_set(err, HC_EIO, "%s: cannot read %s: %s", name, req->body_path,
                              strerror(errno));
    }
    CURL *h = curl_easy_init();
    CURLM *m = curl_multi_init();
    int rc = 0;
    if (!h || !m) {
        rc = hc_err_set(err, HC_ENOMEM, "%s: cannot create a libcurl handle", name);
        goto out;
    }
    int max_attempts = pol->max_attempts > 1 ? pol->max_attempts : 1;
    long backoff = pol->backoff_ms > 0 ? pol->backoff_ms : 250;
    long cap = pol->max_backoff_ms > 0 ? pol->max_backoff_ms : 20000;
    uint64_t rng = (uint64_t)hc_now_us() ^ (uint64_t)(uintptr_t)&c;
    int64_t t0 = hc_now_us();

    for (int attempt = 1;; attempt++) {
        resp->attempts = attempt;
        resp->status = 0;
        resp->body.n = 0;
        resp->body.p[0] = 0;
        resp->headers.n = 0;
        resp->headers.p[0] = 0;
        if (attempt > 1 && req->on_reset) req->on_reset(req->ud);
        c.sent = 0;
        c.status = 0;
        c.too_big = c.stopped = false;
        c.retry_after_s = -1;

        hc_strlist extra = {0};
        if (req->prepare && (rc = req->prepare(req->ud, req, attempt, &extra, err)) != 0) {
            hc_strlist_fini(&extra);
            goto out;
        }
        struct curl_slist *hl = NULL;
        for (int i = 0; req->headers && req->headers[i]; i++)
            hl = curl_slist_append(hl, req->headers[i]);
        for (int i = 0; i < extra.n; i++)
            hl = curl_slist_append(hl, extra.v[i]);
        hl = curl_slist_append(hl, "Expect:"); /* no 100-continue round trip */
        char errbuf[CURL_ERROR_SIZE] = "";
        set_options(h, &c, hl, errbuf);
        CURLcode cc = perform(m, h, &c);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (!status) status = c.status;
        char *eff = NULL;
        if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff)
            hc_url_redact(eff, resp->effective_url, sizeof resp->effective_url);
        curl_slist_free_all(hl);
        hc_strlist_fini(&extra);
        const char *cerr = errbuf[0] ? errbuf : curl_easy_strerror(cc);

        if (c.stopped) {
            rc = hc_err_set(err, HC_ECANCELED, "%s: %s stopped", name, shown);
            goto out;
        }
        if (cc != CURLE_OK && c.g.refused[0]) {
            rc = hc_err_set(err, HC_EINVAL, "%s; set HC_URL_ALLOW to allow it", c.g.refused);
            goto out;
        }
        if (c.too_big) {
            rc = hc_err_set(err, HC_ETOOBIG, "%s: response from %s is over %lld bytes", name,
                            shown, (long long)c.max_body);
            goto out;
        }
        if (cc == CURLE_URL_MALFORMAT) {
            rc = hc_err_set(err, HC_EINVAL, "invalid URL %s: %s", shown, cerr);
            goto out;
        }
        if (cc == CURLE_UNSUPPORTED_PROTOCOL) {
            rc = hc_err_set(err, HC_EINVAL, "%s: %s: scheme not allowed (%s)", name, shown,
                            pol->protocols ? pol->protocols : "http,https");
            goto out;
        }
        if (cc == CURLE_TOO_MANY_REDIRECTS) {
            rc = hc_err_set(err, HC_ENET, "%s: more than %d redirects from %s", name,
                            pol->max_redirects, shown);
            goto out;
        }
        bool retry;
        int code = HC_ENET;
        char why[700];
        if (cc == CURLE_OK) {
            resp->status = status;
            retry = req->retry_status ? req->retry_status(status, &resp->body)
                                      : default_retry_status(status);
            if (!retry) break;
            snprintf(why, sizeof why, "%s: HTTP %ld from %s", name, status, shown);
        } else {
            retry = retriable_curl(cc);
            code = cc == CURLE_OPERATION_TIMEDOUT ? HC_ETIMEOUT : HC_ENET;
            snprintf(why, sizeof why, "%s: %s %s: %s", name,
                     code == HC_ETIMEOUT ? "timed out on" : "network error on", shown, cerr);
        }
        if (!retry || attempt >= max_attempts) {
            if (cc == CURLE_OK) break; /* a response: the caller judges its status */
            if (attempt > 1)
                rc = hc_err_set(err, code, "%s (after %d tries)", why, attempt);
            else
                rc = hc_err_set(err, code, "%s", why);
            goto out;
        }
        /* Exponential back-off with up to 25 % jitter; Retry-After wins when
         * it asks for longer (capped so a server cannot park us). */
        long delay = backoff;
        for (int k = 1; k < attempt && delay < cap; k++)
            delay *= 2;
        if (delay > cap) delay = cap;
        delay += (long)(hc_rand_next(&rng) % (uint64_t)(delay / 4 + 1));
        if (c.retry_after_s >= 0) {
            long ra = c.retry_after_s * 1000 > cap ? cap : c.retry_after_s * 1000;
            if (ra > delay) delay = ra;
        }
        HC_WARN(COMP, "%s; retrying in %ld ms (try %d of %d)", why, delay, attempt + 1,
                max_attempts);
        if (pause_ms(&c, delay)) {
            rc = hc_err_set(err, HC_ECANCELED, "%s: %s stopped", name, shown);
            goto out;
        }
    }
    HC_DEBUG(COMP, "%s %s %s: %ld (%d tries, %lld ms)", name, req->method ? req->method : "",
             shown, resp->status, resp->attempts, (long long)((hc_now_us() - t0) / 1000));
out:
    curl_easy_cleanup(h);
    curl_multi_cleanup(m);
    if (c.body_fd >= 0) close(c.body_fd);
    return rc;
}
