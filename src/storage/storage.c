/* The storage's front: backends found by name, the public wrappers (which
 * check keys and arguments before any backend sees them) and content
 * types. The fault-injecting wrapper is in storage_fault.c.
 *
 * Invariant: no backend is ever handed a key that hc_storage_key_check
 * refuses, nor a bucket on a backend without buckets, so each backend may
 * join keys to its root without checking them again. */
#include "storage/hc_storage.h"
#include "storage/storage_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- backends by name ----------------------------------------------------- */

static const hc_storage_backend *const backends[] = {&hc_storage_file, &hc_storage_mem,
                                                     &hc_storage_s3};

const hc_storage_backend *hc_storage_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strcmp(backends[i]->name, name) == 0) return backends[i];
    return NULL;
}

hc_storage *storage_alloc(const hc_storage_backend *b, const char *spec) {
    hc_storage *st = hc_xcalloc(1, sizeof *st + b->priv_size);
    st->backend = b;
    st->spec = hc_strdup(spec);
    return st;
}

static void storage_free(hc_storage *st) {
    free(st->spec);
    free(st);
}

int hc_storage_open(const char *spec, const hc_storage_env *env, hc_storage **out, hc_err *err) {
    static const hc_storage_env no_env = {0};
    int rc = 0;
    char name[32];
    if (out) *out = NULL;
    if (!spec || !*spec || !out) return hc_err_set(err, HC_EINVAL, "HC_STORAGE: empty spec");
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    if (n >= sizeof name) n = sizeof name - 1;
    memcpy(name, spec, n);
    name[n] = 0;
    const hc_storage_backend *b = colon ? hc_storage_find(name) : NULL;
    if (!b)
        return hc_err_set(err, HC_EINVAL,
                          "HC_STORAGE \"%s\": unknown storage (expected file:DIR or "
                          "s3://BUCKET/PREFIX)",
                          spec);
    hc_storage *st = storage_alloc(b, spec);
    rc = b->open(st, colon + 1, env ? env : &no_env, err);
    if (rc < 0) {
        storage_free(st);
        return rc;
    }
    *out = st;
    return 0;
}

void hc_storage_close(hc_storage *st) {
    if (!st) return;
    st->backend->close(st);
    storage_free(st);
}

const char *hc_storage_dir(const hc_storage *st) {
    if (!st || st->backend != &hc_storage_file) return NULL;
    return st->spec + strlen("file:");
}

bool hc_storage_has_buckets(const hc_storage *st) {
    for (const hc_storage *in; st && (in = storage_fault_inner(st));)
        st = in;
    return st && st->backend->buckets;
}

/* ---- wrappers ------------------------------------------------------------- */

static int check_key(const hc_storage *st, const char *key, hc_err *err) {
    if (!st) return hc_err_set(err, HC_EINVAL, "storage: not open");
    int rc = hc_storage_key_check(key, err);
    if (rc) hc_err_prefix(err, "storage key \"%.200s\": ", key ? key : "");
    return rc;
}

/* Buckets are S3's: elsewhere a bucket is a caller's mistake. */
static int check_bucket(const hc_storage *st, const char *bucket, hc_err *err) {
    if (bucket && !hc_storage_has_buckets(st))
        return hc_err_set(err, HC_EUNSUPPORTED,
                          "output.s3_bucket \"%.100s\": %s storage has no buckets", bucket,
                          st->backend->name);
    if (bucket && !*bucket) return hc_err_set(err, HC_EINVAL, "output.s3_bucket: empty");
    return 0;
}

int hc_storage_put(hc_storage *st, const char *key, const char *path, const hc_storage_put_opts *o,
                   hc_err *err) {
    static const hc_storage_put_opts none = {0};
    int rc = check_key(st, key, err);
    if (rc) return rc;
    if (!path || !*path) return hc_err_set(err, HC_EINVAL, "storage put %s: no source file", key);
    if (!o) o = &none;
    if ((rc = check_bucket(st, o->bucket, err))) return rc;
    return st->backend->put(st, key, path, o, err);
}

int hc_storage_url(hc_storage *st, const char *bucket, const char *key, char **out, hc_err *err) {
    if (out) *out = NULL;
    int rc = check_key(st, key, err);
    if (rc) return rc;
    if (!out) return hc_err_set(err, HC_EINVAL, "storage url: no output");
    if ((rc = check_bucket(st, bucket, err))) return rc;
    return st->backend->url(st, bucket, key, out, err);
}

int hc_storage_sign_url(hc_storage *st, const char *url, int ttl_s, char **out, hc_err *err) {
    if (out) *out = NULL;
    if (!st || !url || !out) return hc_err_set(err, HC_EINVAL, "storage sign: no storage or URL");
    if (ttl_s < 1 || ttl_s > 604800)
        return hc_err_set(err, HC_EINVAL, "HC_PRESIGN_TTL_S: must be 1..604800, not %d", ttl_s);
    return st->backend->sign_url(st, url, ttl_s, out, err);
}

int hc_storage_remove(hc_storage *st, const char *bucket, const char *key, hc_err *err) {
    int rc = check_key(st, key, err);
    if (rc || (rc = check_bucket(st, bucket, err))) return rc;
    return st->backend->remove(st, bucket, key, err);
}

int hc_storage_cleanup(hc_storage *st, const char *key, hc_err *err) {
    int rc = check_key(st, key, err);
    return rc ? rc : st->backend->cleanup(st, key, err);
}

int hc_storage_stat(hc_storage *st, const char *bucket, const char *key, hc_storage_info *out,
                    hc_err *err) {
    if (out) memset(out, 0, sizeof *out);
    int rc = check_key(st, key, err);
    if (rc || (rc = check_bucket(st, bucket, err))) return rc;
    if (!out) return hc_err_set(err, HC_EINVAL, "storage stat: no output");
    return st->backend->stat(st, bucket, key, out, err);
}

int hc_storage_open_read(hc_storage *st, const char *bucket, const char *key, hc_storage_reader *r,
                         hc_err *err) {
    if (!r) return hc_err_set(err, HC_EINVAL, "storage read: no reader");
    memset(r, 0, sizeof *r);
    r->fd = -1;
    int rc = check_key(st, key, err);
    if (rc || (rc = check_bucket(st, bucket, err))) return rc;
    r->st = st;
    rc = st->backend->open_read(st, bucket, key, r, err);
    if (rc < 0) r->st = NULL; /* nothing to close */
    return rc;
}

int64_t hc_storage_pread(hc_storage_reader *r, void *buf, size_t n, int64_t off, hc_err *err) {
    if (!r || !r->st || (!buf && n) || off < 0)
        return hc_err_set(err, HC_EINVAL, "storage read: not open or bad arguments");
    if (off >= r->info.size_bytes || n == 0) return 0;
    if ((uint64_t)n > (uint64_t)(r->info.size_bytes - off)) n = (size_t)(r->info.size_bytes - off);
    return r->st->backend->pread(r, buf, n, off, err);
}

void hc_storage_reader_fini(hc_storage_reader *r) {
    if (!r) return;
    if (r->st) r->st->backend->close_read(r);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

const char *hc_storage_content_type(const char *key) {
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
    const char *dot = key ? strrchr(key, '.') : NULL;
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (!strcasecmp(dot, types[i].ext)) return types[i].type;
    return "application/octet-stream";
}
