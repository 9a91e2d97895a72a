/* AWS Signature Version 4 (AWS4-HMAC-SHA256) over OpenSSL's libcrypto:
 * the header form (Authorization header) and the query form (presigned
 * URLs), on a request split into method, host, path, query and headers.
 *
 * Invariants:
 *  - what is signed is what goes on the wire: the path and query are taken
 *    as sent (already percent-encoded), Host is the one libcurl sends
 *    (host, plus :port unless it is the scheme's default);
 *  - canonical query: every parameter decoded once and re-encoded with
 *    hc_url_encode, sorted by encoded name then value (repeats kept);
 *  - canonical headers: lower-case names sorted (stable, so repeated names
 *    keep their order and join with ','), values trimmed with inner
 *    whitespace runs collapsed to one space;
 *  - s3 signs the path as given; other services normalise it (dot segments,
 *    repeated slashes) and encode it again ("double encoding");
 *  - no secret, token or signature is ever put into an error message. */
#include "cloud/hc_cloud.h"
#include "jobs/hc_jobs.h"

#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ALGORITHM   "AWS4-HMAC-SHA256"
#define MAX_EXPIRES 604800

static void hmac(const void *key, size_t klen, const char *msg, unsigned char out[32]) {
    unsigned int olen = 32;
    HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &olen);
}

void hc_sigv4_result_fini(hc_sigv4_result *res) {
    if (!res) return;
    hc_buf_fini(&res->canonical_request);
    hc_buf_fini(&res->string_to_sign);
    hc_buf_fini(&res->query);
    hc_strlist_fini(&res->headers);
    /* the signature is not secret once sent, but wipe the key material's kin */
    memset(res->signature, 0, sizeof res->signature);
}

/* ---- canonical path ------------------------------------------------------------ */

/* botocore's remove_dot_segments: RFC 3986 5.2.4 plus empty segments
 * dropped; leading '/' kept, trailing '/' kept when something remains. */
static void normalize_path(hc_buf *out, const char *path) {
    size_t n = strlen(path);
    const char **seg = hc_xmalloc((n / 2 + 2) * sizeof *seg);
    size_t *len = hc_xmalloc((n / 2 + 2) * sizeof *len);
    size_t k = 0;
    for (const char *p = path; *p;) {
        size_t l = strcspn(p, "/");
        if (l == 1 && p[0] == '.') {
            /* skip */
        } else if (l == 2 && p[0] == '.' && p[1] == '.') {
            if (k) k--;
        } else if (l) {
            seg[k] = p;
            len[k++] = l;
        }
        p += l;
        if (*p == '/') p++;
    }
    if (path[0] == '/') hc_buf_puts(out, "/");
    for (size_t i = 0; i < k; i++) {
        if (i) hc_buf_puts(out, "/");
        hc_buf_put(out, seg[i], len[i]);
    }
    if (k && n && path[n - 1] == '/') hc_buf_puts(out, "/");
    free(seg);
    free(len);
}

/* ---- canonical query ----------------------------------------------------------- */

typedef struct qparam {
    char *name, *value; /* encoded */
} qparam;

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* s[0..n) percent-decoded once (a '%' not followed by two hex digits is
 * literal), then encoded as SigV4's UriEncode. Caller frees. */
static char *reencode(const char *s, size_t n) {
    char *dec = hc_xmalloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0) {
            dec[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            dec[o++] = s[i];
        }
    }
    hc_buf b = {0};
    hc_url_encode(&b, dec, o, false);
    free(dec);
    if (!b.p) return hc_strdup("");
    return b.p;
}

static int qparam_cmp(const void *a, const void *b) {
    const qparam *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

typedef struct qlist {
    qparam *v;
    size_t n, cap;
} qlist;

static void qlist_add_raw(qlist *q, const char *name, size_t nlen, const char *value, size_t vlen) {
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 16;
        q->v = realloc(q->v, q->cap * sizeof *q->v);
        if (!q->v) abort();
    }
    q->v[q->n].name = reencode(name, nlen);
    q->v[q->n].value = reencode(value, vlen);
    q->n++;
}

static void qlist_add(qlist *q, const char *name, const char *value) {
    qlist_add_raw(q, name, strlen(name), value, strlen(value));
}

static void qlist_parse(qlist *q, const char *query) {
    if (!query) return;
    for (const char *p = query; *p;) {
        size_t l = strcspn(p, "&");
        if (l) {
            const char *eq = memchr(p, '=', l);
            if (eq)
                qlist_add_raw(q, p, (size_t)(eq - p), eq + 1, l - (size_t)(eq - p) - 1);
            else
                qlist_add_raw(q, p, l, "", 0);
        }
        p += l;
        if (*p == '&') p++;
    }
}

static void qlist_fini(qlist *q) {
    for (size_t i = 0; i < q->n; i++) {
        free(q->v[i].name);
        free(q->v[i].value);
    }
    free(q->v);
}

/* ---- canonical headers --------------------------------------------------------- */

typedef struct hdr {
    char *name;  /* lower case */
    char *value; /* trimmed, whitespace runs collapsed */
    size_t order;
} hdr;

typedef struct hlist {
    hdr *v;
    size_t n, cap;
} hlist;

static void hlist_add(hlist *h, const char *name, size_t nlen, const char *value) {
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->v = realloc(h->v, h->cap * sizeof *h->v);
        if (!h->v) abort();
    }
    char *nm = hc_xmalloc(nlen + 1);
    for (size_t i = 0; i < nlen; i++) {
        char c = name[i];
        nm[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    nm[nlen] = 0;
    size_t vl = strlen(value);
    char *v = hc_xmalloc(vl + 1), *o = v;
    bool space = false;
    for (const char *s = value; *s; s++) {
        if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
            space = o != v;
        } else {
            if (space) *o++ = ' ';
            space = false;
            *o++ = *s;
        }
    }
    *o = 0;
    h->v[h->n] = (hdr){.name = nm, .value = v, .order = h->n};
    h->n++;
}

static bool hlist_has(const hlist *h, const char *name) {
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->v[i].name, name) == 0) return true;
    return false;
}

static int hdr_cmp(const void *a, const void *b) {
    const hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static void hlist_fini(hlist *h) {
    for (size_t i = 0; i < h->n; i++) {
        free(h->v[i].name);
        free(h->v[i].value);
    }
    free(h->v);
}

/* ---- the signer ---------------------------------------------------------------- */

static bool tri(int v, bool dflt) {
    return v == HC_SIGV4_AUTO ? dflt : v == HC_SIGV4_YES;
}

int hc_sigv4_compute(const hc_sigv4 *sv, const hc_sigv4_parts *p, hc_sigv4_result *res,
                     hc_err *err) {
    memset(res, 0, sizeof *res);
    if (!sv || !sv->creds || !sv->creds->access_key_id[0] || !sv->creds->secret_access_key[0])
        return hc_err_set(err, HC_EINVAL, "sigv4: no credentials");
    if (!sv->region || !sv->region[0]) return hc_err_set(err, HC_EINVAL, "sigv4: no region");
    if (!sv->service || !sv->service[0]) return hc_err_set(err, HC_EINVAL, "sigv4: no service");
    if (!p->method || !p->method[0]) return hc_err_set(err, HC_EINVAL, "sigv4: no method");
    bool query_form = p->expires_s != 0;
    if (query_form && (p->expires_s < 1 || p->expires_s > MAX_EXPIRES))
        return hc_err_set(err, HC_EINVAL, "sigv4: expires %d s outside 1..%d", p->expires_s,
                          MAX_EXPIRES);
    bool s3 = strcmp(sv->service, "s3") == 0;
    const hc_aws_creds *cr = sv->creds;
    bool token = cr->session_token[0] != 0;

    int rc = 0;
    hlist hl = {0};
    qlist ql = {0};
    /* Time and scope. */
    time_t now = sv->now_unix ? (time_t)sv->now_unix : time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char amzdate[32], date[16], scope[256];
    strftime(amzdate, sizeof amzdate, "%Y%m%dT%H%M%SZ", &tm);
    strftime(date, sizeof date, "%Y%m%d", &tm);
    snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", date, sv->region, sv->service);

    /* The request's headers. */
    for (const char *const *h = p->headers; h && *h; h++) {
        const char *colon = strchr(*h, ':');
        if (!colon || colon == *h) {
            rc = hc_err_set(err, HC_EINVAL, "sigv4: header line without a name and ':'");
            goto done;
        }
        size_t nlen = (size_t)(colon - *h);
        while (nlen && ((*h)[nlen - 1] == ' ' || (*h)[nlen - 1] == '\t'))
            nlen--;
        if (nlen == 13 && strncasecmp(*h, "authorization", 13) == 0) {
            rc = hc_err_set(err, HC_EINVAL,
                            "sigv4: the request already has an Authorization header");
            goto done;
        }
        hlist_add(&hl, *h, nlen, colon + 1);
    }
    if (!hlist_has(&hl, "host")) {
        if (!p->host || !p->host[0]) {
            rc = hc_err_set(err, HC_EINVAL, "sigv4: no host");
            goto done;
        }
        hlist_add(&hl, "host", 4, p->host);
    }

    /* The payload hash. */
    char payload[128];
    const char *given = p->payload_sha256;
    for (size_t i = 0; !given && i < hl.n; i++) /* an x-amz-content-sha256 the caller sends */
        if (strcmp(hl.v[i].name, "x-amz-content-sha256") == 0) given = hl.v[i].value;
    if (given)
        snprintf(payload, sizeof payload, "%s", given);
    else
        hc_sha256_hex(p->body, p->body_len, payload);

    if (!query_form) {
        if (hlist_has(&hl, "x-amz-date")) {
            rc = hc_err_set(err, HC_EINVAL, "sigv4: the request already has an X-Amz-Date header");
            goto done;
        }
        hlist_add(&hl, "x-amz-date", 10, amzdate);
        hc_strlist_add(&res->headers, "X-Amz-Date: %s", amzdate);
        if (token) {
            hlist_add(&hl, "x-amz-security-token", 20, cr->session_token);
            hc_strlist_add(&res->headers, "X-Amz-Security-Token: %s", cr->session_token);
        }
        if (tri(p->content_sha256, s3) && !hlist_has(&hl, "x-amz-content-sha256")) {
            hlist_add(&hl, "x-amz-content-sha256", 20, payload);
            hc_strlist_add(&res->headers, "x-amz-content-sha256: %s", payload);
        }
    }
    if (hl.n > 1) qsort(hl.v, hl.n, sizeof *hl.v, hdr_cmp);

    /* Signed headers list and canonical headers. */
    hc_buf signed_h = {0}, canon_h = {0};
    for (size_t i = 0; i < hl.n; i++) {
        bool repeat = i && strcmp(hl.v[i].name, hl.v[i - 1].name) == 0;
        if (repeat) {
            hc_buf_printf(&canon_h, ",%s", hl.v[i].value);
            continue;
        }
        if (i) hc_buf_puts(&canon_h, "\n");
        hc_buf_printf(&canon_h, "%s:%s", hl.v[i].name, hl.v[i].value);
        hc_buf_printf(&signed_h, "%s%s", signed_h.n ? ";" : "", hl.v[i].name);
    }
    hc_buf_puts(&canon_h, "\n");

    /* Query parameters, with the X-Amz-* of the query form. */
    qlist_parse(&ql, p->query);
    hc_buf auth_q = {0}; /* the query form's own parameters, in botocore's order */
    if (query_form) {
        char cred[512], exp[16];
        snprintf(cred, sizeof cred, "%s/%s", cr->access_key_id, scope);
        snprintf(exp, sizeof exp, "%d", p->expires_s);
        const char *kv[][2] = {{"X-Amz-Algorithm", ALGORITHM},
                               {"X-Amz-Credential", cred},
                               {"X-Amz-Date", amzdate},
                               {"X-Amz-Expires", exp},
                               {"X-Amz-SignedHeaders", signed_h.p},
                               {"X-Amz-Security-Token", token ? cr->session_token : NULL}};
        for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
            if (!kv[i][1]) continue;
            qlist_add(&ql, kv[i][0], kv[i][1]);
            hc_buf_printf(&auth_q, "%s%s=", auth_q.n ? "&" : "", kv[i][0]);
            hc_url_encode(&auth_q, kv[i][1], strlen(kv[i][1]), false);
        }
    }
    if (ql.n > 1) qsort(ql.v, ql.n, sizeof *ql.v, qparam_cmp);

    /* The canonical request. */
    hc_buf *cq = &res->canonical_request;
    hc_buf_printf(cq, "%s\n", p->method);
    const char *path = p->path && p->path[0] ? p->path : "/";
    hc_buf np = {0};
    if (tri(p->normalize_path, !s3))
        normalize_path(&np, path);
    else
        hc_buf_puts(&np, path);
    if (tri(p->double_encode, !s3))
        hc_url_encode(cq, np.p, np.n, true);
    else
        hc_buf_put(cq, np.p, np.n);
    hc_buf_fini(&np);
    hc_buf_puts(cq, "\n");
    for (size_t i = 0; i < ql.n; i++)
        hc_buf_printf(cq, "%s%s=%s", i ? "&" : "", ql.v[i].name, ql.v[i].value);
    hc_buf_printf(cq, "\n%s\n%s\n%s", canon_h.p, signed_h.p, payload);

    /* String to sign and signature. */
    char creq_hash[65];
    hc_sha256_hex(cq->p, cq->n, creq_hash);
    hc_buf_printf(&res->string_to_sign, ALGORITHM "\n%s\n%s\n%s", amzdate, scope, creq_hash);

    size_t sklen = strlen(cr->secret_access_key) + 4;
    char *secret = hc_xmalloc(sklen + 1);
    snprintf(secret, sklen + 1, "AWS4%s", cr->secret_access_key);
    unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
    hmac(secret, sklen, date, k1);
    hmac(k1, 32, sv->region, k2);
    hmac(k2, 32, sv->service, k3);
    hmac(k3, 32, "aws4_request", k4);
    hmac(k4, 32, res->string_to_sign.p, sig);
    hc_hex(sig, sizeof sig, res->signature);
    memset(secret, 0, sklen);
    free(secret);
    memset(k1, 0, sizeof k1);
    memset(k2, 0, sizeof k2);
    memset(k3, 0, sizeof k3);
    memset(k4, 0, sizeof k4);

    if (query_form) {
        if (p->query && p->query[0]) hc_buf_printf(&res->query, "%s&", p->query);
        hc_buf_printf(&res->query, "%s&X-Amz-Signature=%s", auth_q.p, res->signature);
    } else {
        hc_strlist_add(&res->headers,
                       "Authorization: " ALGORITHM " Credential=%s/%s, SignedHeaders=%s, "
                       "Signature=%s",
                       cr->access_key_id, scope, signed_h.p, res->signature);
    }
    hc_buf_fini(&auth_q);
    hc_buf_fini(&signed_h);
    hc_buf_fini(&canon_h);
done:
    hlist_fini(&hl);
    qlist_fini(&ql);
    return rc;
}

/* ---- on URLs ------------------------------------------------------------------- */

/* The Host header libcurl sends for u: the port only when not the default. */
static void host_header(const hc_url *u, char *buf, size_t len) {
    bool v6 = strchr(u->host, ':') != NULL;
    bool dflt = (strcmp(u->scheme, "http") == 0 && u->port == 80) ||
                (strcmp(u->scheme, "https") == 0 && u->port == 443) || u->port == 0;
    if (dflt)
        snprintf(buf, len, v6 ? "[%s]" : "%s", u->host);
    else
        snprintf(buf, len, v6 ? "[%s]:%d" : "%s:%d", u->host, u->port);
}

static int on_url(const hc_sigv4 *sv, hc_sigv4_parts *p, const char *url, hc_sigv4_result *res,
                  hc_err *err) {
    hc_url u;
    int rc = hc_url_parse(url, &u, err);
    if (rc) {
        memset(res, 0, sizeof *res);
        hc_err_prefix(err, "sigv4: ");
        return rc;
    }
    char host[512];
    host_header(&u, host, sizeof host);
    p->host = host;
    p->path = u.path;
    p->query = u.query;
    rc = hc_sigv4_compute(sv, p, res, err);
    hc_url_fini(&u);
    return rc;
}

int hc_sigv4_sign(const hc_sigv4 *sv, const char *method, const char *url,
                  const char *const *headers, const void *body, size_t body_len,
                  const char *payload_sha256, hc_strlist *out, hc_err *err) {
    hc_sigv4_parts p = {.method = method ? method : "GET",
                        .headers = headers,
                        .body = body,
                        .body_len = body_len,
                        .payload_sha256 = payload_sha256};
    hc_sigv4_result res;
    int rc = on_url(sv, &p, url, &res, err);
    if (rc == 0)
        for (int i = 0; i < res.headers.n; i++)
            hc_strlist_add(out, "%s", res.headers.v[i]);
    hc_sigv4_result_fini(&res);
    return rc;
}

char *hc_sigv4_presign(const hc_sigv4 *sv, const char *method, const char *url, int expires_s,
                       hc_err *err) {
    if (expires_s < 1 || expires_s > MAX_EXPIRES) {
        hc_err_set(err, HC_EINVAL, "sigv4: expires %d s outside 1..%d", expires_s, MAX_EXPIRES);
        return NULL;
    }
    bool s3 = sv && sv->service && strcmp(sv->service, "s3") == 0;
    hc_sigv4_parts p = {.method = method ? method : "GET",
                        .expires_s = expires_s,
                        .payload_sha256 = s3 ? "UNSIGNED-PAYLOAD" : NULL};
    hc_sigv4_result res;
    if (on_url(sv, &p, url, &res, err) != 0) {
        hc_sigv4_result_fini(&res);
        return NULL;
    }
    /* url up to its query (or fragment), then the signed query. */
    size_t base = strcspn(url, "?#");
    hc_buf o = {0};
    hc_buf_put(&o, url, base);
    hc_buf_printf(&o, "?%s", res.query.p);
    hc_sigv4_result_fini(&res);
    return o.p;
}
