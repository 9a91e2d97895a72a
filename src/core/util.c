/* Small helpers: clocks, allocation, JSON escaping, string lists, the
 * seeded random generator and the planar YUV buffer. */
#include "core/hc_core.h"

#include <errno.h>
#include <sys/random.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdarg.h>
#include <ftw.h>
#include <limits.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t hc_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t hc_wall_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void hc_time_rfc3339(char *buf, size_t len, int64_t unix_us) {
    time_t s = (time_t)(unix_us / 1000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03dZ", base, (int)(unix_us % 1000000 / 1000));
}

void *hc_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("hydra-compose: out of memory\n", stderr);
        abort();
    }
    return p;
}

void *hc_xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fputs("hydra-compose: out of memory\n", stderr);
        abort();
    }
    return p;
}

char *hc_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(hc_xmalloc(n), s, n);
}

/* Length of the well-formed UTF-8 sequence at p (2..4), or 0. */
static int utf8_seq_len(const unsigned char *p) {
    unsigned c = p[0];
    int len = c >= 0xf0 && c <= 0xf4  ? 4
              : c >= 0xe0 && c < 0xf0 ? 3
              : c >= 0xc2 && c < 0xe0 ? 2
                                      : 0;
    for (int i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    if (len == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0))) return 0;
    if (len == 4 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))) return 0;
    return len;
}

size_t hc_json_escape(char *buf, size_t len, const char *s) {
    size_t o = 0;
    if (len == 0) return 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        unsigned c = *p;
        char tmp[8];
        const char *rep = tmp;
        size_t need = 1, adv = 1;
        if (c == '"' || c == '\\') {
            tmp[0] = '\\', tmp[1] = (char)c, need = 2;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            rep = c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t", need = 2;
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(tmp, sizeof tmp, "\\u%04x", c);
            need = 6;
        } else if (c < 0x80) {
            tmp[0] = (char)c;
        } else if ((adv = (size_t)utf8_seq_len(p)) > 0) {
            rep = (const char *)p, need = adv;
        } else { /* ill-formed UTF-8 becomes U+FFFD: the output stays valid JSON */
            rep = "\xef\xbf\xbd", need = 3, adv = 1;
        }
        if (o + need >= len) break;
        memcpy(buf + o, rep, need);
        o += need;
        p += adv;
    }
    buf[o] = 0;
    return o;
}

int hc_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

void hc_strlist_add(hc_strlist *l, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        char **v = realloc(l->v, (size_t)l->cap * sizeof *v);
        if (!v) abort();
        l->v = v;
    }
    l->v[l->n++] = hc_strdup(buf);
}

void hc_strlist_fini(hc_strlist *l) {
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

uint64_t hc_rand_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double hc_rand_unit(uint64_t *state) {
    return (double)(hc_rand_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

enum { YUV_ALIGN = 64, YUV_PAD = 32 };

int hc_yuv_alloc(hc_yuv *img, int w, int h) {
    memset(img, 0, sizeof *img);
    if (w < 2 || h < 2 || w > 16384 || h > 16384 || (w & 1) || (h & 1)) return HC_EINVAL;
    int sy = (w + YUV_PAD + YUV_ALIGN - 1) / YUV_ALIGN * YUV_ALIGN;
    int sc = (w / 2 + YUV_PAD + YUV_ALIGN - 1) / YUV_ALIGN * YUV_ALIGN;
    size_t ny = (size_t)sy * (size_t)h, nc = (size_t)sc * (size_t)(h / 2);
    /* One extra row of slack so bilinear reads of row y+1 stay inside. */
    uint8_t *p = aligned_alloc(YUV_ALIGN, ny + 2 * nc + (size_t)sy);
    if (!p) return HC_ENOMEM;
    img->w = w;
    img->h = h;
    img->plane[0] = p;
    img->plane[1] = p + ny;
    img->plane[2] = p + ny + nc;
    img->stride[0] = sy;
    img->stride[1] = img->stride[2] = sc;
    img->own = true;
    return 0;
}

void hc_yuv_fini(hc_yuv *img) {
    if (img && img->own) free(img->plane[0]);
    if (img) memset(img, 0, sizeof *img);
}

void hc_yuv_fill(hc_yuv *img, uint8_t y, uint8_t u, uint8_t v) {
    uint8_t val[3] = {y, u, v};
    for (int p = 0; p < 3; p++) {
        int pw = p ? img->w / 2 : img->w, ph = p ? img->h / 2 : img->h;
        for (int r = 0; r < ph; r++)
            memset(img->plane[p] + (size_t)r * img->stride[p], val[p], (size_t)pw);
    }
}

void hc_yuv_copy(hc_yuv *dst, const hc_yuv *src) {
    for (int p = 0; p < 3; p++) {
        int pw = p ? src->w / 2 : src->w, ph = p ? src->h / 2 : src->h;
        for (int r = 0; r < ph; r++)
            memcpy(dst->plane[p] + (size_t)r * dst->stride[p],
                   src->plane[p] + (size_t)r * src->stride[p], (size_t)pw);
    }
}

int hc_mkdirs(const char *path, hc_err *err) {
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return hc_err_set(err, HC_EINVAL, "%s: path too long", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return hc_err_set(err, HC_EIO, "%s: %s", buf, strerror(errno));
            *p = c;
            if (!c) break;
        }
    }
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    if (remove(path) != 0 && errno != ENOENT)
        HC_WARN("core", "could not remove %s: %s", path, strerror(errno));
    return 0;
}

void hc_remove_tree(const char *path) {
    nftw(path, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

void hc_buf_reserve(hc_buf *b, size_t more) {
    if (b->n + more + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->n + more + 1)
        cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np) {
        fputs("hydra-compose: out of memory\n", stderr);
        abort();
    }
    np[b->n] = 0; /* NUL-terminated from the first allocation on */
    b->p = np;
    b->cap = cap;
}

void hc_buf_put(hc_buf *b, const void *data, size_t n) {
    hc_buf_reserve(b, n);
    if (n) memcpy(b->p + b->n, data, n);
    b->n += n;
    b->p[b->n] = 0;
}

void hc_buf_puts(hc_buf *b, const char *s) {
    hc_buf_put(b, s, strlen(s));
}

void hc_buf_printf(hc_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    hc_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}

void hc_buf_fini(hc_buf *b) {
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

int hc_random_bytes(void *out, size_t n) {
    uint8_t *buf = out;
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    if (got < n) {
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        while (fd >= 0 && got < n) {
            ssize_t r = read(fd, buf + got, n - got);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            got += (size_t)r;
        }
        if (fd >= 0) close(fd);
    }
    if (got == n) return 0;
    /* Last resort: clocks, pid and a counter, still unique per process. */
    static _Atomic uint64_t counter;
    uint64_t st = (uint64_t)hc_wall_us() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)hc_now_us() ^
                  (atomic_fetch_add(&counter, 1) + 1) * 0x9e3779b97f4a7c15ULL;
    for (size_t i = got; i < n; i++)
        buf[i] = (uint8_t)hc_rand_next(&st);
    return HC_EIO;
}

void hc_hex(const void *data, size_t n, char *hex) {
    static const char digits[] = "0123456789abcdef";
    const unsigned char *b = data;
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[b[i] >> 4];
        hex[2 * i + 1] = digits[b[i] & 15];
    }
    hex[2 * n] = 0;
}

int hc_fault_init(hc_fault *f, int nth, int code, bool sticky) {
    if (nth < 1 || code >= 0) return HC_EINVAL;
    f->nth = nth;
    f->code = code;
    f->sticky = sticky;
    atomic_init(&f->calls, 0);
    return 0;
}

int hc_fault_hit(hc_fault *f, const char *what, const char *spec, hc_err *err) {
    int call = atomic_fetch_add(&f->calls, 1) + 1;
    if (call == f->nth || (f->sticky && call > f->nth))
        return hc_err_set(err, f->code, "%s %s: injected fault at call %d (%s)", what, spec, call,
                          hc_errname(f->code));
    return 0;
}

void hc_cond_deadline(struct timespec *ts, int64_t wait_us) {
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(wait_us / 1000000);
    ts->tv_nsec += (long)(wait_us % 1000000) * 1000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}
