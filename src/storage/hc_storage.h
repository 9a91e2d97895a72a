/* Output storage: where finished videos and posters go and how they are
 * handed out (DESIGN.md §7, §10 HC_STORAGE, §11 "Object keys"). An
 * interface in the store's manner: a const backend descriptor of function
 * pointers, an instance pointing at it, one public wrapper per operation,
 * and a table to find a backend by the spec's name:
 *   "file:DIR"            objects are files under DIR, served by /files
 *   "mem:"                objects in memory (the fake, for tests)
 *   "s3://BUCKET/PREFIX"  objects in S3 under PREFIX/ (no prefix if empty)
 *
 * Objects are named by a key checked with hc_storage_key_check (relative,
 * no "..", "." or empty segment, no backslash or control character) and,
 * for S3 only, an optional bucket: a request's output.s3_bucket puts the
 * object into that bucket at exactly the key, no prefix. A file: or mem:
 * storage given a bucket answers HC_EUNSUPPORTED; the worker therefore
 * ignores output.s3_bucket there (with a warning on the job) and keeps
 * the key under the storage root: the original engine's clients send a
 * bucket with every request, and refusing them at submit would make the
 * default deployment incompatible with them (DESIGN.md §2).
 *
 * Invariants every backend keeps (tests/contract/test_storage.c checks
 * them against each one):
 *  - a put is atomic: readers see the old object or the whole new one,
 *    never a part (file: a temporary beside the object, renamed; S3: one
 *    PUT, or a multipart upload that is only visible once completed and is
 *    aborted when it fails);
 *  - nothing outside the storage root is ever read or written: keys are
 *    checked by the wrappers before any backend sees them, and file: also
 *    refuses a path whose resolved form (symlinks followed) leaves DIR;
 *  - the URL stored for an object (hc_storage_url) is plain: no expiring
 *    signature; hc_storage_sign_url makes the link handed out at read
 *    time (a signed /files link when API keys are on, an S3 presigned GET).
 *
 * Threads: a storage handle may be used from several threads at once. */
#ifndef HC_STORAGE_H
#define HC_STORAGE_H

#include "core/hc_core.h"
#include "jobs/hc_jobs.h"

typedef struct hc_storage hc_storage;

/* What a backend needs from the process around it (all borrowed, copied
 * at open). */
typedef struct hc_storage_env {
    /* file: base of the server's /files URLs ("http://host:port"); NULL or
     * "" = none known (then hc_storage_url fails with HC_EUNSUPPORTED). */
    const char *public_url;
    /* file: the URL-signing key (64 hex digits, hc_urlsign_key_load) when
     * API keys are on; NULL or "" = links are handed out unsigned. */
    const char *sign_secret;
    /* s3: single PUT up to this size, multipart above (0 = 16 MiB), and
     * the part size (0 = 8 MiB; at least 5 MiB on AWS, any size >= 1 for
     * tests against a local server). */
    int64_t s3_multipart_threshold_bytes;
    int64_t s3_part_size_bytes;
} hc_storage_env;

/* Size, change time and tag of a stored object. */
typedef struct hc_storage_info {
    int64_t size_bytes;
    int64_t mtime_ns;       /* last modification, Unix nanoseconds (0 = unknown) */
    char etag[96];          /* quoted entity tag, e.g. "\"1f-17a...\"" */
    char content_type[128]; /* as stored, or from the key's extension */
} hc_storage_info;

/* An object opened for reading (hc_storage_open_read): info, and for
 * file: an open descriptor the HTTP server can send from directly. Caller
 * storage; hc_storage_reader_fini closes. */
typedef struct hc_storage_reader {
    hc_storage *st;
    hc_storage_info info;
    int fd;     /* file: read-only descriptor on the object (owned), else -1 */
    void *priv; /* the backend's (owned) */
} hc_storage_reader;

/* Options of one put. */
typedef struct hc_storage_put_opts {
    const char *content_type; /* NULL: from the key's extension (hc_storage_content_type) */
    const char *bucket;       /* s3: output.s3_bucket (exactly key in it, no prefix); NULL = own */
    /* Bytes uploaded so far of total, at least after every part or MiB;
     * return false to stop the upload (HC_ECANCELED, nothing left
     * behind). May be NULL. Called from the caller's thread. */
    bool (*progress)(void *ud, int64_t done_bytes, int64_t total_bytes);
    void *ud;
} hc_storage_put_opts;

typedef struct hc_storage_backend {
    const char *name; /* "file", "mem", "s3" */
    bool buckets;     /* takes a bucket per object (output.s3_bucket) */
    size_t priv_size; /* bytes of private state, zeroed, at hc_storage_priv(st) */
    /* arg: what follows "name:" in the spec (DIR; "" for mem;
     * "//BUCKET/PREFIX" for s3). */
    int (*open)(hc_storage *st, const char *arg, const hc_storage_env *env, hc_err *err);
    void (*close)(hc_storage *st);
    /* Store the local file at path as key (replacing it). */
    int (*put)(hc_storage *st, const char *key, const char *path, const hc_storage_put_opts *o,
               hc_err *err);
    /* The plain URL of key (caller frees *out with free()). */
    int (*url)(hc_storage *st, const char *bucket, const char *key, char **out, hc_err *err);
    /* The link to hand out for a URL this storage made (signed or presigned
     * for ttl_s seconds; a copy when nothing needs signing, or when the
     * URL is not this storage's). */
    int (*sign_url)(hc_storage *st, const char *url, int ttl_s, char **out, hc_err *err);
    /* Remove key; a missing key is fine. */
    int (*remove)(hc_storage *st, const char *bucket, const char *key, hc_err *err);
    /* Remove what an interrupted put of key may have left (never the
     * object itself). */
    int (*cleanup)(hc_storage *st, const char *key, hc_err *err);
    /* HC_ENOTFOUND when key does not exist. */
    int (*stat)(hc_storage *st, const char *bucket, const char *key, hc_storage_info *out,
                hc_err *err);
    /* Fill r (fd = -1, info, priv); HC_ENOTFOUND when absent. */
    int (*open_read)(hc_storage *st, const char *bucket, const char *key, hc_storage_reader *r,
                     hc_err *err);
    /* Up to n bytes at off into buf: bytes read (0 at the end) or HC_E*. */
    int64_t (*pread)(hc_storage_reader *r, void *buf, size_t n, int64_t off, hc_err *err);
    void (*close_read)(hc_storage_reader *r);
} hc_storage_backend;

struct hc_storage {
    const hc_storage_backend *backend;
    char *spec; /* as opened, e.g. "file:/data/outputs" (owned) */
    /* private state follows (priv_size bytes) */
};

static inline void *hc_storage_priv(hc_storage *st) {
    return (void *)(st + 1);
}

extern const hc_storage_backend hc_storage_file;
extern const hc_storage_backend hc_storage_mem;
extern const hc_storage_backend hc_storage_s3;
/* Find a backend by name; NULL if unknown. */
const hc_storage_backend *hc_storage_find(const char *name);

/* Open "file:DIR", "mem:" or "s3://BUCKET/PREFIX" (env may be NULL). On
 * success *out is a new storage (caller closes with hc_storage_close).
 * HC_EINVAL naming the spec when it is malformed. */
int hc_storage_open(const char *spec, const hc_storage_env *env, hc_storage **out, hc_err *err);
void hc_storage_close(hc_storage *st); /* NULL is a no-op */
/* The directory of a file: storage (borrowed), NULL for other backends. */
const char *hc_storage_dir(const hc_storage *st);
/* Does the storage have buckets (S3), so output.s3_bucket can be honoured? */
bool hc_storage_has_buckets(const hc_storage *st);

/* The wrappers: key and argument checks, then the backend. bucket may be
 * NULL everywhere (the storage's own root). */
int hc_storage_put(hc_storage *st, const char *key, const char *path, const hc_storage_put_opts *o,
                   hc_err *err);
int hc_storage_url(hc_storage *st, const char *bucket, const char *key, char **out, hc_err *err);
/* ttl_s: 1..604800 (HC_PRESIGN_TTL_S). *out: caller frees with free(). */
int hc_storage_sign_url(hc_storage *st, const char *url, int ttl_s, char **out, hc_err *err);
int hc_storage_remove(hc_storage *st, const char *bucket, const char *key, hc_err *err);
int hc_storage_cleanup(hc_storage *st, const char *key, hc_err *err);
int hc_storage_stat(hc_storage *st, const char *bucket, const char *key, hc_storage_info *out,
                    hc_err *err);
/* Open key for reading into r (caller finis it with hc_storage_reader_fini,
 * also after a failure). */
int hc_storage_open_read(hc_storage *st, const char *bucket, const char *key, hc_storage_reader *r,
                         hc_err *err);
int64_t hc_storage_pread(hc_storage_reader *r, void *buf, size_t n, int64_t off, hc_err *err);
void hc_storage_reader_fini(hc_storage_reader *r);

/* "video/mp4" for ".mp4", "image/jpeg" for ".jpg", ...;
 * "application/octet-stream" when unknown. */
const char *hc_storage_content_type(const char *key);

/* ---- S3 inputs (storage_s3.c) --------------------------------------------
 * Request inputs that name an S3 object: s3://BUCKET/KEY, an S3
 * virtual-host or path-style https URL (BUCKET.s3.REGION.amazonaws.com/KEY,
 * s3.REGION.amazonaws.com/BUCKET/KEY), or a path-style URL under
 * AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL. The resolver turns them into
 * presigned GETs (15 minutes) under the process's AWS credentials, for
 * hc_fetch_set_s3: the download then goes to the storage endpoint as
 * infrastructure (unguarded), and private objects work. Thread-safe. */
typedef struct hc_storage_s3_inputs hc_storage_s3_inputs;
/* From the environment (hc_aws_open). Caller closes. */
int hc_storage_s3_inputs_open(hc_storage_s3_inputs **out, hc_err *err);
void hc_storage_s3_inputs_close(hc_storage_s3_inputs *in); /* NULL is a no-op */
/* An hc_fetch_s3_fn (ud: the hc_storage_s3_inputs): 1 with *signed_url
 * (caller frees) for an S3 object; 0 for any other URL, an https S3 URL
 * that already carries a query, or one when no credentials are at hand
 * (a public object: fetched as it is); HC_EINVAL for s3:// with a bad
 * bucket name or no key, HC_EIO/HC_ENET for s3:// without credentials or
 * region, the reason in err. */
int hc_storage_s3_inputs_resolve(void *in, const char *url, char **signed_url, hc_err *err);

/* Fault injection for tests: wrap inner so that the nth call (1-based,
 * counting every operation but close and reader_fini) and, if sticky,
 * every later one fails with code. The wrapper owns inner and closes it. */
int hc_storage_fault_wrap(hc_storage *inner, int nth, int code, bool sticky, hc_storage **out);

#endif
