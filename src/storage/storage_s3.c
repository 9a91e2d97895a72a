/* The S3 storage ("s3://BUCKET/PREFIX"): objects in a bucket under PREFIX/
 * (none when PREFIX is empty), or, for a request's output.s3_bucket, at
 * exactly the key in that bucket. Requests go through the AWS context
 * (src/cloud: credentials chain, SigV4, retries with back-off on 5xx and
 * throttling) over the one HTTP client.
 *
 * Addressing: path style (ENDPOINT/BUCKET/KEY) when AWS_ENDPOINT_URL_S3 or
 * AWS_ENDPOINT_URL is set (S3-compatible servers) or the bucket name has a
 * dot (TLS would not match a virtual host); virtual-host style
 * (https://BUCKET.s3.REGION.amazonaws.com/KEY) on AWS otherwise.
 *
 * Uploads: one PUT up to the multipart threshold (16 MiB), else
 * CreateMultipartUpload, UploadPart per part (8 MiB; each part a call of
 * its own, retried by the AWS context), CompleteMultipartUpload, and
 * AbortMultipartUpload when anything fails or the upload is canceled.
 * Every body is hashed (x-amz-content-sha256) so S3 checks what arrived.
 *
 * Invariants: an object appears whole or not at all (a single PUT, or a
 * multipart upload that is only visible once completed); the URL stored
 * for an object is the plain object URL, and links are presigned GETs made
 * at read time (with the session token when credentials are temporary).
 * An upload interrupted by a killed process leaves an incomplete multipart
 * upload, invisible and removed by the bucket's lifecycle rule
 * (AbortIncompleteMultipartUpload): cleanup has nothing to do. Logs never
 * carry a signature: URLs are logged redacted by the HTTP client. */
#include "cloud/hc_cloud.h"
#include "storage/hc_storage.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define COMP              "s3"
#define DEFAULT_THRESHOLD (16 * 1024 * 1024)
#define DEFAULT_PART      (8 * 1024 * 1024)
#define MAX_PARTS         10000
#define MAX_BUCKET_LEN    63

typedef struct s3_priv {
    hc_aws *aws;
    char bucket[MAX_BUCKET_LEN + 1];
    char *prefix;       /* "" or "renders-prod" (no leading or trailing '/') */
    char endpoint[512]; /* "https://s3.us-east-1.amazonaws.com", or the override */
    bool path_style;    /* an endpoint override: ENDPOINT/BUCKET/KEY */
    int64_t threshold, part_size;
} s3_priv;

/* ---- names and URLs --------------------------------------------------------- */

/* A bucket name as S3 takes it: 3..63 of lower-case letters, digits, '.'
 * and '-', starting and ending with a letter or digit. */
static bool bucket_ok(const char *b) {
    size_t n = strlen(b);
    if (n < 3 || n > MAX_BUCKET_LEN) return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) || b[i] == '.' ||
              b[i] == '-'))
            return false;
    return isalnum((unsigned char)b[0]) && isalnum((unsigned char)b[n - 1]);
}

/* The object key in the bucket: PREFIX/key for the storage's own bucket,
 * exactly key for a named one. Caller frees. */
static char *object_key(const s3_priv *p, const char *bucket, const char *key) {
    hc_buf b = {0};
    if (!bucket && p->prefix[0]) hc_buf_printf(&b, "%s/", p->prefix);
    hc_buf_puts(&b, key);
    return b.p;
}

/* The object's URL, key percent-encoded ('/' kept); query appended when
 * not NULL ("uploads", "partNumber=1&uploadId=..."). Caller frees. */
static char *object_url(const s3_priv *p, const char *bucket, const char *okey, const char *query) {
    const char *b = bucket ? bucket : p->bucket;
    hc_buf u = {0};
    if (p->path_style || strchr(b, '.')) {
        hc_buf_printf(&u, "%s/%s/", p->endpoint, b);
    } else {
        const char *host = strstr(p->endpoint, "://");
        host = host ? host + 3 : p->endpoint;
        hc_buf_printf(&u, "%.*s%s.%s/", (int)(host - p->endpoint), p->endpoint, b, host);
    }
    hc_url_encode(&u, okey, strlen(okey), true);
    if (query) hc_buf_printf(&u, "?%s", query);
    return u.p;
}

static int s3_open(hc_storage *st, const char *arg, const hc_storage_env *env, hc_err *err) {
    s3_priv *p = hc_storage_priv(st);
    if (strncmp(arg, "//", 2) != 0)
        return hc_err_set(err, HC_EINVAL, "HC_STORAGE \"%s\": expected s3://BUCKET/PREFIX",
                          st->spec);
    const char *b = arg + 2;
    size_t bn = strcspn(b, "/");
    if (bn == 0 || bn > MAX_BUCKET_LEN)
        return hc_err_set(err, HC_EINVAL, "HC_STORAGE \"%s\": expected s3://BUCKET/PREFIX",
                          st->spec);
    memcpy(p->bucket, b, bn);
    p->bucket[bn] = 0;
    if (!bucket_ok(p->bucket))
        return hc_err_set(err, HC_EINVAL,
                          "HC_STORAGE \"%s\": bucket \"%s\" is not a valid S3 bucket name "
                          "(3-63 of a-z, 0-9, '.', '-')",
                          st->spec, p->bucket);
    const char *pre = b + bn;
    while (*pre == '/')
        pre++;
    p->prefix = hc_strdup(pre);
    for (size_t n = strlen(p->prefix); n > 0 && p->prefix[n - 1] == '/';)
        p->prefix[--n] = 0;
    if (p->prefix[0] && hc_storage_key_check(p->prefix, NULL) != 0) {
        free(p->prefix);
        return hc_err_set(err, HC_EINVAL,
                          "HC_STORAGE \"%s\": the prefix must be a relative path without \".\", "
                          "\"..\" or empty segments",
                          st->spec);
    }
    p->threshold = env->s3_multipart_threshold_bytes > 0 ? env->s3_multipart_threshold_bytes
                                                         : DEFAULT_THRESHOLD;
    p->part_size = env->s3_part_size_bytes > 0 ? env->s3_part_size_bytes : DEFAULT_PART;
    const char *ep = getenv("AWS_ENDPOINT_URL_S3");
    if (!ep || !*ep) ep = getenv("AWS_ENDPOINT_URL");
    p->path_style = ep && *ep;
    int rc = hc_aws_open(&p->aws, err);
    if (rc == 0 && !hc_aws_region(p->aws))
        rc = hc_err_set(err, HC_EINVAL,
                        "HC_STORAGE \"%s\": no AWS region (set AWS_REGION or AWS_DEFAULT_REGION)",
                        st->spec);
    if (rc == 0) rc = hc_aws_endpoint(p->aws, "s3", p->endpoint, sizeof p->endpoint, err);
    if (rc) {
        hc_aws_close(p->aws);
        free(p->prefix);
        return rc;
    }
    return 0;
}

static void s3_close(hc_storage *st) {
    s3_priv *p = hc_storage_priv(st);
    hc_aws_close(p->aws);
    free(p->prefix);
}

/* ---- XML answers (the few elements S3 sends back) ----------------------------- */

/* The text of the first <tag>...</tag> in xml, entities decoded, into
 * buf; false when absent. */
static bool xml_text(const char *xml, const char *tag, char *buf, size_t len) {
    if (!xml || !len) return false;
    char open[80], close[80];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = strstr(xml, open);
    if (!a) return false;
    a += strlen(open);
    const char *e = strstr(a, close);
    if (!e) return false;
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    size_t o = 0;
    while (a < e && o + 1 < len) {
        char c = *a++;
        if (c == '&') {
            for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++) {
                size_t n = strlen(ents[i].ent);
                if (!strncmp(a - 1, ents[i].ent, n)) {
                    c = ents[i].c;
                    a += n - 1;
                    break;
                }
            }
        }
        buf[o++] = c;
    }
    buf[o] = 0;
    return true;
}

/* Append s to b with the five XML entities escaped. */
static void xml_escape(hc_buf *b, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&':
            hc_buf_puts(b, "&amp;");
            break;
        case '<':
            hc_buf_puts(b, "&lt;");
            break;
        case '>':
            hc_buf_puts(b, "&gt;");
            break;
        case '"':
            hc_buf_puts(b, "&quot;");
            break;
        case '\'':
            hc_buf_puts(b, "&apos;");
            break;
        default:
            hc_buf_put(b, s, 1);
        }
    }
}

/* An S3 error answer as an HC_E* code with "s3 OP s3://B/K: Code: Message
 * (HTTP n)" in err: 404 NoSuchKey is HC_ENOTFOUND, 5xx and throttling
 * HC_ENET (transient: the AWS context already retried), the rest HC_EIO
 * (access denied, a wrong key, no such bucket: configuration). */
static int s3_error(const hc_httpc_resp *r, const char *op, const char *bucket, const char *okey,
                    hc_err *err) {
    char code[128] = "", msg[512] = "";
    const char *body = r->body.p;
    xml_text(body, "Code", code, sizeof code);
    xml_text(body, "Message", msg, sizeof msg);
    int rc = HC_EIO;
    if (r->status == 404 && (!code[0] || !strcmp(code, "NoSuchKey")))
        rc = HC_ENOTFOUND;
    else if (r->status >= 500 || r->status == 429 || !strcmp(code, "SlowDown"))
        rc = HC_ENET;
    return hc_err_set(err, rc, "s3 %s s3://%s/%.300s: %s%s%s (HTTP %ld)", op, bucket, okey,
                      code[0] ? code : "error", msg[0] ? ": " : "", msg, r->status);
}

/* ---- hashing --------------------------------------------------------------------- */

/* Hex SHA-256 of len bytes of the file at off. */
static int sha256_range(int fd, int64_t off, int64_t len, char hex[65], hc_err *err) {
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = hc_xmalloc(CHUNK), md[32];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = 0;
    unsigned mdn = 0;
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        rc = hc_err_set(err, HC_EINTERNAL, "s3: SHA-256 unavailable");
        goto done;
    }
    while (len > 0) {
        ssize_t k = pread(fd, buf, len < CHUNK ? (size_t)len : CHUNK, off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            rc = hc_err_set(err, HC_EIO, "s3: reading the upload: %s",
                            k < 0 ? strerror(errno) : "file shrank");
            goto done;
        }
        EVP_DigestUpdate(ctx, buf, (size_t)k);
        off += k;
        len -= k;
    }
    if (!EVP_DigestFinal_ex(ctx, md, &mdn)) {
        rc = hc_err_set(err, HC_EINTERNAL, "s3: SHA-256 failed");
        goto done;
    }
    hc_hex(md, 32, hex);
done:
    EVP_MD_CTX_free(ctx);
    free(buf);
    return rc;
}

/* ---- uploads ------------------------------------------------------------------- */

typedef struct up_ctx {
    const hc_storage_put_opts *o;
    int64_t base, total;
    int64_t shown; /* the most reported so far */
    bool stopped;
} up_ctx;

/* Bytes sent so far, never going back (a retried part starts again from
 * its beginning: the bytes already counted are not counted twice). */
static bool up_progress(void *ud, int64_t dn, int64_t dt, int64_t un, int64_t ut) {
    (void)dn;
    (void)dt;
    (void)ut;
    up_ctx *u = ud;
    if (!u->o->progress) return true;
    int64_t now = u->base + un;
    if (now <= u->shown) return !u->stopped;
    u->shown = now;
    if (!u->o->progress(u->o->ud, now, u->total)) u->stopped = true;
    return !u->stopped;
}

/* PUT len bytes of path at off to url (a whole object or one part); the
 * ETag answered into etag (may be NULL). */
static int put_body(s3_priv *p, const char *url, const char *path, int fd, int64_t off, int64_t len,
                    const char *content_type, up_ctx *u, char *etag, size_t etag_len,
                    const char *op, const char *bucket, const char *okey, hc_err *err) {
    char hex[65], sha[100], ct[200];
    int rc = sha256_range(fd, off, len, hex, err);
    if (rc) return rc;
    snprintf(sha, sizeof sha, "x-amz-content-sha256: %s", hex);
    const char *hdrs[3] = {sha, NULL, NULL};
    if (content_type) {
        snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
        hdrs[1] = ct;
    }
    hc_httpc_req req = {.method = "PUT",
                        .url = url,
                        .headers = hdrs,
                        .body_path = path,
                        .body_off = off,
                        .body_len = (size_t)len,
                        .on_progress = up_progress,
                        .ud = u};
    hc_httpc_resp r;
    rc = hc_aws_call(p->aws, "s3", &req, &r, err);
    if (rc == 0 && (r.status < 200 || r.status > 299)) rc = s3_error(&r, op, bucket, okey, err);
    if (rc == 0 && etag && !hc_httpc_header(&r, "ETag", etag, etag_len))
        rc = hc_err_set(err, HC_EIO, "s3 %s s3://%s/%.300s: no ETag in the answer", op, bucket,
                        okey);
    if (u->stopped) rc = HC_ECANCELED;
    hc_httpc_resp_fini(&r);
    if (rc == HC_ECANCELED) {
        hc_err_clear(err);
        hc_err_set(err, HC_ECANCELED, "s3: upload of s3://%s/%.300s canceled", bucket, okey);
    }
    return rc;
}

/* A call with a small body in memory (or none); the answer in *r (caller
 * finis it) when 2xx, else the S3 error. */
static int small_call(s3_priv *p, const char *method, const char *url, const char *const *hdrs,
                      const char *body, hc_httpc_resp *r, const char *op, const char *bucket,
                      const char *okey, hc_err *err) {
    hc_httpc_req req = {.method = method,
                        .url = url,
                        .headers = hdrs,
                        .body = body,
                        .body_len = body ? strlen(body) : 0};
    int rc = hc_aws_call(p->aws, "s3", &req, r, err);
    if (rc == 0 && (r->status < 200 || r->status > 299)) rc = s3_error(r, op, bucket, okey, err);
    return rc;
}

static void abort_upload(s3_priv *p, const char *bucket, const char *okey, const char *upload_id) {
    hc_buf q = {0};
    hc_buf_puts(&q, "uploadId=");
    hc_url_encode(&q, upload_id, strlen(upload_id), false);
    char *url = object_url(p, bucket, okey, q.p);
    hc_httpc_resp r;
    hc_err err = {0};
    if (small_call(p, "DELETE", url, NULL, NULL, &r, "AbortMultipartUpload", bucket, okey, &err))
        HC_WARN(COMP, "cannot abort the multipart upload (the lifecycle rule will): %s", err.msg);
    else
        HC_INFO(COMP, "multipart upload of s3://%s/%.300s aborted", bucket, okey);
    hc_httpc_resp_fini(&r);
    free(url);
    hc_buf_fini(&q);
}

static int put_multipart(s3_priv *p, const char *bucket, const char *okey, const char *path, int fd,
                         int64_t size, const hc_storage_put_opts *o, up_ctx *u, hc_err *err) {
    const char *ubucket = bucket ? bucket : p->bucket;
    int64_t part = p->part_size;
    /* 10000 parts at most: larger parts for a larger file. */
    if ((size + part - 1) / part > MAX_PARTS) part = (size + MAX_PARTS - 1) / MAX_PARTS;
    int nparts = (int)((size + part - 1) / part);
    char ct[200], upload_id[1024] = "";
    snprintf(ct, sizeof ct, "Content-Type: %s",
             o->content_type ? o->content_type : hc_storage_content_type(okey));
    const char *hdrs[] = {ct, NULL};
    char *url = object_url(p, bucket, okey, "uploads");
    hc_httpc_resp r;
    int rc =
        small_call(p, "POST", url, hdrs, NULL, &r, "CreateMultipartUpload", ubucket, okey, err);
    free(url);
    if (rc == 0 && !xml_text(r.body.p, "UploadId", upload_id, sizeof upload_id))
        rc = hc_err_set(err, HC_EIO, "s3 CreateMultipartUpload s3://%s/%.300s: no UploadId",
                        ubucket, okey);
    hc_httpc_resp_fini(&r);
    if (rc) return rc;

    hc_buf done = {0}, q = {0};
    hc_buf_puts(&done, "<CompleteMultipartUpload>");
    for (int i = 0; i < nparts && rc == 0; i++) {
        int64_t off = (int64_t)i * part, len = size - off < part ? size - off : part;
        q.n = 0;
        hc_buf_printf(&q, "partNumber=%d&uploadId=", i + 1);
        hc_url_encode(&q, upload_id, strlen(upload_id), false);
        url = object_url(p, bucket, okey, q.p);
        char etag[256];
        char opname[48];
        snprintf(opname, sizeof opname, "UploadPart %d/%d", i + 1, nparts);
        u->base = off;
        rc = put_body(p, url, path, fd, off, len, NULL, u, etag, sizeof etag, opname, ubucket, okey,
                      err);
        free(url);
        if (rc) break;
        hc_buf_printf(&done, "<Part><PartNumber>%d</PartNumber><ETag>", i + 1);
        xml_escape(&done, etag);
        hc_buf_puts(&done, "</ETag></Part>");
    }
    hc_buf_puts(&done, "</CompleteMultipartUpload>");
    if (rc == 0) {
        q.n = 0;
        hc_buf_puts(&q, "uploadId=");
        hc_url_encode(&q, upload_id, strlen(upload_id), false);
        url = object_url(p, bucket, okey, q.p);
        const char *xh[] = {"Content-Type: application/xml", NULL};
        rc = small_call(p, "POST", url, xh, done.p, &r, "CompleteMultipartUpload", ubucket, okey,
                        err);
        /* S3 may answer 200 and then report a failure in the body. */
        if (rc == 0 && r.body.p && strstr(r.body.p, "<Error>"))
            rc = s3_error(&(hc_httpc_resp){.status = 500, .body = r.body},
                          "CompleteMultipartUpload", ubucket, okey, err);
        hc_httpc_resp_fini(&r);
        free(url);
    }
    if (rc) abort_upload(p, ubucket, okey, upload_id);
    hc_buf_fini(&done);
    hc_buf_fini(&q);
    return rc;
}

static int s3_put(hc_storage *st, const char *key, const char *path, const hc_storage_put_opts *o,
                  hc_err *err) {
    s3_priv *p = hc_storage_priv(st);
    const char *ubucket = o->bucket ? o->bucket : p->bucket;
    if (o->bucket && !bucket_ok(o->bucket))
        return hc_err_set(err, HC_EINVAL, "output.s3_bucket \"%.100s\": not a valid S3 bucket name",
                          o->bucket);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        int rc = hc_err_set(err, HC_EIO, "storage put %s: %s: %s", key, path,
                            fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0) close(fd);
        return rc;
    }
    char *okey = object_key(p, o->bucket, key);
    up_ctx u = {.o = o, .total = sb.st_size};
    int rc;
    int64_t t0 = hc_now_us();
    if (sb.st_size <= p->threshold) {
        char *url = object_url(p, o->bucket, okey, NULL);
        rc = put_body(p, url, path, fd, 0, sb.st_size,
                      o->content_type ? o->content_type : hc_storage_content_type(key), &u, NULL, 0,
                      "PutObject", ubucket, okey, err);
        free(url);
    } else {
        rc = put_multipart(p, o->bucket, okey, path, fd, sb.st_size, o, &u, err);
    }
    close(fd);
    if (rc == 0) {
        if (o->progress) o->progress(o->ud, sb.st_size, sb.st_size);
        HC_DEBUG(COMP, "put s3://%s/%.300s: %lld bytes in %.2f s", ubucket, okey,
                 (long long)sb.st_size, (hc_now_us() - t0) / 1e6);
    }
    free(okey);
    return rc;
}

/* ---- URLs ------------------------------------------------------------------------- */

static int s3_url(hc_storage *st, const char *bucket, const char *key, char **out, hc_err *err) {
    (void)err;
    s3_priv *p = hc_storage_priv(st);
    if (bucket && !bucket_ok(bucket))
        return hc_err_set(err, HC_EINVAL, "output.s3_bucket \"%.100s\": not a valid S3 bucket name",
                          bucket);
    char *okey = object_key(p, bucket, key);
    *out = object_url(p, bucket, okey, NULL);
    free(okey);
    return 0;
}

/* Is url an object URL of this storage's endpoint (any bucket: a request
 * may have named its own)? Only those are presigned. */
static bool ours(const s3_priv *p, const char *url) {
    size_t en = strlen(p->endpoint);
    if (!strncmp(url, p->endpoint, en) && url[en] == '/') return true;
    if (p->path_style) return false;
    /* https://BUCKET.<endpoint host>/KEY */
    const char *sep = strstr(p->endpoint, "://");
    if (!sep) return false;
    size_t sn = (size_t)(sep + 3 - p->endpoint);
    if (strncmp(url, p->endpoint, sn) != 0) return false;
    const char *host = url + sn, *dot = strchr(host, '.'), *slash = strchr(host, '/');
    if (!dot || !slash || dot > slash) return false;
    size_t hn = en - sn;
    return (size_t)(slash - dot - 1) == hn && !strncmp(dot + 1, p->endpoint + sn, hn);
}

static int s3_sign_url(hc_storage *st, const char *url, int ttl_s, char **out, hc_err *err) {
    s3_priv *p = hc_storage_priv(st);
    if (!ours(p, url) || strchr(url, '?')) {
        *out = hc_strdup(url);
        return 0;
    }
    hc_aws_creds cr;
    int rc = hc_aws_creds_get(p->aws, &cr, err);
    if (rc) return rc;
    hc_sigv4 sv = {.creds = &cr, .region = hc_aws_region(p->aws), .service = "s3"};
    *out = hc_sigv4_presign(&sv, "GET", url, ttl_s, err);
    memset(&cr, 0, sizeof cr);
    return *out ? 0 : (err && err->code ? err->code : HC_EINTERNAL);
}

/* ---- remove, stat, read ------------------------------------------------------------- */

static int s3_remove(hc_storage *st, const char *bucket, const char *key, hc_err *err) {
    s3_priv *p = hc_storage_priv(st);
    char *okey = object_key(p, bucket, key), *url = object_url(p, bucket, okey, NULL);
    hc_httpc_resp r;
    int rc = small_call(p, "DELETE", url, NULL, NULL, &r, "DeleteObject",
                        bucket ? bucket : p->bucket, okey, err);
    if (rc == HC_ENOTFOUND) {
        hc_err_clear(err);
        rc = 0;
    }
    hc_httpc_resp_fini(&r);
    free(url);
    free(okey);
    return rc;
}

/* Incomplete multipart uploads of killed workers are the lifecycle rule's
 * (see the file's top): nothing visible is ever left behind. */
static int s3_cleanup(hc_storage *st, const char *key, hc_err *err) {
    (void)st;
    (void)key;
    (void)err;
    return 0;
}

/* "Wed, 21 Oct 2015 07:28:00 GMT" as Unix seconds; 0 when unparsable. */
static int64_t http_time(const char *s) {
    struct tm tm = {0};
    const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return end ? (int64_t)timegm(&tm) : 0;
}

static int s3_stat(hc_storage *st, const char *bucket, const char *key, hc_storage_info *out,
                   hc_err *err) {
    s3_priv *p = hc_storage_priv(st);
    char *okey = object_key(p, bucket, key), *url = object_url(p, bucket, okey, NULL);
    hc_httpc_resp r;
    int rc = small_call(p, "HEAD", url, NULL, NULL, &r, "HeadObject", bucket ? bucket : p->bucket,
                        okey, err);
    if (rc == 0) {
        char v[256];
        out->size_bytes = hc_httpc_header(&r, "Content-Length", v, sizeof v) ? atoll(v) : 0;
        if (hc_httpc_header(&r, "Last-Modified", v, sizeof v))
            out->mtime_ns = http_time(v) * 1000000000;
        if (hc_httpc_header(&r, "ETag", v, sizeof v))
            snprintf(out->etag, sizeof out->etag, "%.*s", (int)sizeof out->etag - 1, v);
        if (hc_httpc_header(&r, "Content-Type", v, sizeof v))
            snprintf(out->content_type, sizeof out->content_type, "%.*s",
                     (int)sizeof out->content_type - 1, v);
        else
            snprintf(out->content_type, sizeof out->content_type, "%s",
                     hc_storage_content_type(key));
    }
    hc_httpc_resp_fini(&r);
    free(url);
    free(okey);
    return rc;
}

typedef struct s3_reader {
    char *url; /* of the object */
    char *bucket, *okey;
} s3_reader;

static int s3_open_read(hc_storage *st, const char *bucket, const char *key, hc_storage_reader *r,
                        hc_err *err) {
    s3_priv *p = hc_storage_priv(st);
    int rc = s3_stat(st, bucket, key, &r->info, err);
    if (rc) return rc;
    s3_reader *sr = hc_xcalloc(1, sizeof *sr);
    sr->okey = object_key(p, bucket, key);
    sr->url = object_url(p, bucket, sr->okey, NULL);
    sr->bucket = hc_strdup(bucket ? bucket : p->bucket);
    r->priv = sr;
    return 0;
}

/* A ranged GET into the caller's buffer. */
typedef struct sink {
    char *buf;
    size_t cap, n;
} sink;

/* Bytes past the range asked for (an error document, or a server that
 * ignored the range) are dropped: the status decides what they were. */
static bool sink_data(void *ud, const void *data, size_t n) {
    sink *s = ud;
    size_t room = s->cap - s->n;
    if (n > room) n = room;
    memcpy(s->buf + s->n, data, n);
    s->n += n;
    return true;
}

static void sink_reset(void *ud) {
    ((sink *)ud)->n = 0;
}

static int64_t s3_pread(hc_storage_reader *r, void *buf, size_t n, int64_t off, hc_err *err) {
    s3_priv *p = hc_storage_priv(r->st);
    s3_reader *sr = r->priv;
    char range[80], match[160], etag[sizeof r->info.etag];
    snprintf(range, sizeof range, "Range: bytes=%" PRId64 "-%" PRId64, off, off + (int64_t)n - 1);
    /* Reads of one opened object never mix two versions: If-Match makes S3
     * refuse a replaced object (412), and the answer's ETag is checked too
     * for servers that ignore the condition. */
    snprintf(match, sizeof match, "If-Match: %s", r->info.etag);
    const char *hdrs[] = {range, r->info.etag[0] ? match : NULL, NULL};
    sink s = {.buf = buf, .cap = n};
    hc_httpc_req req = {.method = "GET",
                        .url = sr->url,
                        .headers = hdrs,
                        .on_data = sink_data,
                        .on_reset = sink_reset,
                        .ud = &s};
    hc_httpc_resp resp;
    int rc = hc_aws_call(p->aws, "s3", &req, &resp, err);
    if (rc == 0 &&
        (resp.status == 412 ||
         (r->info.etag[0] && (resp.status == 200 || resp.status == 206) &&
          hc_httpc_header(&resp, "ETag", etag, sizeof etag) && strcmp(etag, r->info.etag) != 0)))
        rc = hc_err_set(err, HC_ECONFLICT,
                        "s3 GetObject s3://%s/%.300s: replaced since it was opened", sr->bucket,
                        sr->okey);
    else if (rc == 0 && resp.status != 206 && resp.status != 200)
        rc = s3_error(&resp, "GetObject", sr->bucket, sr->okey, err);
    else if (rc == 0 && resp.status == 200 && off > 0)
        rc = hc_err_set(err, HC_EIO, "s3 GetObject s3://%s/%.300s: the range was not honoured",
                        sr->bucket, sr->okey);
    hc_httpc_resp_fini(&resp);
    return rc ? rc : (int64_t)s.n;
}

static void s3_close_read(hc_storage_reader *r) {
    s3_reader *sr = r->priv;
    if (!sr) return;
    free(sr->url);
    free(sr->okey);
    free(sr->bucket);
    free(sr);
    r->priv = NULL;
}

const hc_storage_backend hc_storage_s3 = {
    .name = "s3",
    .buckets = true,
    .priv_size = sizeof(s3_priv),
    .open = s3_open,
    .close = s3_close,
    .put = s3_put,
    .url = s3_url,
    .sign_url = s3_sign_url,
    .remove = s3_remove,
    .cleanup = s3_cleanup,
    .stat = s3_stat,
    .open_read = s3_open_read,
    .pread = s3_pread,
    .close_read = s3_close_read,
};

/* ---- S3 inputs ------------------------------------------------------------------------ */

#define INPUT_TTL_S 900

struct hc_storage_s3_inputs {
    hc_aws *aws;
    char endpoint[512]; /* the override, "" when none */
};

int hc_storage_s3_inputs_open(hc_storage_s3_inputs **out, hc_err *err) {
    *out = NULL;
    hc_storage_s3_inputs *in = hc_xcalloc(1, sizeof *in);
    int rc = hc_aws_open(&in->aws, err);
    if (rc) {
        free(in);
        return rc;
    }
    const char *ep = getenv("AWS_ENDPOINT_URL_S3");
    if (!ep || !*ep) ep = getenv("AWS_ENDPOINT_URL");
    if (ep && *ep) {
        snprintf(in->endpoint, sizeof in->endpoint, "%s", ep);
        for (size_t n = strlen(in->endpoint); n > 0 && in->endpoint[n - 1] == '/';)
            in->endpoint[--n] = 0;
    }
    *out = in;
    return 0;
}

void hc_storage_s3_inputs_close(hc_storage_s3_inputs *in) {
    if (!in) return;
    hc_aws_close(in->aws);
    free(in);
}

/* The region an AWS S3 host names: "B.s3.R.amazonaws.com", "s3.R.amazonaws.com",
 * "B.s3-R.amazonaws.com" (R), "s3.amazonaws.com" and "B.s3.amazonaws.com"
 * (us-east-1). False for any other host. */
static bool aws_s3_host(const char *host, char *region, size_t len) {
    static const char suffix[] = ".amazonaws.com";
    size_t n = strlen(host), sn = sizeof suffix - 1;
    if (n <= sn || strcasecmp(host + n - sn, suffix) != 0) return false;
    char h[256];
    snprintf(h, sizeof h, "%.*s", (int)(n - sn), host); /* "B.s3.R" or "s3" ... */
    for (char *c = h; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    /* Find the "s3" label: the first label that is "s3" or starts "s3-". */
    char *lab = h;
    for (;;) {
        size_t ln = strcspn(lab, ".");
        if ((ln == 2 && !strncmp(lab, "s3", 2)) || (ln > 3 && !strncmp(lab, "s3-", 3))) break;
        if (!lab[ln]) return false;
        lab += ln + 1;
    }
    size_t ln = strcspn(lab, ".");
    const char *r = NULL;
    size_t rn = 0;
    if (ln > 3) { /* s3-REGION */
        r = lab + 3;
        rn = ln - 3;
    } else if (lab[ln] == '.') { /* s3.REGION[.more] */
        r = lab + 3;
        rn = strcspn(r, ".");
        if (r[rn]) return false; /* dualstack, accesspoint, ...: not handled */
    }
    if (r && rn)
        snprintf(region, len, "%.*s", (int)rn, r);
    else
        snprintf(region, len, "us-east-1");
    return true;
}

int hc_storage_s3_inputs_resolve(void *ud, const char *url, char **signed_url, hc_err *err) {
    hc_storage_s3_inputs *in = ud;
    *signed_url = NULL;
    if (!in || !url) return 0;
    char region[64] = "";
    hc_buf target = {0};
    bool s3scheme = strncasecmp(url, "s3://", 5) == 0;
    int rc = 0;
    if (s3scheme) {
        const char *b = url + 5;
        size_t bn = strcspn(b, "/");
        char bucket[MAX_BUCKET_LEN + 1];
        if (bn == 0 || bn > MAX_BUCKET_LEN || !b[bn] || !b[bn + 1])
            return hc_err_set(err, HC_EINVAL, "expected s3://BUCKET/KEY");
        memcpy(bucket, b, bn);
        bucket[bn] = 0;
        if (!bucket_ok(bucket))
            return hc_err_set(err, HC_EINVAL, "bucket \"%s\" is not a valid S3 bucket name",
                              bucket);
        const char *key = b + bn + 1;
        const char *reg = hc_aws_region(in->aws);
        if (!reg)
            return hc_err_set(err, HC_EIO,
                              "no AWS region for s3:// inputs (set AWS_REGION or "
                              "AWS_DEFAULT_REGION)");
        snprintf(region, sizeof region, "%s", reg);
        if (in->endpoint[0] || strchr(bucket, '.')) {
            char ep[512];
            if ((rc = hc_aws_endpoint(in->aws, "s3", ep, sizeof ep, err))) return rc;
            hc_buf_printf(&target, "%s/%s/", ep, bucket);
        } else {
            hc_buf_printf(&target, "https://%s.s3.%s.amazonaws.com/", bucket, region);
        }
        hc_url_encode(&target, key, strlen(key), true);
    } else {
        size_t en = strlen(in->endpoint);
        bool under_endpoint = en && !strncmp(url, in->endpoint, en) && url[en] == '/';
        hc_url u;
        if (!under_endpoint) {
            if (strncasecmp(url, "https://", 8) != 0 || hc_url_parse(url, &u, NULL) != 0) return 0;
            bool s3 = aws_s3_host(u.host, region, sizeof region) && !u.query && !u.user && u.path &&
                      strlen(u.path) > 1;
            hc_url_fini(&u);
            if (!s3) return 0;
        } else {
            if (strchr(url, '?')) return 0;
            const char *reg = hc_aws_region(in->aws);
            snprintf(region, sizeof region, "%s", reg ? reg : "us-east-1");
        }
        hc_buf_puts(&target, url);
    }
    hc_aws_creds cr;
    hc_err cerr = {0};
    rc = hc_aws_creds_get(in->aws, &cr, &cerr);
    if (rc) {
        hc_buf_fini(&target);
        if (!s3scheme) return 0; /* a public object, perhaps: fetched as it is */
        return hc_err_set(err, rc, "no AWS credentials for s3:// inputs: %s", cerr.msg);
    }
    hc_sigv4 sv = {.creds = &cr, .region = region, .service = "s3"};
    *signed_url = hc_sigv4_presign(&sv, "GET", target.p, INPUT_TTL_S, err);
    memset(&cr, 0, sizeof cr);
    hc_buf_fini(&target);
    if (!*signed_url) return err && err->code ? err->code : HC_EINTERNAL;
    return 1;
}
