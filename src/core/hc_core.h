/* Core building blocks shared by every module: error codes and the
 * caller-passed error message, JSON-lines logging, a planar YUV 4:2:0 image
 * buffer, small string and clock helpers.
 *
 * Invariant: nothing here depends on any other module or on FFmpeg/libvips;
 * every other module may include this header. */
#ifndef HC_CORE_H
#define HC_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors --------------------------------------------------------------
 * Fallible functions return 0 or a negative HC_E* code from this one list.
 * The exit class says what `render`/`worker` exit with: 2 = the request or
 * its media is unusable (the caller's fault), 1 = anything else. */
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
    X(INTERNAL, -12, 1, "internal error")

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
/* Process exit code for a failure code: 0 for HC_OK, 2 or 1 (see above). */
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
/* Wall clock as RFC 3339 UTC with milliseconds into buf (>= 32 bytes). */
void hc_time_rfc3339(char *buf, size_t len, int64_t unix_us);
int64_t hc_wall_us(void);
/* strdup that aborts on OOM (allocation failure of small strings is fatal). */
char *hc_strdup(const char *s);
void *hc_xmalloc(size_t n);
void *hc_xcalloc(size_t n, size_t size);
/* Append a JSON-escaped copy of s to buf (bounded; always NUL-terminated). */
size_t hc_json_escape(char *buf, size_t len, const char *s);
/* Number of usable CPU cores (>= 1). */
int hc_cpu_count(void);

/* A growable list of owned strings, e.g. result warnings. */
typedef struct hc_strlist {
    char **v;
    int n, cap;
} hc_strlist;
void hc_strlist_add(hc_strlist *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hc_strlist_fini(hc_strlist *l);

/* SplitMix64: deterministic pseudo-random numbers from a seed. */
uint64_t hc_rand_next(uint64_t *state);
/* Uniform double in [0, 1). */
double hc_rand_unit(uint64_t *state);

#endif
