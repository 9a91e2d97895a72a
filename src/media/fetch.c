/* Fetch: bring a request's inputs to local files before anything decodes them.
 *
 * Every input is first classified and checked in the caller's thread (scheme,
 * local file exists and is readable, s3:// not yet available), so a bad
 * request fails before any network traffic. http(s):// inputs are then
 * downloaded by a small pool of threads (the caller's thread is one of them)
 * through the shared HTTP client (core/httpc.c: retries, back-off,
 * Retry-After, the guard), into mkstemp files in work_dir.
 *
 * Invariants:
 *  - The error reported is the failing input with the lowest index. Inputs
 *    are handed out in index order; when input f fails, transfers of inputs
 *    above f are aborted (within STOP_POLL_MS) and their back-off sleeps
 *    interrupted, while those below f run to the end: one of them may fail
 *    too, and then it is the one reported.
 *  - On failure every temp file is removed and every out[] entry released;
 *    on success each out[] entry owns its path.
 *  - URLs in logs and messages are redacted: no user:password@, no ?query or
 *    #fragment (signed URLs carry their signature in the query).
 *  - on_done fires once per input that succeeded (locals first, then each
 *    download as it lands), serialised so n_done rises 1..n.
 *  - hc_fetched_fini removes a downloaded temp file; local files are never
 *    touched.
 *  - All state is per call, so calls from several threads do not interact
 *    (the process-wide guard default is set once, before any fetch).
 *  - With the private-address guard on, every connection (first hop,
 *    redirects, each resolved address) is checked by the HTTP client at
 *    connect time; a refusal is final (HC_EINVAL), never retried. */
#include "media/hc_media.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define COMP               "fetch"
#define MAX_REDIRS         5
#define RETRY_AFTER_CAP_MS 10000 /* also the cap on one back-off delay */
#define SNIFF_BYTES        512
#define STOP_POLL_MS       100

/* One hc_fetch_many call: shared by its worker threads. */
typedef struct fetch_job {
    const char *const *urls;
    const char *const *labels;
    int n;
    hc_fetch_opts o; /* with defaults filled in */
    hc_fetched *out;
    bool guard;        /* private-address guard on (opts or process default) */
    const char *allow; /* its allow list */
    int *http_idx;     /* ascending indices of http(s) and s3 inputs */
    char **signed_url; /* per input: the S3 resolver's presigned URL (owned), or NULL */
    int n_http;

    pthread_mutex_t lock;  /* guards next, err; fail_index writes */
    int next;              /* next position in http_idx to hand out */
    atomic_int fail_index; /* lowest failed input, n when none */
    hc_err err;            /* the failure of input fail_index */

    pthread_mutex_t cb_lock; /* serialises on_done so n_done rises */
    int n_done;
} fetch_job;

typedef enum {
    ABORT_NONE,
    ABORT_STOP,    /* a lower-index input failed */
    ABORT_TOO_BIG, /* Content-Length or bytes over max_bytes */
    ABORT_HTML,    /* Content-Type or body sniffed as a web page */
    ABORT_HTTP,    /* 4xx/5xx status: don't read the error body */
    ABORT_IO,      /* writing the temp file failed */
} abort_reason;

/* One download of one input (reset for each attempt). */
typedef struct transfer {
    fetch_job *job;
    int index;
    int fd;
    size_t got;      /* body bytes of the final response */
    long status;     /* status of the response being received */
    char ctype[128]; /* its Content-Type (media type only) */
    unsigned char head[SNIFF_BYTES];
    size_t head_len;
    bool sniffed;
    abort_reason why;
    int io_errno;
} transfer;

/* ---- small helpers -------------------------------------------------------- */

static const char *label_of(const fetch_job *job, int i, char *buf, size_t len) {
    if (job->labels && job->labels[i]) return job->labels[i];
    snprintf(buf, len, "inputs[%d]", i);
    return buf;
}

static bool has_prefix_ci(const char *s, const char *prefix) {
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* Length of the scheme if s starts with "scheme://", else 0. */
static size_t scheme_len(const char *s) {
    size_t i = 0;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return 0;
    while (s[i] && (s[i] == '+' || s[i] == '-' || s[i] == '.' || (s[i] >= '0' && s[i] <= '9') ||
                    (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
        i++;
    return strncmp(s + i, "://", 3) == 0 ? i : 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Human size of a byte cap: "64 MiB", "512 KiB" or "1000 bytes". */
static void format_cap(size_t cap, char *buf, size_t len) {
    if (cap >= 1024 * 1024 && cap % (1024 * 1024) == 0)
        snprintf(buf, len, "%zu MiB", cap / (1024 * 1024));
    else if (cap >= 1024 && cap % 1024 == 0)
        snprintf(buf, len, "%zu KiB", cap / 1024);
    else
        snprintf(buf, len, "%zu bytes", cap);
}

/* Record the failure of input index (kept if it is the lowest so far) and
 * inputs above it stop (their progress hook sees it within 100 ms, back-off
 * sleeps included). msg is the whole message. */
static void job_fail_msg(fetch_job *job, int index, int code, const char *msg) {
    pthread_mutex_lock(&job->lock);
    if (index < atomic_load(&job->fail_index)) {
        atomic_store(&job->fail_index, index);
        job->err.code = code;
        snprintf(job->err.msg, sizeof job->err.msg, "%s", msg);
    }
    pthread_mutex_unlock(&job->lock);
}

/* job_fail_msg with "label: " + the formatted text. */
static void job_fail(fetch_job *job, int index, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void job_fail(fetch_job *job, int index, int code, const char *fmt, ...) {
    char label[32], msg[sizeof job->err.msg];
    int k = snprintf(msg, sizeof msg, "%s: ", label_of(job, index, label, sizeof label));
    if (k < 0) k = 0;
    if ((size_t)k >= sizeof msg) k = (int)sizeof msg - 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + k, sizeof msg - (size_t)k, fmt, ap);
    va_end(ap);
    job_fail_msg(job, index, code, msg);
}

/* job_fail_msg with the formatted text as the whole message. */
static void job_fail_raw(fetch_job *job, int index, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void job_fail_raw(fetch_job *job, int index, int code, const char *fmt, ...) {
    char msg[sizeof job->err.msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    job_fail_msg(job, index, code, msg);
}

static bool job_stopped(fetch_job *job, int index) {
    return atomic_load(&job->fail_index) < index || (job->o.cancel && atomic_load(job->o.cancel));
}

static void job_done(fetch_job *job, int index) {
    if (!job->o.on_done) return;
    pthread_mutex_lock(&job->cb_lock);
    int n_done = ++job->n_done;
    job->o.on_done(job->o.ud, index, n_done, job->n);
    pthread_mutex_unlock(&job->cb_lock);
}

/* ---- private-address guard ------------------------------------------------ */

static hc_fetch_s3_fn s3_resolver; /* hc_fetch_set_s3: set once at start */
static void *s3_ud;

void hc_fetch_set_s3(hc_fetch_s3_fn fn, void *ud) {
    s3_resolver = fn;
    s3_ud = ud;
}

static bool guard_default;  /* hc_fetch_set_guard: set once at start */
static char *allow_default; /* owned copy, lives for the process */

void hc_fetch_set_guard(bool on, const char *allow) {
    free(allow_default);
    allow_default = allow && *allow ? hc_strdup(allow) : NULL;
    guard_default = on;
}

/* ---- local inputs --------------------------------------------------------- */

/* Resolve a bare path or file:// URL to a path in *out (owned). */
static int local_path(const fetch_job *job, const char *url, bool is_file_url, char **out,
                      char *why, size_t why_len) {
    const char *p = url;
    if (is_file_url) {
        p = url + strlen("file://");
        /* file:///path or file://localhost/path; no remote hosts. */
        if (has_prefix_ci(p, "localhost/")) p += strlen("localhost");
        if (*p != '/') {
            snprintf(why, why_len, "file:// URL must name an absolute local path");
            return HC_EINVAL;
        }
        size_t n = strcspn(p, "?#");
        char *dec = hc_xmalloc(n + 1);
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
            int hi, lo;
            if (p[i] == '%' && i + 2 < n && (hi = hexval(p[i + 1])) >= 0 &&
                (lo = hexval(p[i + 2])) >= 0) {
                dec[o++] = (char)(hi * 16 + lo);
                i += 2;
                if (dec[o - 1] == 0) {
                    free(dec);
                    snprintf(why, why_len, "file:// URL contains %%00");
                    return HC_EINVAL;
                }
            } else {
                dec[o++] = p[i];
            }
        }
        dec[o] = 0;
        *out = dec;
        return 0;
    }
    if (p[0] == '/') {
        *out = hc_strdup(p);
        return 0;
    }
    char cwd[PATH_MAX];
    const char *base = job->o.base_dir;
    if (!base || !*base || base[0] != '/') {
        if (!getcwd(cwd, sizeof cwd)) {
            snprintf(why, why_len, "cannot resolve relative path %s: %s", p, strerror(errno));
            return HC_EIO;
        }
    }
    size_t len;
    char *s;
    if (base && *base && base[0] == '/') {
        len = strlen(base) + strlen(p) + 2;
        s = hc_xmalloc(len);
        snprintf(s, len, "%s/%s", base, p);
    } else if (base && *base) {
        len = strlen(cwd) + strlen(base) + strlen(p) + 3;
        s = hc_xmalloc(len);
        snprintf(s, len, "%s/%s/%s", cwd, base, p);
    } else {
        len = strlen(cwd) + strlen(p) + 2;
        s = hc_xmalloc(len);
        snprintf(s, len, "%s/%s", cwd, p);
    }
    *out = s;
    return 0;
}

/* Check a local file is a readable, non-empty regular file. */
static int local_check(const char *path, size_t *size, char *why, size_t why_len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block us */
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            snprintf(why, why_len, "file not found: %s", path);
        else
            snprintf(why, why_len, "cannot read %s: %s", path, strerror(errno));
        return HC_EMEDIA;
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        snprintf(why, why_len, "cannot read %s: %s", path, strerror(errno));
        rc = HC_EMEDIA;
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(why, why_len, "not a regular file: %s", path);
        rc = HC_EMEDIA;
    } else if (st.st_size == 0) {
        snprintf(why, why_len, "empty file: %s", path);
        rc = HC_EMEDIA;
    } else {
        *size = (size_t)st.st_size;
    }
    close(fd);
    return rc;
}

/* ---- one download --------------------------------------------------------- */

static bool is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Does the start of the body look like an HTML page? */
static bool sniff_html(const unsigned char *b, size_t n) {
    size_t i = 0;
    if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) i = 3; /* UTF-8 BOM */
    while (i < n && is_space(b[i]))
        i++;
    static const char *const marks[] = {"<!doctype", "<html"};
    for (size_t k = 0; k < 2; k++) {
        size_t m = strlen(marks[k]);
        if (n - i >= m && strncasecmp((const char *)b + i, marks[k], m) == 0) return true;
    }
    return false;
}

static bool is_refused_type(const char *ctype) {
    return !strcasecmp(ctype, "text/html") || !strcasecmp(ctype, "text/plain") ||
           !strcasecmp(ctype, "application/xhtml+xml");
}

/* End of a response's header block: refuse early where we can. */
static bool on_headers(void *ud, long status, const hc_httpc_resp *r) {
    transfer *t = ud;
    t->status = status;
    t->ctype[0] = 0;
    if (status < 200 || status >= 300) return true; /* a redirect, or an error status */
    char val[128];
    if (hc_httpc_header(r, "content-type", val, sizeof val)) {
        val[strcspn(val, "; \t")] = 0;
        snprintf(t->ctype, sizeof t->ctype, "%s", val);
    }
    if (hc_httpc_header(r, "content-length", val, sizeof val)) {
        char *e;
        errno = 0;
        long long cl = strtoll(val, &e, 10);
        if (errno == 0 && e != val && cl >= 0 && (uint64_t)cl > (uint64_t)t->job->o.max_bytes) {
            t->why = ABORT_TOO_BIG;
            return false;
        }
    }
    if (is_refused_type(t->ctype)) {
        t->why = ABORT_HTML;
        return false;
    }
    return true;
}

static bool on_data(void *ud, const void *p, size_t len) {
    transfer *t = ud;
    const char *data = p;
    if (t->status < 200 || t->status >= 300) return true; /* not the body we want */
    if (job_stopped(t->job, t->index)) {
        t->why = ABORT_STOP;
        return false;
    }
    if (len > t->job->o.max_bytes - t->got) {
        t->why = ABORT_TOO_BIG;
        return false;
    }
    t->got += len;
    if (!t->sniffed) {
        size_t k = len < SNIFF_BYTES - t->head_len ? len : SNIFF_BYTES - t->head_len;
        memcpy(t->head + t->head_len, data, k);
        t->head_len += k;
        if (t->head_len == SNIFF_BYTES) {
            t->sniffed = true;
            if (sniff_html(t->head, t->head_len)) {
                t->why = ABORT_HTML;
                return false;
            }
        }
    }
    for (size_t o = 0; o < len;) {
        ssize_t w = write(t->fd, data + o, len - o);
        if (w < 0) {
            if (errno == EINTR) continue;
            t->why = ABORT_IO;
            t->io_errno = errno;
            return false;
        }
        o += (size_t)w;
    }
    return true;
}

/* A retried attempt starts the temp file and the sniffing afresh. */
static void on_reset(void *ud) {
    transfer *t = ud;
    t->got = 0;
    t->status = 0;
    t->head_len = 0;
    t->sniffed = false;
    if (ftruncate(t->fd, 0) != 0 || lseek(t->fd, 0, SEEK_SET) != 0) {
        t->why = ABORT_IO;
        t->io_errno = errno;
    }
}

static bool on_progress(void *ud, int64_t a, int64_t b, int64_t c, int64_t d) {
    (void)a, (void)b, (void)c, (void)d;
    transfer *t = ud;
    if (t->why == ABORT_IO) return false;
    if (job_stopped(t->job, t->index)) {
        t->why = ABORT_STOP;
        return false;
    }
    return true;
}

/* Statuses worth another try: throttling and server errors. */
static bool retry_status(long status, const hc_buf *body) {
    (void)body;
    return status == 429 || status >= 500;
}

/* A file name suffix from the URL path (".jpg"), so tools that look at
 * extensions see one; empty unless short and alphanumeric. */
static void url_suffix(const char *url, char *buf, size_t len) {
    buf[0] = 0;
    size_t n = strcspn(url, "?#");
    const char *slash = NULL;
    for (const char *p = url + scheme_len(url) + 3; p < url + n; p++)
        if (*p == '/') slash = p;
    if (!slash) return;
    const char *dot = NULL;
    for (const char *p = slash; p < url + n; p++)
        if (*p == '.') dot = p;
    if (!dot) return;
    size_t elen = (size_t)(url + n - dot);
    if (elen < 2 || elen > 6 || elen >= len) return;
    for (size_t i = 1; i < elen; i++) {
        char c = dot[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return;
    }
    memcpy(buf, dot, elen);
    buf[elen] = 0;
}

/* Download input index with retries. On failure records it in the job;
 * returns 0 on success, -1 otherwise. */
static int download(fetch_job *job, int index) {
    const hc_fetch_opts *o = &job->o;
    /* An S3 object is fetched by its presigned URL from the storage
     * endpoint (infrastructure, like the S3 output storage: not guarded);
     * messages still show the URL the request gave. */
    const char *url = job->signed_url[index] ? job->signed_url[index] : job->urls[index];
    bool infra = job->signed_url[index] != NULL;
    hc_fetched *f = &job->out[index];
    char shown[200], suffix[8];
    char label[32];
    hc_url_redact(job->urls[index], shown, sizeof shown);
    url_suffix(job->urls[index], suffix, sizeof suffix);

    size_t plen = strlen(o->work_dir) + 32;
    f->path = hc_xmalloc(plen);
    snprintf(f->path, plen, "%s/hc-fetch-XXXXXX%s", o->work_dir, suffix);
    int fd = mkostemps(f->path, (int)strlen(suffix), O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        free(f->path);
        f->path = NULL;
        job_fail(job, index, HC_EIO, "cannot create a temp file in %s: %s", o->work_dir,
                 strerror(e));
        return -1;
    }
    f->downloaded = true;

    int64_t t0 = hc_now_us();
    int rc = -1;
    const char *lb = label_of(job, index, label, sizeof label);
    hc_httpc_policy pol = {.name = lb,
                           .guard = job->guard && !infra,
                           .url_allow = job->allow,
                           .connect_timeout_ms = o->connect_timeout_ms,
                           .timeout_ms = o->total_timeout_ms,
                           .max_attempts = o->max_tries,
                           .backoff_ms = o->backoff_ms,
                           .max_backoff_ms = RETRY_AFTER_CAP_MS,
                           .max_redirects = MAX_REDIRS,
                           .decode_content = true};
    transfer t = {.job = job, .index = index, .fd = fd};
    hc_httpc_req req = {.url = url,
                        .on_headers = on_headers,
                        .on_data = on_data,
                        .on_reset = on_reset,
                        .on_progress = on_progress,
                        .retry_status = retry_status,
                        .ud = &t};
    hc_httpc_resp r;
    hc_err herr = {0};
    int hrc = hc_httpc_do(&pol, &req, &r, &herr);
    long status = r.status;
    int attempts = r.attempts;
    hc_httpc_resp_fini(&r);

    if (hrc == 0 && status >= 200 && status < 300 && t.why == ABORT_NONE && !t.sniffed &&
        sniff_html(t.head, t.head_len))
        t.why = ABORT_HTML;
    if (t.why == ABORT_STOP || job_stopped(job, index)) {
        /* a lower-index failure or a cancel: nothing to report */
    } else if (t.why == ABORT_TOO_BIG) {
        char cap[32];
        format_cap(o->max_bytes, cap, sizeof cap);
        job_fail(job, index, HC_EMEDIA, "larger than the %s limit", cap);
    } else if (t.why == ABORT_IO) {
        job_fail(job, index, HC_EIO, "cannot write %s: %s", f->path, strerror(t.io_errno));
    } else if (t.why == ABORT_HTML) {
        if (t.ctype[0])
            job_fail(job, index, HC_EMEDIA, "got %s page, not media (Content-Type %s) from %s",
                     strncasecmp(t.ctype, "text/plain", 10) ? "an HTML" : "a text", t.ctype, shown);
        else
            job_fail(job, index, HC_EMEDIA,
                     "got an HTML page, not media (the body is HTML) from %s", shown);
    } else if (hrc == HC_EINVAL && strstr(herr.msg, "HC_URL_ALLOW")) {
        /* The refusal names the field, as the request validator would. */
        size_t ll = strlen(lb);
        bool url_field = ll >= 3 && strcasecmp(lb + ll - 3, "url") == 0;
        job_fail_raw(job, index, HC_EINVAL, "%s%s: %s", lb, url_field ? "" : ".url", herr.msg);
    } else if (hrc == HC_EINVAL && strstr(herr.msg, "scheme not allowed")) {
        job_fail(job, index, HC_EINVAL, "redirected to a scheme other than http(s) from %s", shown);
    } else if (hrc != 0 && strstr(herr.msg, "redirects from")) {
        job_fail(job, index, HC_EMEDIA, "more than %d redirects from %s", MAX_REDIRS, shown);
    } else if (hrc != 0) {
        /* The client's message starts with the policy name: the label. */
        job_fail_raw(job, index, hrc, "%s", herr.msg);
    } else if (status < 200 || status >= 300) {
        if (retry_status(status, NULL) && attempts > 1)
            job_fail(job, index, HC_ENET, "HTTP %ld from %s (after %d tries)", status, shown,
                     attempts);
        else
            job_fail(job, index, retry_status(status, NULL) ? HC_ENET : HC_EMEDIA,
                     "HTTP %ld from %s", status, shown);
    } else if (t.got == 0) {
        job_fail(job, index, HC_EMEDIA, "empty response body from %s", shown);
    } else {
        f->size_bytes = t.got;
        rc = 0;
    }
    close(fd);
    if (rc == 0)
        HC_DEBUG(COMP, "%s: downloaded %s (%zu bytes, %lld ms)",
                 label_of(job, index, label, sizeof label), shown, f->size_bytes,
                 (long long)((hc_now_us() - t0) / 1000));
    return rc;
}

static void *worker(void *arg) {
    fetch_job *job = arg;
    for (;;) {
        pthread_mutex_lock(&job->lock);
        int idx = -1;
        /* Indices ascend, so once one is above a failure all the rest are. */
        if (job->next < job->n_http && job->http_idx[job->next] < atomic_load(&job->fail_index))
            idx = job->http_idx[job->next++];
        pthread_mutex_unlock(&job->lock);
        if (idx < 0) break;
        if (download(job, idx) == 0) job_done(job, idx);
    }
    return NULL;
}

/* ---- public --------------------------------------------------------------- */

void hc_fetched_fini(hc_fetched *f) {
    if (!f) return;
    if (f->downloaded && f->path) unlink(f->path);
    free(f->path);
    memset(f, 0, sizeof *f);
}

int hc_fetch_many(const char *const *urls, const char *const *labels, int n,
                  const hc_fetch_opts *opts, hc_fetched *out, hc_err *err) {
    if (n < 0 || (n > 0 && (!urls || !out || !opts)))
        return hc_err_set(err, HC_EINVAL, "fetch: invalid arguments");
    if (n == 0) return 0;
    memset(out, 0, sizeof *out * (size_t)n);

    fetch_job job = {.urls = urls, .labels = labels, .n = n, .o = *opts, .out = out};
    hc_fetch_opts *o = &job.o;
    if (o->concurrency <= 0) o->concurrency = 8;
    if (o->concurrency > 64) o->concurrency = 64; /* a thread each: keep it sane */
    if (o->connect_timeout_ms <= 0) o->connect_timeout_ms = 5000;
    if (o->total_timeout_ms <= 0) o->total_timeout_ms = 30000;
    if (o->max_tries <= 0) o->max_tries = 3;
    if (o->backoff_ms <= 0) o->backoff_ms = 300;
    if (o->max_bytes == 0) o->max_bytes = (size_t)64 * 1024 * 1024;
    job.guard = o->guard_private || guard_default;
    job.allow = o->url_allow ? o->url_allow : allow_default;
    atomic_init(&job.fail_index, n);

    /* Pass 1, in the caller's thread: classify and check everything that
     * needs no network, so a bad request fails before any download. */
    job.http_idx = hc_xcalloc((size_t)n, sizeof *job.http_idx);
    job.signed_url = hc_xcalloc((size_t)n, sizeof *job.signed_url);
    char label[32], why[sizeof job.err.msg];
    hc_err e3 = {0};
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const char *u = urls[i];
        const char *lb = label_of(&job, i, label, sizeof label);
        size_t sl = u ? scheme_len(u) : 0;
        if (!u || !*u) {
            rc = hc_err_set(err, HC_EINVAL, "%s: empty URL", lb);
        } else if (sl && (has_prefix_ci(u, "http://") || has_prefix_ci(u, "https://"))) {
            hc_url pu;
            int uc = hc_url_parse(u, &pu, NULL);
            hc_url_fini(&pu);
            if (uc != 0) {
                char shown[512];
                hc_url_redact(u, shown, sizeof shown);
                rc = hc_err_set(err, HC_EINVAL, "%s: invalid URL %s", lb, shown);
            } else {
                /* An S3 URL (virtual-host or path style) is signed when
                 * credentials are at hand, so private objects work too. */
                int sr = s3_resolver ? s3_resolver(s3_ud, u, &job.signed_url[i], &e3) : 0;
                if (sr < 0)
                    rc = hc_err_set(err, sr, "%s: %s", lb, e3.msg);
                else
                    job.http_idx[job.n_http++] = i;
            }
        } else if (sl && has_prefix_ci(u, "s3://")) {
            int sr = s3_resolver ? s3_resolver(s3_ud, u, &job.signed_url[i], &e3) : 0;
            if (sr < 0)
                rc = hc_err_set(err, sr, "%s: %s", lb, e3.msg);
            else if (sr == 0)
                rc = hc_err_set(err, HC_EUNSUPPORTED,
                                "%s: s3:// inputs need AWS credentials and a region (none "
                                "configured in this process)",
                                lb);
            else
                job.http_idx[job.n_http++] = i;
        } else if (sl && !has_prefix_ci(u, "file://")) {
            rc = hc_err_set(err, HC_EINVAL,
                            "%s: unsupported scheme \"%.*s\" (use http://, https:// or s3://)", lb,
                            (int)(sl < 16 ? sl : 16), u);
        } else if (!o->allow_local) {
            rc = hc_err_set(err, HC_EINVAL,
                            "%s: local files are not allowed here (use an http(s):// or s3:// URL)",
                            lb);
        } else {
            int lr = local_path(&job, u, sl != 0, &out[i].path, why, sizeof why);
            if (lr == 0) lr = local_check(out[i].path, &out[i].size_bytes, why, sizeof why);
            if (lr != 0) rc = hc_err_set(err, lr, "%s: %s", lb, why);
        }
    }
    if (rc == 0 && job.n_http > 0 && (!o->work_dir || !*o->work_dir))
        rc = hc_err_set(err, HC_EINVAL, "fetch: no work_dir for downloads");
    if (rc != 0) goto done;

    for (int i = 0; i < n; i++) /* local inputs (the only ones with a path yet) are done */
        if (out[i].path) job_done(&job, i);
    if (job.n_http == 0) goto done;

    /* Pass 2: downloads; the caller's thread is one of the workers. */
    pthread_mutex_init(&job.lock, NULL);
    pthread_mutex_init(&job.cb_lock, NULL);

    int n_threads = o->concurrency < job.n_http ? o->concurrency : job.n_http;
    pthread_t *tids = hc_xcalloc((size_t)n_threads, sizeof *tids);
    int started = 0;
    for (int k = 1; k < n_threads; k++) {
        if (pthread_create(&tids[started], NULL, worker, &job) != 0) break;
        started++;
    }
    worker(&job);
    for (int k = 0; k < started; k++)
        pthread_join(tids[k], NULL);
    free(tids);
    pthread_mutex_destroy(&job.cb_lock);
    pthread_mutex_destroy(&job.lock);

    if (o->cancel && atomic_load(o->cancel)) {
        rc = hc_err_set(err, HC_ECANCELED, "downloads canceled");
    } else if (atomic_load(&job.fail_index) < n) {
        rc = hc_err_set(err, job.err.code, "%s", job.err.msg);
        HC_DEBUG(COMP, "fetch failed: %s", job.err.msg);
    }

done:
    if (rc != 0)
        for (int i = 0; i < n; i++)
            hc_fetched_fini(&out[i]);
    for (int i = 0; i < n; i++)
        free(job.signed_url[i]);
    free(job.signed_url);
    free(job.http_idx);
    return rc;
}
