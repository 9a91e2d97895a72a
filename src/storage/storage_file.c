/* The file storage ("file:DIR"): objects are files under DIR, handed out
 * as the server's /files/KEY URLs under the public URL (signed with the
 * URL-signing key when API keys are on).
 *
 * Invariants: a put copies the source to KEY.part beside the object (a
 * copy, not a link: the object must not change with its source) and
 * renames it over the object, so a reader sees the old file or the whole
 * new one;
 * nothing outside DIR is read or written: keys come checked by the
 * wrappers, and every path is also resolved (symlinks followed) and must
 * still lie inside DIR's own resolved path, the object itself opened with
 * O_NOFOLLOW. */
#include "storage/hc_storage.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK (1 << 20)

typedef struct file_priv {
    char *dir; /* as given */
    char real[PATH_MAX];
    size_t real_len;
    char *public_url; /* without trailing '/', NULL when unknown */
    char secret[65];  /* "" = unsigned links */
} file_priv;

static int file_open(hc_storage *st, const char *arg, const hc_storage_env *env, hc_err *err) {
    file_priv *p = hc_storage_priv(st);
    if (!arg || !*arg)
        return hc_err_set(err, HC_EINVAL, "HC_STORAGE \"%s\": file: needs a directory (file:DIR)",
                          st->spec);
    int rc = hc_mkdirs(arg, err);
    if (rc) return rc;
    if (!realpath(arg, p->real))
        return hc_err_set(err, HC_EIO, "HC_STORAGE %s: %s", st->spec, strerror(errno));
    p->real_len = strlen(p->real);
    p->dir = hc_strdup(arg);
    if (env->public_url && *env->public_url) {
        p->public_url = hc_strdup(env->public_url);
        for (size_t n = strlen(p->public_url); n > 0 && p->public_url[n - 1] == '/';)
            p->public_url[--n] = 0;
    }
    if (env->sign_secret) snprintf(p->secret, sizeof p->secret, "%s", env->sign_secret);
    return 0;
}

static void file_close(hc_storage *st) {
    file_priv *p = hc_storage_priv(st);
    free(p->dir);
    free(p->public_url);
}

/* Is the resolved path inside the resolved root (or the root itself when
 * self_ok)? */
static bool inside(const file_priv *p, const char *real, bool self_ok) {
    if (strncmp(real, p->real, p->real_len) != 0) return false;
    if (real[p->real_len] == 0) return self_ok;
    return real[p->real_len] == '/' || (p->real_len == 1 && p->real[0] == '/');
}

/* DIR/key[suffix] into buf. */
static int join(const file_priv *p, const char *key, const char *suffix, char *buf, size_t len,
                hc_err *err) {
    if (snprintf(buf, len, "%s/%s%s", p->real, key, suffix) >= (int)len)
        return hc_err_set(err, HC_EINVAL, "storage key %.100s: path too long", key);
    return 0;
}

/* mkdir -p the directory of path, which must resolve inside the root. */
static int parent_dir(const file_priv *p, const char *path, hc_err *err) {
    char dir[PATH_MAX], real[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) return 0;
    *slash = 0;
    int rc = hc_mkdirs(dir, err);
    if (rc) return rc;
    if (!realpath(dir, real) || !inside(p, real, true))
        return hc_err_set(err, HC_EINVAL, "storage %s: %s leads outside the storage directory",
                          p->dir, dir);
    return 0;
}

/* Copy src into the new file dst (mode 0644), reporting progress. */
static int copy_file(const char *src, int64_t total, const char *dst, const hc_storage_put_opts *o,
                     hc_err *err) {
    int rc = 0;
    char *buf = hc_xmalloc(COPY_CHUNK);
    int in = open(src, O_RDONLY | O_CLOEXEC);
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (in < 0 || out < 0) {
        rc = hc_err_set(err, HC_EIO, "storage put: %s: %s", in < 0 ? src : dst, strerror(errno));
        goto done;
    }
    int64_t done_bytes = 0;
    for (;;) {
        ssize_t n = read(in, buf, COPY_CHUNK);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rc = hc_err_set(err, HC_EIO, "storage put: reading %s: %s", src, strerror(errno));
            goto done;
        }
        if (n == 0) break;
        for (ssize_t w = 0; w < n;) {
            ssize_t k = write(out, buf + w, (size_t)(n - w));
            if (k < 0 && errno == EINTR) continue;
            if (k < 0) {
                rc = hc_err_set(err, HC_EIO, "storage put: writing %s: %s", dst, strerror(errno));
                goto done;
            }
            w += k;
        }
        done_bytes += n;
        if (o->progress && !o->progress(o->ud, done_bytes, total)) {
            rc = hc_err_set(err, HC_ECANCELED, "storage put: canceled");
            goto done;
        }
    }
    if (fsync(out) != 0) rc = hc_err_set(err, HC_EIO, "storage put: %s: %s", dst, strerror(errno));
done:
    if (in >= 0) close(in);
    if (out >= 0 && close(out) != 0 && rc == 0)
        rc = hc_err_set(err, HC_EIO, "storage put: %s: %s", dst, strerror(errno));
    free(buf);
    return rc;
}

static int file_put(hc_storage *st, const char *key, const char *path, const hc_storage_put_opts *o,
                    hc_err *err) {
    file_priv *p = hc_storage_priv(st);
    char dst[PATH_MAX], tmp[PATH_MAX];
    struct stat sb;
    int rc;
    if (stat(path, &sb) != 0)
        return hc_err_set(err, HC_EIO, "storage put %s: %s: %s", key, path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return hc_err_set(err, HC_EIO, "storage put %s: %s: not a regular file", key, path);
    if ((rc = join(p, key, "", dst, sizeof dst, err)) ||
        (rc = join(p, key, ".part", tmp, sizeof tmp, err)) || (rc = parent_dir(p, dst, err)))
        return rc;
    unlink(tmp);
    rc = copy_file(path, sb.st_size, tmp, o, err);
    if (rc == 0 && rename(tmp, dst) != 0)
        rc = hc_err_set(err, HC_EIO, "storage put: %s: %s", dst, strerror(errno));
    if (rc != 0) unlink(tmp);
    return rc;
}

/* base + "/files/" + key, percent-encoding all but unreserved and '/'. */
static int file_url(hc_storage *st, const char *bucket, const char *key, char **out, hc_err *err) {
    (void)bucket;
    file_priv *p = hc_storage_priv(st);
    if (!p->public_url)
        return hc_err_set(err, HC_EUNSUPPORTED,
                          "storage %s: no public URL (HC_PUBLIC_URL) to make /files links with",
                          st->spec);
    hc_buf b = {0};
    hc_buf_printf(&b, "%s/files/", p->public_url);
    hc_url_encode(&b, key, strlen(key), true);
    *out = b.p;
    return 0;
}

/* Signed with the URL-signing key when one is set (API keys on); the
 * prefix is the public URL's, else the link's own "<origin>/files/" (the
 * server answers on its bound address too). urlsign's own lifetime (7
 * days, rounded to the hour so a polled status keeps one link) applies:
 * ttl_s is S3's. */
static int file_sign_url(hc_storage *st, const char *url, int ttl_s, char **out, hc_err *err) {
    (void)ttl_s;
    (void)err;
    file_priv *p = hc_storage_priv(st);
    char *s = NULL;
    if (p->secret[0]) {
        char prefix[2048];
        size_t pn = p->public_url ? strlen(p->public_url) : 0;
        if (pn && !strncmp(url, p->public_url, pn) && !strncmp(url + pn, "/files/", 7)) {
            snprintf(prefix, sizeof prefix, "%s/files/", p->public_url);
            s = hc_urlsign(p->secret, prefix, url);
        } else {
            const char *origin = strstr(url, "://");
            const char *files = origin ? strstr(origin + 3, "/files/") : NULL;
            if (files && files - url + 7 < (long)sizeof prefix) {
                snprintf(prefix, sizeof prefix, "%.*s", (int)(files - url + 7), url);
                s = hc_urlsign(p->secret, prefix, url);
            }
        }
    }
    *out = s ? s : hc_strdup(url);
    return 0;
}

static int file_unlink(hc_storage *st, const char *key, const char *suffix, hc_err *err) {
    file_priv *p = hc_storage_priv(st);
    char path[PATH_MAX];
    int rc = join(p, key, suffix, path, sizeof path, err);
    if (rc) return rc;
    if (unlink(path) != 0 && errno != ENOENT && errno != ENOTDIR)
        return hc_err_set(err, HC_EIO, "storage remove: %s: %s", path, strerror(errno));
    return 0;
}

static int file_remove(hc_storage *st, const char *bucket, const char *key, hc_err *err) {
    (void)bucket;
    int rc = file_unlink(st, key, "", err);
    return rc ? rc : file_unlink(st, key, ".part", err);
}

static int file_cleanup(hc_storage *st, const char *key, hc_err *err) {
    return file_unlink(st, key, ".part", err);
}

/* Open key read-only, resolved inside the root; its info from fstat. */
static int open_object(hc_storage *st, const char *key, int *fd_out, hc_storage_info *info,
                       hc_err *err) {
    file_priv *p = hc_storage_priv(st);
    char path[PATH_MAX], real[PATH_MAX];
    int rc = join(p, key, "", path, sizeof path, err);
    if (rc) return rc;
    if (!realpath(path, real) || !inside(p, real, false))
        return hc_err_set(err, HC_ENOTFOUND, "storage %s: no object %.200s", st->spec, key);
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0) close(fd);
        return hc_err_set(err, HC_ENOTFOUND, "storage %s: no object %.200s", st->spec, key);
    }
    info->size_bytes = sb.st_size;
    info->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    snprintf(info->etag, sizeof info->etag, "\"%" PRIx64 "-%" PRIx64 "\"", (uint64_t)sb.st_size,
             (uint64_t)info->mtime_ns);
    snprintf(info->content_type, sizeof info->content_type, "%s", hc_storage_content_type(key));
    *fd_out = fd;
    return 0;
}

static int file_stat(hc_storage *st, const char *bucket, const char *key, hc_storage_info *out,
                     hc_err *err) {
    (void)bucket;
    int fd = -1;
    int rc = open_object(st, key, &fd, out, err);
    if (fd >= 0) close(fd);
    return rc;
}

static int file_open_read(hc_storage *st, const char *bucket, const char *key, hc_storage_reader *r,
                          hc_err *err) {
    (void)bucket;
    return open_object(st, key, &r->fd, &r->info, err);
}

static int64_t file_pread(hc_storage_reader *r, void *buf, size_t n, int64_t off, hc_err *err) {
    for (;;) {
        ssize_t k = pread(r->fd, buf, n, off);
        if (k >= 0) return k;
        if (errno != EINTR) return hc_err_set(err, HC_EIO, "storage read: %s", strerror(errno));
    }
}

static void file_close_read(hc_storage_reader *r) {
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
}

const hc_storage_backend hc_storage_file = {
    .name = "file",
    .priv_size = sizeof(file_priv),
    .open = file_open,
    .close = file_close,
    .put = file_put,
    .url = file_url,
    .sign_url = file_sign_url,
    .remove = file_remove,
    .cleanup = file_cleanup,
    .stat = file_stat,
    .open_read = file_open_read,
    .pread = file_pread,
    .close_read = file_close_read,
};
