/* The in-memory storage ("mem:"), the fake for tests: objects are byte
 * buffers in one list under a mutex, addressed as "mem://KEY".
 *
 * Invariant: a put reads the whole source first and swaps the object in
 * under the lock, so a reader sees the old bytes or the new ones; a reader
 * holds its own reference to the bytes it opened, so a later put or remove
 * never changes what an open reader reads. */
#include "storage/hc_storage.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CHUNK (1 << 20)

/* Shared, reference-counted object bytes. */
typedef struct blob {
    atomic_int refs;
    char *data;
    int64_t size;
} blob;

typedef struct obj {
    char *key;
    blob *b;
    hc_storage_info info;
} obj;

typedef struct mem_priv {
    pthread_mutex_t mu;
    obj *v;
    int n, cap;
    uint64_t version; /* makes each put's etag new */
} mem_priv;

static void blob_unref(blob *b) {
    if (b && atomic_fetch_sub(&b->refs, 1) == 1) {
        free(b->data);
        free(b);
    }
}

static int mem_open(hc_storage *st, const char *arg, const hc_storage_env *env, hc_err *err) {
    (void)env;
    if (arg && *arg)
        return hc_err_set(err, HC_EINVAL, "HC_STORAGE \"%s\": mem: takes no argument", st->spec);
    mem_priv *p = hc_storage_priv(st);
    pthread_mutex_init(&p->mu, NULL);
    return 0;
}

static void mem_close(hc_storage *st) {
    mem_priv *p = hc_storage_priv(st);
    for (int i = 0; i < p->n; i++) {
        free(p->v[i].key);
        blob_unref(p->v[i].b);
    }
    free(p->v);
    pthread_mutex_destroy(&p->mu);
}

/* Index of key, or -1. Lock held. */
static int find(const mem_priv *p, const char *key) {
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->v[i].key, key)) return i;
    return -1;
}

static int mem_put(hc_storage *st, const char *key, const char *path, const hc_storage_put_opts *o,
                   hc_err *err) {
    mem_priv *p = hc_storage_priv(st);
    int rc = 0;
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = hc_err_set(err, HC_EIO, "storage put %s: %s: %s", key, path,
                        f ? "not a regular file" : strerror(errno));
        if (f) fclose(f);
        return rc;
    }
    hc_buf data = {0};
    int64_t total = sb.st_size;
    for (;;) {
        hc_buf_reserve(&data, CHUNK);
        size_t n = fread(data.p + data.n, 1, CHUNK, f);
        data.n += n;
        if (n == 0) break;
        if (o->progress && !o->progress(o->ud, (int64_t)data.n, total)) {
            rc = hc_err_set(err, HC_ECANCELED, "storage put: canceled");
            break;
        }
    }
    if (rc == 0 && ferror(f))
        rc = hc_err_set(err, HC_EIO, "storage put: reading %s: %s", path, strerror(errno));
    fclose(f);
    if (rc) {
        hc_buf_fini(&data);
        return rc;
    }
    blob *b = hc_xcalloc(1, sizeof *b);
    atomic_init(&b->refs, 1);
    b->data = data.p;
    b->size = (int64_t)data.n;
    pthread_mutex_lock(&p->mu);
    int i = find(p, key);
    if (i < 0) {
        if (p->n == p->cap) {
            p->cap = p->cap ? 2 * p->cap : 8;
            obj *v = realloc(p->v, (size_t)p->cap * sizeof *v);
            if (!v) abort();
            p->v = v;
        }
        i = p->n++;
        p->v[i].key = hc_strdup(key);
        p->v[i].b = NULL;
    }
    blob_unref(p->v[i].b);
    p->v[i].b = b;
    hc_storage_info *info = &p->v[i].info;
    memset(info, 0, sizeof *info);
    info->size_bytes = b->size;
    info->mtime_ns = hc_wall_us() * 1000;
    snprintf(info->etag, sizeof info->etag, "\"mem-%" PRIu64 "\"", ++p->version);
    snprintf(info->content_type, sizeof info->content_type, "%s",
             o->content_type ? o->content_type : hc_storage_content_type(key));
    pthread_mutex_unlock(&p->mu);
    return 0;
}

static int mem_url(hc_storage *st, const char *bucket, const char *key, char **out, hc_err *err) {
    (void)st;
    (void)bucket;
    (void)err;
    hc_buf b = {0};
    hc_buf_puts(&b, "mem://");
    hc_url_encode(&b, key, strlen(key), true);
    *out = b.p;
    return 0;
}

/* Nothing signs a memory object: the link is the URL. */
static int mem_sign_url(hc_storage *st, const char *url, int ttl_s, char **out, hc_err *err) {
    (void)st;
    (void)ttl_s;
    (void)err;
    *out = hc_strdup(url);
    return 0;
}

static int mem_remove(hc_storage *st, const char *bucket, const char *key, hc_err *err) {
    (void)bucket;
    (void)err;
    mem_priv *p = hc_storage_priv(st);
    pthread_mutex_lock(&p->mu);
    int i = find(p, key);
    if (i >= 0) {
        free(p->v[i].key);
        blob_unref(p->v[i].b);
        p->v[i] = p->v[--p->n];
    }
    pthread_mutex_unlock(&p->mu);
    return 0;
}

/* A put is all or nothing here: nothing is ever left over. */
static int mem_cleanup(hc_storage *st, const char *key, hc_err *err) {
    (void)st;
    (void)key;
    (void)err;
    return 0;
}

static int mem_stat(hc_storage *st, const char *bucket, const char *key, hc_storage_info *out,
                    hc_err *err) {
    (void)bucket;
    mem_priv *p = hc_storage_priv(st);
    pthread_mutex_lock(&p->mu);
    int i = find(p, key);
    if (i >= 0) *out = p->v[i].info;
    pthread_mutex_unlock(&p->mu);
    return i >= 0 ? 0 : hc_err_set(err, HC_ENOTFOUND, "storage mem: no object %.200s", key);
}

static int mem_open_read(hc_storage *st, const char *bucket, const char *key, hc_storage_reader *r,
                         hc_err *err) {
    (void)bucket;
    mem_priv *p = hc_storage_priv(st);
    pthread_mutex_lock(&p->mu);
    int i = find(p, key);
    if (i >= 0) {
        r->info = p->v[i].info;
        atomic_fetch_add(&p->v[i].b->refs, 1);
        r->priv = p->v[i].b;
    }
    pthread_mutex_unlock(&p->mu);
    return i >= 0 ? 0 : hc_err_set(err, HC_ENOTFOUND, "storage mem: no object %.200s", key);
}

static int64_t mem_pread(hc_storage_reader *r, void *buf, size_t n, int64_t off, hc_err *err) {
    (void)err;
    const blob *b = r->priv;
    if (off >= b->size) return 0;
    if ((int64_t)n > b->size - off) n = (size_t)(b->size - off);
    memcpy(buf, b->data + off, n);
    return (int64_t)n;
}

static void mem_close_read(hc_storage_reader *r) {
    blob_unref(r->priv);
    r->priv = NULL;
}

const hc_storage_backend hc_storage_mem = {
    .name = "mem",
    .priv_size = sizeof(mem_priv),
    .open = mem_open,
    .close = mem_close,
    .put = mem_put,
    .url = mem_url,
    .sign_url = mem_sign_url,
    .remove = mem_remove,
    .cleanup = mem_cleanup,
    .stat = mem_stat,
    .open_read = mem_open_read,
    .pread = mem_pread,
    .close_read = mem_close_read,
};
