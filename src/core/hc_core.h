/* Core building blocks shared by every module: error codes and the
 * caller-passed error message, JSON-lines logging, a planar YUV 4:2:0 image
 * buffer, small string and clock helpers.
 *
 * Invariant: nothing here depends on any other module or on FFmpeg/libvips;
 * every other module may include this header. */
#ifndef HC_CORE_H
#define HC_CORE_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

/* ---- errors --------------------------------------------------------------
 * Fallible functions return 0 or a negative HC_E* code from this one list.
 * The exit class says what `render`/`worker` exit with (DESIGN.md §12): 2 =
 * the request or its media is unusable (the caller's fault), 3 = a
 * transient failure worth another attempt (store or storage unreachable,
 * throttled, interrupted by SIGTERM: Batch's retry strategy retries it),
 * 1 = anything else. */
#define HC_ERRNO_MAP(X)                                                                            \
    X(INVAL, -1, 2, "invalid request")                                                             \
    X(MEDIA, -2, 2, "unusable input media")                                                        \
    X(TOOBIG, -3, 2, "input too large")                                                            \
    X(NOMEM, -4, 1, "out of memory")                                                               \
    X(IO, -5, 1, "input/output error")                                                             \
    X(NET, -6, 1, "network error")                                                                 \
    X(TIMEOUT, -7, 1, "timed out")                                                                 \
    X(ENCODER, -8, 1, "encoder error")                                                             \
    X(CANCELED, -9, 1, "canceled")                                                                 \
    X(NOTFOUND, -10, 1, "not found")                                                               \
    X(UNSUPPORTED, -11, 1, "not supported")                                                        \
    X(INTERNAL, -12, 1, "internal error")                                                          \
    X(EXISTS, -13, 1, "already exists")                                                            \
    X(CONFLICT, -14, 1, "state conflict")                                                          \
    X(TRANSIENT, -15, 3, "transient failure, worth another attempt")

enum {
    HC_OK = 0,
#define HC_ERR_ENUM_(name, val, cls, str) HC_E##name = val,
    HC_ERRNO_MAP(HC_ERR_ENUM_)
#undef HC_ERR_ENUM_
};

/* A human-readable error for users: names the field or file and the rule,
 * e.g. `images[2].url: unsupported scheme "ftp"`. */
typedef struct hc_err {
    int code;
    char msg[1024];
} hc_err;

/* Short text for a code ("invalid request"); never NULL. */
const char *hc_strerror(int code);
/* Stable machine name for a code ("INVAL"), for JSON error objects. */
const char *hc_errname(int code);
/* Process exit code for a failure code: 0 for HC_OK, 2, 3 or 1 (see above). */
int hc_err_exit_code(int code);
/* Record code and message in err (which may be NULL) unless err already
 * holds an error; returns code so callers can `return hc_err_set(...)`. */
int hc_err_set(hc_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefix an existing message: "images[2]: " + old message. */
void hc_err_prefix(hc_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hc_err_clear(hc_err *err);

/* ---- logging -------------------------------------------------------------
 * One JSON object per line on stderr: ts, level, comp, msg (+ job). The
 * macros check the level before formatting anything. Thread-safe. */
typedef enum { HC_LOG_DEBUG, HC_LOG_INFO, HC_LOG_WARN, HC_LOG_ERROR, HC_LOG_OFF } hc_log_level;

extern hc_log_level hc_log_threshold;
/* Parse "debug|info|warn|error|off"; returns -1 if unknown. */
int hc_log_level_parse(const char *s);
void hc_log_set_level(hc_log_level level);
/* Job id added to every line logged by this thread (borrowed; NULL clears). */
void hc_log_set_job(const char *job_id);
void hc_log_write(hc_log_level level, const char *comp, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void hc_log_vwrite(hc_log_level level, const char *comp, const char *fmt, va_list ap);
/* One line tagged with job_id (for threads that serve many jobs: the
 * thread's own job tag is cleared afterwards). */
void hc_log_write_job(hc_log_level level, const char *comp, const char *job_id, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));
/* The same with more fields: `fields` is JSON object members, already
 * escaped, each with its leading comma (",\"status\":200,\"dur_ms\":1.5"). */
void hc_log_write_fields(hc_log_level level, const char *comp, const char *fields, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));

#define HC_LOG(level, comp, ...)                                                                   \
    do {                                                                                           \
        if ((level) >= hc_log_threshold) hc_log_write((level), (comp), __VA_ARGS__);               \
    } while (0)
#define HC_DEBUG(comp, ...) HC_LOG(HC_LOG_DEBUG, comp, __VA_ARGS__)
#define HC_INFO(comp, ...)  HC_LOG(HC_LOG_INFO, comp, __VA_ARGS__)
#define HC_WARN(comp, ...)  HC_LOG(HC_LOG_WARN, comp, __VA_ARGS__)
#define HC_ERROR(comp, ...) HC_LOG(HC_LOG_ERROR, comp, __VA_ARGS__)

/* ---- planar YUV 4:2:0 image ---------------------------------------------
 * 8-bit, BT.709 limited range. Width and height are even. Planes may be a
 * view into someone else's memory (own == false) or owned (hc_yuv_fini frees). */
typedef struct hc_yuv {
    int w, h;
    uint8_t *plane[3];
    int stride[3];
    bool own;
} hc_yuv;

/* Allocate an owned w x h image (w, h even, 1..16384), rows 64-byte aligned
 * with 32 bytes of padding past each row so SIMD loops may over-read. */
int hc_yuv_alloc(hc_yuv *img, int w, int h);
void hc_yuv_fini(hc_yuv *img);
/* Fill with one colour (limited-range Y, U, V). */
void hc_yuv_fill(hc_yuv *img, uint8_t y, uint8_t u, uint8_t v);
void hc_yuv_copy(hc_yuv *dst, const hc_yuv *src); /* same size */

/* ---- small helpers ------------------------------------------------------- */
/* Monotonic clock in microseconds. */
int64_t hc_now_us(void);
/* The CLOCK_MONOTONIC time wait_us from now, for pthread_cond_timedwait on
 * a condition variable set to that clock. */
void hc_cond_deadline(struct timespec *ts, int64_t wait_us);
/* Wall clock as RFC 3339 UTC with milliseconds into buf (>= 32 bytes). */
void hc_time_rfc3339(char *buf, size_t len, int64_t unix_us);
int64_t hc_wall_us(void);
/* strdup that aborts on OOM (allocation failure of small strings is fatal). */
char *hc_strdup(const char *s);
void *hc_xmalloc(size_t n);
void *hc_xcalloc(size_t n, size_t size);
/* A JSON-escaped copy of s into buf (bounded, never splitting an escape;
 * always NUL-terminated); ill-formed UTF-8 becomes U+FFFD. */
size_t hc_json_escape(char *buf, size_t len, const char *s);
/* mkdir -p: create path and its missing parents (mode 0755). HC_EIO
 * naming the directory that could not be made. */
int hc_mkdirs(const char *path, hc_err *err);
/* rm -rf: remove path and everything below it (symlinks are removed, not
 * followed); a missing path is fine. Failures are logged, not returned. */
void hc_remove_tree(const char *path);
/* Number of usable CPU cores (>= 1). */
int hc_cpu_count(void);

/* A growable byte buffer, always NUL-terminated after its n bytes (so it
 * holds text too). Growth aborts on OOM, like hc_xmalloc. Zero-initialise
 * it; hc_buf_fini frees. */
typedef struct hc_buf {
    char *p;
    size_t n, cap;
} hc_buf;
/* Room for `more` bytes past n (and the NUL). */
void hc_buf_reserve(hc_buf *b, size_t more);
void hc_buf_put(hc_buf *b, const void *data, size_t n);
void hc_buf_puts(hc_buf *b, const char *s);
void hc_buf_printf(hc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hc_buf_fini(hc_buf *b);

/* A growable list of owned strings, e.g. result warnings. */
typedef struct hc_strlist {
    char **v;
    int n, cap;
} hc_strlist;
void hc_strlist_add(hc_strlist *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hc_strlist_fini(hc_strlist *l);

/* n bytes from the kernel's random source. If that fails, buf is filled
 * from the clocks, the pid and a counter instead (unique, not secret) and
 * HC_EIO is returned: callers that need secrecy check it. */
int hc_random_bytes(void *buf, size_t n);
/* Lower-case hex of n bytes into hex (2n + 1 bytes, NUL-terminated). */
void hc_hex(const void *data, size_t n, char *hex);

/* Fault injection (the fault-wrapping backends of every interface): the
 * nth call (1-based) and, if sticky, every later one fails with code. */
typedef struct hc_fault {
    int nth, code;
    bool sticky;
    atomic_int calls;
} hc_fault;
/* HC_EINVAL unless nth >= 1 and code is a negative HC_E* code. */
int hc_fault_init(hc_fault *f, int nth, int code, bool sticky);
/* Count one call; the injected code, with "WHAT SPEC: injected fault at
 * call N (CODE)" in err, when this is a failing call; else 0. Thread-safe. */
int hc_fault_hit(hc_fault *f, const char *what, const char *spec, hc_err *err);

/* SplitMix64: deterministic pseudo-random numbers from a seed. */
uint64_t hc_rand_next(uint64_t *state);
/* Uniform double in [0, 1). */
double hc_rand_unit(uint64_t *state);

/* ---- configuration (DESIGN.md §10) ---------------------------------------
 * Every setting is an environment variable and a flag of the same meaning;
 * flags win. The original engine's names are accepted as aliases. Strings
 * are owned by the config (hc_config_fini frees them); secrets are kept
 * here but never printed (hc_config_help masks them). */
typedef struct hc_config {
    char *listen;          /* HC_LISTEN --listen, "127.0.0.1:8080" */
    char *data_dir;        /* HC_DATA_DIR --data-dir, "./hydra-data", made absolute */
    char *store;           /* HC_STORE --store, "sqlite:DATA/jobs.db" */
    char *storage;         /* HC_STORAGE --storage, "file:DATA/outputs" */
    char *executor;        /* HC_EXECUTOR --executor, "local" */
    int workers;           /* HC_WORKERS --workers, cores/2 >= 1 (0 = accept, run nothing) */
    int gpu_slots;         /* HC_GPU_SLOTS --gpu-slots, -1 = 1 if NVENC works, else 0 */
    char *api_keys;        /* HC_API_KEYS --api-keys, comma-separated (NULL = open) */
    char *public_url;      /* HC_PUBLIC_URL --public-url, NULL = the bound http://HOST:PORT */
    char *url_allow;       /* HC_URL_ALLOW --url-allow, hosts/CIDRs (NULL = none) */
    int max_attempts;      /* HC_MAX_ATTEMPTS --max-attempts, 3 */
    int job_timeout_s;     /* HC_JOB_TIMEOUT_S --job-timeout, 900 */
    int shutdown_grace_s;  /* HC_SHUTDOWN_GRACE_S --shutdown-grace, 60 */
    char *callback_secret; /* CALLBACK_SECRET (no flag: a secret) */
    bool callback_secret_in_body; /* HC_CALLBACK_SECRET_IN_BODY --callback-secret-in-body, off */
    int callback_attempts;        /* HC_CALLBACK_ATTEMPTS --callback-attempts, 6 */
    int callback_backoff_ms;      /* HC_CALLBACK_BACKOFF_MS --callback-backoff-ms, 1000 (doubles) */
    char *use_nvenc;              /* USE_NVENC (NULL = auto) */
    char *log_level;              /* HC_LOG_LEVEL --log-level, "info" */
    char *batch_queue_gpu;        /* HC_BATCH_QUEUE_GPU (alias BATCH_JOB_QUEUE) */
    char *batch_queue_cpu;        /* HC_BATCH_QUEUE_CPU */
    char *batch_jobdef_gpu;       /* HC_BATCH_JOBDEF_GPU (alias BATCH_JOB_DEFINITION) */
    char *batch_jobdef_cpu;       /* HC_BATCH_JOBDEF_CPU */
    int gpu_wait_s;               /* HC_GPU_WAIT_S, 120: GPU-queued auto jobs not started move to CPU */
    int presign_ttl_s;            /* HC_PRESIGN_TTL_S, 3600: presigned S3 links handed out */
} hc_config;

/* Fill cfg from the environment, then from flags in argv (--name VALUE or
 * --name=VALUE; booleans also bare). Arguments that are not config flags
 * are left in place and their count returned in *rest_argc (argv is
 * compacted so argv[0..*rest_argc) are the leftovers, in order); "--"
 * ends the flags and is kept, with what follows, among the leftovers. Derived
 * defaults (store, storage, public_url from data_dir/listen) are filled in
 * last. Returns HC_EINVAL naming the flag or variable on a bad value. */
int hc_config_load(hc_config *cfg, int argc, char **argv, int *rest_argc, hc_err *err);
void hc_config_fini(hc_config *cfg);
/* Put every setting into the environment under its contract name, so child
 * processes (workers) see the same configuration; secrets (API keys,
 * CALLBACK_SECRET) are removed from it instead. Not thread-safe (setenv):
 * call before starting threads. */
int hc_config_export(const hc_config *cfg);
/* The settings table: flag, env, current value (secrets masked), meaning. */
void hc_config_help(FILE *f, const hc_config *cfg);
/* Is `value` one of the comma-separated keys in list? Constant time in the
 * candidate's length for each key, so timing does not reveal a prefix. */
bool hc_config_key_matches(const char *list, const char *value);

/* ---- private-address guard (DESIGN.md §10 HC_URL_ALLOW) -------------------
 * Server-side outgoing connections (image, audio, callback URLs given by
 * API clients) must not reach the server's own network: loopback,
 * private (RFC 1918), shared/CGNAT (100.64/10), link-local (169.254/16,
 * where cloud metadata lives), unspecified, multicast, reserved and
 * documentation ranges, and their IPv6 equivalents (::1, fc00::/7,
 * fe80::/10, fec0::/10, ff00::/8, IPv4-mapped/NAT64/6to4 forms judged by
 * the IPv4 address inside) are refused unless the URL's host or the
 * address is on the allow list: comma-separated hostnames (exact, case-
 * insensitive; ".example.com" or "*.example.com" also matches its
 * subdomains), IP addresses or CIDRs ("127.0.0.1, 10.0.0.0/8, minio").
 * The check is made on the resolved address at connect time, so it also
 * covers redirects and DNS rebinding. */

/* The class of a refused address ("loopback", "private", "link-local",
 * "shared (CGNAT)", "unspecified", "multicast", "reserved"), or NULL for a
 * public address (or a family other than IPv4/IPv6). */
const char *hc_url_guard_class(const struct sockaddr *sa);
/* May a connection to sa, resolved for host (the URL's host name or
 * literal, may be NULL), be made under allow (NULL = nothing allowed)?
 * When not, why (may be NULL) receives "address 10.0.0.5 is private". */
bool hc_url_guard_allows(const struct sockaddr *sa, const char *host, const char *allow, char *why,
                         size_t why_len);
/* Check an allow list's syntax: HC_EINVAL naming the bad entry. */
int hc_url_allow_check(const char *allow, hc_err *err);

/* ---- outgoing HTTP (httpc.c, on libcurl) -----------------------------------
 * The one client for every outgoing request: image and audio fetches,
 * completion callbacks, the AWS APIs (S3, DynamoDB, Batch, Secrets
 * Manager, credentials endpoints) and the Lambda Runtime API. A policy says
 * how one class of requests behaves: timeouts, retries with back-off
 * (doubling from backoff_ms, jittered, capped, a Retry-After header
 * honoured up to the cap), redirects, a body cap, and whether the
 * private-address guard applies. User-given URLs (images, audio,
 * callbacks) are guarded; infrastructure endpoints (AWS, the Runtime API on
 * loopback, the container credentials endpoint, IMDS) are not. URLs are
 * logged redacted: no user info, no query (presigned URLs carry secrets).
 *
 * Retried: connection failures, timeouts, and the statuses 408, 429, 500,
 * 502, 503, 504 (or what retry_status says); a request body is re-sent
 * from the start each attempt, and prepare (when set) is called before
 * each attempt so a signer can use the current time.
 *
 * Threads: hc_httpc_do may be called from any number of threads; each call
 * uses its own libcurl handle (libcurl's global init is done once). */
typedef struct hc_httpc_policy {
    const char *name;       /* for logs: "fetch", "callback", "s3", ... */
    bool guard;             /* refuse private addresses (hc_url_guard_allows) */
    const char *url_allow;  /* allow list under the guard (borrowed, NULL = none) */
    int connect_timeout_ms; /* 0 = 5000 */
    int timeout_ms;         /* limit on one attempt; 0 = none */
    int idle_timeout_s;     /* an attempt moving under 1 byte/s for this long fails; 0 = 30, -1 = never */
    int max_attempts;       /* 0 or 1 = one try */
    int backoff_ms;         /* delay before the first retry; 0 = 250 */
    int max_backoff_ms;     /* cap on one delay (and on Retry-After); 0 = 20000 */
    int max_redirects;      /* 0 = redirects are not followed */
    int64_t max_body_bytes; /* response body cap (HC_ETOOBIG); 0 = none */
    const char *protocols;  /* libcurl protocol list; NULL = "http,https" */
    bool decode_content;    /* ask for (and undo) every Content-Encoding libcurl knows */
} hc_httpc_policy;

typedef struct hc_httpc_req hc_httpc_req;
typedef struct hc_httpc_resp hc_httpc_resp;

struct hc_httpc_req {
    const char *method;         /* NULL: GET, or POST when a body is given */
    const char *url;
    const char *const *headers; /* "Name: value" lines, NULL-terminated (may be NULL) */
    const void *body;           /* request body in memory (borrowed), or */
    size_t body_len;
    const char *body_path;      /* ... body_len bytes from this file at body_off */
    int64_t body_off;
    /* Called before every attempt (attempt = 1, 2, ...): may add header
     * lines to *extra (e.g. a SigV4 signature over the current time); a
     * non-zero return ends the request with that code. May be NULL. */
    int (*prepare)(void *ud, const hc_httpc_req *req, int attempt, hc_strlist *extra, hc_err *err);
    /* Response body sink: when set, body bytes go here instead of
     * resp->body (return false to stop: HC_ECANCELED). Called again from
     * the start on a retried attempt after reset (when set). */
    bool (*on_data)(void *ud, const void *data, size_t n);
    void (*on_reset)(void *ud);
    /* Progress and cancel: called at least every 100 ms; return false to
     * stop the request (HC_ECANCELED). May be NULL. */
    bool (*on_progress)(void *ud, int64_t down_now, int64_t down_total, int64_t up_now,
                        int64_t up_total);
    /* Called at the end of each response's header block (redirect hops
     * too) with its status; resp->headers holds that block. Return false
     * to stop (HC_ECANCELED), e.g. a download refusing an HTML page. */
    bool (*on_headers)(void *ud, long status, const hc_httpc_resp *resp);
    /* Which final statuses are retried (NULL: 408, 429, 500, 502, 503, 504). */
    bool (*retry_status)(long status, const hc_buf *body);
    void *ud;
};

struct hc_httpc_resp {
    long status;              /* of the last attempt; 0 when none answered */
    hc_buf body;              /* the body (unless req->on_data took it) */
    hc_buf headers;           /* raw header lines of the final response */
    int attempts;             /* attempts made */
    char effective_url[2048]; /* after redirects (redacted form) */
};
void hc_httpc_resp_fini(hc_httpc_resp *r);
/* The value of response header `name` (case-insensitive, first one) into
 * buf, trimmed; false when absent. */
bool hc_httpc_header(const hc_httpc_resp *r, const char *name, char *buf, size_t len);

/* Perform req under pol (NULL: one unguarded try, defaults). Returns 0
 * once a response arrived, whatever its status (a retriable status is
 * retried first; resp->status holds the last); otherwise HC_ENET or
 * HC_ETIMEOUT (message: the policy name, the redacted URL and libcurl's
 * reason), HC_EINVAL for a URL refused by the guard or the protocol list,
 * HC_ETOOBIG over max_body_bytes, HC_ECANCELED when a callback stopped it.
 * resp is initialised here (caller finis it, also on failure). */
int hc_httpc_do(const hc_httpc_policy *pol, const hc_httpc_req *req, hc_httpc_resp *resp,
                hc_err *err);

/* ---- URLs (one parser, libcurl's) ------------------------------------------ */
typedef struct hc_url {
    char scheme[16];  /* lower case */
    char *host;       /* without brackets for IPv6 (owned) */
    int port;         /* explicit port, else the scheme's default (0 if none) */
    bool port_given;
    char *path;       /* "/" at least, percent-encoding kept as given (owned) */
    char *query;      /* without '?', NULL when none (owned) */
    char *user;       /* user info, NULL when none (owned) */
} hc_url;
/* Parse an absolute URL. HC_EINVAL with libcurl's reason. */
int hc_url_parse(const char *url, hc_url *out, hc_err *err);
void hc_url_fini(hc_url *u);
/* scheme://host[:port]/path of url, without user info or query, for logs. */
void hc_url_redact(const char *url, char *buf, size_t len);
/* Percent-encode s[0..n) into out, RFC 3986 unreserved kept (SigV4's
 * UriEncode); '/' kept too when keep_slash. */
void hc_url_encode(hc_buf *out, const char *s, size_t n, bool keep_slash);

#endif
