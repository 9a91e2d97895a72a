/* GET|HEAD /files/{key}: the file storage's outputs (videos, posters),
 * read through the storage (src/storage/) with single byte ranges, and the
 * signed URLs that open them when API keys are on.
 *
 * Invariant: nothing outside the outputs directory is ever served: keys
 * with "..", "." or empty segments, a leading "/", backslashes or control
 * characters are refused here with a 400, and the storage itself reads
 * only inside its root (symlinks resolved first, the object opened with
 * O_NOFOLLOW). Bodies of a file storage are never copied into memory
 * here: the response carries the storage's descriptor and range (the
 * server sends from it; the Lambda adapter reads it). */
#include "http/http_int.h"

#include "jobs/hc_jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- URL signing ------------------------------------------------------------ */

bool http_sign_check(const http_req *r, const char *key) {
    if (!r->api->sign_secret[0]) return false;
    return hc_urlsign_check(r->api->sign_secret, key, http_arg(r, "exp"), http_arg(r, "sig"));
}

char *http_sign_url(const hc_api *api, const char *url) {
    if (!api->env.storage || !url) return NULL;
    char *out = NULL;
    hc_err err = {0};
    int ttl = api->env.cfg->presign_ttl_s > 0 ? api->env.cfg->presign_ttl_s : 3600;
    if (hc_storage_sign_url(api->env.storage, url, ttl, &out, &err) != 0)
        HC_WARN("http", "cannot sign an output link: %s", err.msg);
    return out;
}

/* ---- serving ------------------------------------------------------------------ */

static void http_date(char *buf, size_t len, time_t t) {
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Parse a decimal byte position; false on anything else. */
static bool parse_pos(const char *s, size_t n, uint64_t *out) {
    if (n == 0 || n > 19) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

typedef enum { RANGE_NONE, RANGE_OK, RANGE_UNSATISFIABLE } range_kind;

/* One "bytes=a-b" | "bytes=a-" | "bytes=-n" range against size. Anything
 * else (several ranges, other units, bad syntax) is ignored: the whole
 * file is sent, as RFC 9110 allows. */
static range_kind parse_range(const char *h, uint64_t size, uint64_t *start, uint64_t *len) {
    if (!h) return RANGE_NONE;
    while (*h == ' ')
        h++;
    if (strncasecmp(h, "bytes=", 6)) return RANGE_NONE;
    const char *spec = h + 6;
    while (*spec == ' ')
        spec++;
    size_t n = strcspn(spec, " \t");
    if (spec[n + strspn(spec + n, " \t")] != 0) return RANGE_NONE;
    const char *dash = memchr(spec, '-', n);
    if (!dash || memchr(spec, ',', n)) return RANGE_NONE;
    size_t alen = (size_t)(dash - spec), blen = n - alen - 1;
    uint64_t a = 0, b = 0;
    if (alen == 0) { /* suffix: the last b bytes */
        if (!parse_pos(dash + 1, blen, &b)) return RANGE_NONE;
        if (b == 0 || size == 0) return RANGE_UNSATISFIABLE;
        if (b > size) b = size;
        *start = size - b;
        *len = b;
        return RANGE_OK;
    }
    if (!parse_pos(spec, alen, &a)) return RANGE_NONE;
    if (blen) {
        if (!parse_pos(dash + 1, blen, &b) || b < a) return RANGE_NONE;
    } else {
        b = UINT64_MAX;
    }
    if (a >= size) return RANGE_UNSATISFIABLE;
    if (b >= size) b = size - 1;
    *start = a;
    *len = b - a + 1;
    return RANGE_OK;
}

/* Does an If-None-Match list name etag (or "*")? */
static bool etag_listed(const char *list, const char *etag) {
    size_t en = strlen(etag);
    for (const char *p = list; *p;) {
        p += strspn(p, ", \t");
        size_t n = strcspn(p, ",");
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        const char *t = p;
        if (n > 2 && !strncmp(t, "W/", 2)) { /* weak comparison */
            t += 2;
            n -= 2;
        }
        if ((n == 1 && *t == '*') || (n == en && !strncmp(t, etag, en))) return true;
        p += strcspn(p, ",");
    }
    return false;
}

void http_files_get(http_req *r) {
    hc_api *api = r->api;
    const char *key = r->rest;
    if (api->keys && !r->authed && !http_sign_check(r, key)) {
        http_reply_error(r, HTTP_UNAUTHORIZED, "UNAUTHORIZED",
                         "an API key or a valid, unexpired signed URL is required");
        return;
    }
    if (hc_storage_key_check(key, NULL) != 0 || strstr(key, "%00")) {
        http_reply_error(r, HTTP_BAD_REQUEST, "INVAL",
                         "file key: must be a relative path inside the outputs");
        return;
    }
    hc_storage_reader rd;
    hc_err err = {0};
    int orc = hc_storage_open_read(api->env.storage, NULL, key, &rd, &err);
    if (orc != 0) {
        hc_storage_reader_fini(&rd);
        if (orc == HC_ENOTFOUND) {
            http_reply_error(r, HTTP_NOT_FOUND, "NOTFOUND", "no such file");
        } else {
            HC_ERROR("http", "files: %s", err.msg);
            http_reply_error(r, HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", "internal error");
        }
        return;
    }
    uint64_t size = (uint64_t)rd.info.size_bytes;
    char etag[sizeof rd.info.etag], ctype[sizeof rd.info.content_type], lastmod[40], crange[80];
    snprintf(etag, sizeof etag, "%s", rd.info.etag);
    snprintf(ctype, sizeof ctype, "%s", rd.info.content_type);
    http_date(lastmod, sizeof lastmod, (time_t)(rd.info.mtime_ns / 1000000000));

    const char *inm = http_header(r, "If-None-Match");
    const char *range = http_header(r, "Range");
    const char *if_range = http_header(r, "If-Range");
    uint64_t start = 0, len = size;
    range_kind rk = RANGE_NONE;
    if (inm && etag_listed(inm, etag)) {
        hc_storage_reader_fini(&rd);
        http_status(r, HTTP_NOT_MODIFIED);
        goto headers;
    }
    if (range && if_range && strcmp(if_range, etag) && strcmp(if_range, lastmod))
        range = NULL; /* the client's copy is stale: send it all */
    rk = parse_range(range, size, &start, &len);
    if (rk == RANGE_UNSATISFIABLE) {
        hc_storage_reader_fini(&rd);
        snprintf(crange, sizeof crange, "bytes */%" PRIu64, size);
        http_reply_error(r, HTTP_RANGE_NOT_SATISFIABLE, "RANGE_NOT_SATISFIABLE",
                         "range: outside the file's size");
        http_add_header(r, "Content-Range", crange);
        goto headers;
    }
    http_status(r, HTTP_OK);
    if (rk == RANGE_OK) {
        http_status(r, HTTP_PARTIAL_CONTENT);
        snprintf(crange, sizeof crange, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start,
                 start + len - 1, size);
    }
    if (len > 0 && rd.fd >= 0) { /* sent from the descriptor, never copied here */
        r->out->fd = rd.fd;
        r->out->file_off = start;
        r->out->file_len = len;
        rd.fd = -1;       /* the response's now */
    } else if (len > 0) { /* a storage without descriptors: the range read here */
        hc_buf_reserve(&r->out->body, (size_t)len);
        int64_t k = hc_storage_pread(&rd, r->out->body.p, (size_t)len, (int64_t)start, &err);
        if (k != (int64_t)len) {
            hc_storage_reader_fini(&rd);
            HC_ERROR("http", "files: %s", k < 0 ? err.msg : "short read");
            http_reply_error(r, HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", "internal error");
            return;
        }
        r->out->body.n = (size_t)len;
        r->out->body.p[len] = 0;
    }
    hc_storage_reader_fini(&rd);
    http_add_header(r, "Content-Type", ctype);
    if (rk == RANGE_OK) http_add_header(r, "Content-Range", crange);
headers:
    http_add_header(r, "Accept-Ranges", "bytes");
    http_add_header(r, "ETag", etag);
    http_add_header(r, "Last-Modified", lastmod);
    http_add_header(r, "X-Content-Type-Options", "nosniff");
}
