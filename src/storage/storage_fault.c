/* The fault-injecting storage wrapper for tests: the nth call through it
 * (1-based, every operation but close and reader_fini counted) and, when
 * sticky, every later one fails with the chosen code; other calls go to
 * the wrapped storage unchanged, so failure paths of the worker, the
 * /files handler and the upload code can be driven on purpose.
 *
 * Invariant: the wrapper never changes what reaches the inner storage: a
 * call either fails before the inner one is made, or is the inner one. */
#include "storage/hc_storage.h"
#include "storage/storage_int.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct fault_priv {
    hc_storage *inner;
    hc_fault fault;
} fault_priv;

static hc_storage *inner_of(hc_storage *st) {
    return ((fault_priv *)hc_storage_priv(st))->inner;
}

/* Count this call; the injected code when it is the one (or later, sticky). */
static int fault_hit(hc_storage *st, hc_err *err) {
    fault_priv *p = hc_storage_priv(st);
    return hc_fault_hit(&p->fault, "storage", p->inner->spec, err);
}

static int fault_open(hc_storage *st, const char *arg, const hc_storage_env *env, hc_err *err) {
    (void)st;
    (void)arg;
    (void)env;
    return hc_err_set(err, HC_EUNSUPPORTED,
                      "storage: the fault wrapper is made by hc_storage_fault_wrap, not opened "
                      "by name");
}

static void fault_close(hc_storage *st) {
    hc_storage_close(inner_of(st));
}

static int fault_put(hc_storage *st, const char *key, const char *path,
                     const hc_storage_put_opts *o, hc_err *err) {
    int rc = fault_hit(st, err);
    return rc ? rc : hc_storage_put(inner_of(st), key, path, o, err);
}

static int fault_url(hc_storage *st, const char *bucket, const char *key, char **out, hc_err *err) {
    int rc = fault_hit(st, err);
    return rc ? rc : hc_storage_url(inner_of(st), bucket, key, out, err);
}

static int fault_sign_url(hc_storage *st, const char *url, int ttl_s, char **out, hc_err *err) {
    int rc = fault_hit(st, err);
    return rc ? rc : hc_storage_sign_url(inner_of(st), url, ttl_s, out, err);
}

static int fault_remove(hc_storage *st, const char *bucket, const char *key, hc_err *err) {
    int rc = fault_hit(st, err);
    return rc ? rc : hc_storage_remove(inner_of(st), bucket, key, err);
}

static int fault_cleanup(hc_storage *st, const char *key, hc_err *err) {
    int rc = fault_hit(st, err);
    return rc ? rc : hc_storage_cleanup(inner_of(st), key, err);
}

static int fault_stat(hc_storage *st, const char *bucket, const char *key, hc_storage_info *out,
                      hc_err *err) {
    int rc = fault_hit(st, err);
    return rc ? rc : hc_storage_stat(inner_of(st), bucket, key, out, err);
}

/* The wrapper's reader holds the inner reader in priv. */
static int fault_open_read(hc_storage *st, const char *bucket, const char *key,
                           hc_storage_reader *r, hc_err *err) {
    int rc = fault_hit(st, err);
    if (rc) return rc;
    hc_storage_reader *in = hc_xcalloc(1, sizeof *in);
    rc = hc_storage_open_read(inner_of(st), bucket, key, in, err);
    if (rc < 0) {
        hc_storage_reader_fini(in);
        free(in);
        return rc;
    }
    r->info = in->info;
    r->fd = in->fd;
    r->priv = in;
    return 0;
}

static int64_t fault_pread(hc_storage_reader *r, void *buf, size_t n, int64_t off, hc_err *err) {
    int rc = fault_hit(r->st, err);
    return rc ? rc : hc_storage_pread(r->priv, buf, n, off, err);
}

static void fault_close_read(hc_storage_reader *r) {
    hc_storage_reader *in = r->priv;
    if (r->fd < 0) in->fd = -1; /* the caller took the descriptor */
    hc_storage_reader_fini(in);
    free(r->priv);
    r->fd = -1; /* it was the inner reader's */
}

static const hc_storage_backend fault_backend = {
    .name = "fault",
    .priv_size = sizeof(fault_priv),
    .open = fault_open,
    .close = fault_close,
    .put = fault_put,
    .url = fault_url,
    .sign_url = fault_sign_url,
    .remove = fault_remove,
    .cleanup = fault_cleanup,
    .stat = fault_stat,
    .open_read = fault_open_read,
    .pread = fault_pread,
    .close_read = fault_close_read,
};

const hc_storage *storage_fault_inner(const hc_storage *st) {
    return st->backend == &fault_backend ? ((fault_priv *)hc_storage_priv((hc_storage *)st))->inner
                                         : NULL;
}

int hc_storage_fault_wrap(hc_storage *inner, int nth, int code, bool sticky, hc_storage **out) {
    if (!out) return HC_EINVAL;
    *out = NULL;
    hc_fault f;
    if (!inner || hc_fault_init(&f, nth, code, sticky) != 0) return HC_EINVAL;
    size_t n = strlen(inner->spec) + sizeof "fault:";
    char *spec = hc_xmalloc(n);
    snprintf(spec, n, "fault:%s", inner->spec);
    hc_storage *st = storage_alloc(&fault_backend, spec);
    free(spec);
    fault_priv *p = hc_storage_priv(st);
    p->inner = inner;
    hc_fault_init(&p->fault, nth, code, sticky);
    *out = st;
    return 0;
}
