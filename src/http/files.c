/* GET|HEAD /files/{key}: the file storage's outputs (videos, posters),
 * served straight from disk with single byte ranges, and the signed URLs
 * that open them when API keys are on.
 *
 * Invariant: nothing outside the outputs directory is ever served: keys
 * with "..", "." or empty segments, a leading "/", backslashes or control
 * characters are refused before touching the disk, and the resolved path
 * (realpath, so symlinks are followed first) must still lie inside the
 * outputs directory's own resolved path. Bodies are never copied into
 * memory: libmicrohttpd sends from the file descriptor. */
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

#define SIGNED_URL_TTL_S (7 * 86400)

/* ---- URL signing ------------------------------------------------------------ */

static bool hex64(const char *s) {
    for (int i = 0; i < 64; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

static int read_key(const char *path, char hex[65], hc_err *err) {
    char buf[80] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? HC_ENOTFOUND
                               : hc_err_set(err, HC_EIO, "%s: %s", path, strerror(errno));
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 64 || !hex64(buf))
        return hc_err_set(err, HC_EIO, "%s: not a URL-signing key (64 hex digits)", path);
    memcpy(hex, buf, 64);
    hex[64] = 0;
    return 0;
}

int http_sign_key_load(const char *data_dir, char hex[65], hc_err *err) {
    char path[PATH_MAX], tmp[PATH_MAX + 32];
    if (snprintf(path, sizeof path, "%s/url-signing.key", data_dir) >= (int)sizeof path)
        return hc_err_set(err, HC_EINVAL, "%s: path too long", data_dir);
    int rc = read_key(path, hex, err);
    if (rc != HC_ENOTFOUND) return rc;

    unsigned char rnd[32];
    size_t got = 0;
    while (got < sizeof rnd) {
        ssize_t g = getrandom(rnd + got, sizeof rnd - got, 0);
        if (g < 0 && errno == EINTR) continue;
        if (g <= 0) return hc_err_set(err, HC_EIO, "getrandom: %s", strerror(errno));
        got += (size_t)g;
    }
    static const char digits[] = "0123456789abcdef";
    char text[66];
    for (int i = 0; i < 32; i++) {
        text[2 * i] = digits[rnd[i] >> 4];
        text[2 * i + 1] = digits[rnd[i] & 15];
    }
    text[64] = '\n';
    text[65] = 0;
    /* Written aside, then linked into place: another process starting at
     * the same moment either wins (we read its key) or loses. */
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return hc_err_set(err, HC_EIO, "%s: %s", tmp, strerror(errno));
    bool ok = write(fd, text, 65) == 65 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        unlink(tmp);
        return hc_err_set(err, HC_EIO, "%s: cannot write", tmp);
    }
    int lrc = link(tmp, path);
    int lerr = errno;
    unlink(tmp);
    if (lrc != 0 && lerr != EEXIST) return hc_err_set(err, HC_EIO, "%s: %s", path, strerror(lerr));
    return read_key(path, hex, err) == 0 ? 0 : hc_err_set(err, HC_EIO, "%s: unreadable", path);
}

static void sign(const char *secret, const char *key, const char *exp, char sig[65]) {
    char msg[2200];
    int n = snprintf(msg, sizeof msg, "%s\n%s", key, exp);
    if (n < 0 || n >= (int)sizeof msg) n = (int)sizeof msg - 1;
    hc_hmac_sha256_hex(secret, msg, (size_t)n, sig);
}

bool http_sign_check(const hc_http_server *srv, struct MHD_Connection *conn, const char *key) {
    if (!srv->sign_secret[0]) return false;
    const char *exp = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "exp");
    const char *sig = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "sig");
    if (!exp || !sig || strlen(sig) != 64) return false;
    size_t n = strlen(exp);
    if (n == 0 || n > 18 || strspn(exp, "0123456789") != n) return false;
    long long e = strtoll(exp, NULL, 10);
    if (e < hc_wall_us() / 1000000) return false;
    char want[65];
    sign(srv->sign_secret, key, exp, want);
    unsigned char diff = 0;
    for (int i = 0; i < 64; i++)
        diff |= (unsigned char)(want[i] ^ sig[i]);
    return diff == 0;
}

static int hexv(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

char *http_sign_url(const hc_http_server *srv, const char *url) {
    if (!srv->sign_secret[0] || !url) return NULL;
    const char *key = NULL;
    for (int i = 0; i < 2 && !key; i++) {
        const char *p = srv->file_prefix[i];
        size_t n = p ? strlen(p) : 0;
        if (n && !strncmp(url, p, n)) key = url + n;
    }
    if (!key || !*key) return NULL;
    /* The key as the server will see it: percent-decoded like the request
     * path (unescape() in server.c keeps %00), without a query. */
    size_t klen = strcspn(key, "?#");
    char dec[2100];
    size_t o = 0;
    for (size_t i = 0; i < klen && o + 1 < sizeof dec; i++) {
        int hi, lo;
        if (key[i] == '%' && i + 2 < klen && (hi = hexv(key[i + 1])) >= 0 &&
            (lo = hexv(key[i + 2])) >= 0 && (hi | lo)) {
            dec[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            dec[o++] = key[i];
        }
    }
    dec[o] = 0;
    /* Expiry rounded up to the hour, so a polled status keeps one URL. */
    int64_t now = hc_wall_us() / 1000000;
    char exp[24], sig[65];
    snprintf(exp, sizeof exp, "%" PRId64, (now / 3600 + 1) * 3600 + SIGNED_URL_TTL_S);
    sign(srv->sign_secret, dec, exp, sig);
    size_t base = (size_t)(key - url) + klen;
    size_t cap = base + strlen(exp) + 80;
    char *out = hc_xmalloc(cap);
    snprintf(out, cap, "%.*s?exp=%s&sig=%s", (int)base, url, exp, sig);
    return out;
}

/* ---- serving ------------------------------------------------------------------ */

static const char *content_type(const char *key) {
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".mp4", "video/mp4"},
        {".m4v", "video/mp4"},
        {".mov", "video/quicktime"},
        {".webm", "video/webm"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".png", "image/png"},
        {".webp", "image/webp"},
        {".gif", "image/gif"},
        {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".m4a", "audio/mp4"},
        {".mp3", "audio/mpeg"},
        {".wav", "audio/wav"},
    };
    const char *dot = strrchr(key, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (!strcasecmp(dot, types[i].ext)) return types[i].type;
    return "application/octet-stream";
}

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

enum MHD_Result http_files_get(http_req *r) {
    hc_http_server *srv = r->srv;
    const char *key = r->rest;
    if (srv->keys && !r->authed && !http_sign_check(srv, r->conn, key))
        return http_reply_error(r, MHD_HTTP_UNAUTHORIZED, "UNAUTHORIZED",
                                "an API key or a valid, unexpired signed URL is required");
    if (hc_storage_key_check(key, NULL) != 0 || strstr(key, "%00"))
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "INVAL",
                                "file key: must be a relative path inside the outputs");
    char path[PATH_MAX], real[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", srv->outputs_real, key) >= (int)sizeof path ||
        !realpath(path, real) || strncmp(real, srv->outputs_real, srv->outputs_real_len) ||
        real[srv->outputs_real_len] != '/')
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "NOTFOUND", "no such file");
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "NOTFOUND", "no such file");
    }
    uint64_t size = (uint64_t)st.st_size;
    char etag[64], lastmod[40], crange[80];
    snprintf(etag, sizeof etag, "\"%" PRIx64 "-%" PRIx64 "\"", size,
             (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec);
    http_date(lastmod, sizeof lastmod, st.st_mtim.tv_sec);

    struct MHD_Response *resp = NULL;
    unsigned status = MHD_HTTP_OK;
    const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-None-Match");
    if (inm && etag_listed(inm, etag)) {
        close(fd);
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_NOT_MODIFIED;
        goto headers;
    }
    const char *range = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Range");
    const char *if_range = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-Range");
    if (range && if_range && strcmp(if_range, etag) && strcmp(if_range, lastmod))
        range = NULL; /* the client's copy is stale: send it all */
    uint64_t start = 0, len = size;
    range_kind rk = parse_range(range, size, &start, &len);
    if (rk == RANGE_UNSATISFIABLE) {
        close(fd);
        snprintf(crange, sizeof crange, "bytes */%" PRIu64, size);
        resp = http_error_response("RANGE_NOT_SATISFIABLE", "range: outside the file's size");
        if (resp) MHD_add_response_header(resp, "Content-Range", crange);
        status = MHD_HTTP_RANGE_NOT_SATISFIABLE;
        goto headers;
    }
    if (rk == RANGE_OK) {
        status = MHD_HTTP_PARTIAL_CONTENT;
        snprintf(crange, sizeof crange, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start,
                 start + len - 1, size);
    }
    if (len == 0) {
        close(fd);
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    } else {
        resp = MHD_create_response_from_fd_at_offset64(len, fd, start);
        if (!resp) close(fd);
    }
    if (resp) {
        MHD_add_response_header(resp, "Content-Type", content_type(key));
        if (rk == RANGE_OK) MHD_add_response_header(resp, "Content-Range", crange);
    }
headers:
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Accept-Ranges", "bytes");
    MHD_add_response_header(resp, "ETag", etag);
    MHD_add_response_header(resp, "Last-Modified", lastmod);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    return http_reply(r, status, resp);
}
