/* Signed links to stored outputs: when the HTTP API asks for keys, file
 * URLs carry ?exp=UNIX&sig=HEX, HEX being HMAC-SHA256 of "KEY\nEXP" under
 * a per-data-directory secret (DATA_DIR/url-signing.key, made once, mode
 * 0600), so a <video src> works without a header. The server signs status
 * URLs and checks requests; `hydra-compose jobs show` signs the same way.
 *
 * Invariant: the signed key is the percent-decoded key the server sees in
 * the request path, so encoding never breaks a signature. */
#include "jobs/hc_jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define SIGNED_URL_TTL_S (7 * 86400)

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

int hc_urlsign_key_load(const char *data_dir, char hex[65], hc_err *err) {
    char path[PATH_MAX], tmp[PATH_MAX + 32];
    if (snprintf(path, sizeof path, "%s/url-signing.key", data_dir) >= (int)sizeof path)
        return hc_err_set(err, HC_EINVAL, "%s: path too long", data_dir);
    int rc = read_key(path, hex, err);
    if (rc != HC_ENOTFOUND) return rc;

    unsigned char rnd[32];
    if (hc_random_bytes(rnd, sizeof rnd) != 0)
        return hc_err_set(err, HC_EIO, "%s: no kernel randomness for the key", path);
    char text[66];
    hc_hex(rnd, sizeof rnd, text);
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

bool hc_urlsign_check(const char *secret, const char *key, const char *exp, const char *sig) {
    if (!secret || !*secret || !exp || !sig || strlen(sig) != 64) return false;
    size_t n = strlen(exp);
    if (n == 0 || n > 18 || strspn(exp, "0123456789") != n) return false;
    long long e = strtoll(exp, NULL, 10);
    if (e < hc_wall_us() / 1000000) return false;
    char want[65];
    sign(secret, key, exp, want);
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

char *hc_urlsign(const char *secret, const char *prefix, const char *url) {
    size_t pn = prefix ? strlen(prefix) : 0;
    if (!secret || !*secret || !url || !pn || strncmp(url, prefix, pn) != 0) return NULL;
    const char *key = url + pn;
    if (!*key) return NULL;
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
    sign(secret, dec, exp, sig);
    size_t base = (size_t)(key - url) + klen;
    size_t cap = base + strlen(exp) + 80;
    char *out = hc_xmalloc(cap);
    snprintf(out, cap, "%.*s?exp=%s&sig=%s", (int)base, url, exp, sig);
    return out;
}
