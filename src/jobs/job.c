/* Jobs as stored (DESIGN.md §3, §9): the job record's ownership helpers, a
 * queued job made from a parsed request, the status and callback JSON, and
 * the SHA-256 / HMAC-SHA256 hex digests (OpenSSL).
 *
 * Invariant: the JSON built here never carries the stored request, the
 * callback URL or the callback secret, except the callback body's "secret"
 * when the caller explicitly asks for it. */
#include "jobs/hc_jobs.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const hc_job_status_names[] = {"queued", "processing", "completed",
                                           "failed", "canceled",   NULL};

bool hc_job_status_final(hc_job_status s) {
    return s == HC_JOB_COMPLETED || s == HC_JOB_FAILED || s == HC_JOB_CANCELED;
}

/* ---- ownership ------------------------------------------------------------ */

/* Every owned string of a job, so fini and copy cannot miss one. */
#define JOB_STRINGS(X)                                                                             \
    X(request)                                                                                     \
    X(output_url)                                                                                  \
    X(poster_url)                                                                                  \
    X(output_key)                                                                                  \
    X(error_message)                                                                               \
    X(encoder_reason)                                                                              \
    X(metadata)                                                                                    \
    X(warnings)                                                                                    \
    X(cb_last_error)

void hc_job_fini(hc_job *job) {
    if (!job) return;
#define FREE_(f) free(job->f);
    JOB_STRINGS(FREE_)
#undef FREE_
    memset(job, 0, sizeof *job);
}

void hc_job_copy(hc_job *dst, const hc_job *src) {
    if (dst == src) return;
    memcpy(dst, src, sizeof *dst);
#define DUP_(f) dst->f = src->f ? hc_strdup(src->f) : NULL;
    JOB_STRINGS(DUP_)
#undef DUP_
}

void hc_job_set_str(char **field, const char *s) {
    char *old = *field;
    *field = s ? hc_strdup(s) : NULL;
    free(old); /* after the copy: s may point into the old value */
}

void hc_job_set_error(hc_job *job, int code, const char *msg) {
    job->status = HC_JOB_FAILED;
    snprintf(job->error_code, sizeof job->error_code, "%s", hc_errname(code));
    hc_job_set_str(&job->error_message, msg ? msg : hc_strerror(code));
    job->finished_us = hc_wall_us();
}

void hc_job_from_request(hc_job *job, const hc_request *req) {
    memset(job, 0, sizeof *job);
    snprintf(job->job_id, sizeof job->job_id, "%s", req->job_id);
    job->status = HC_JOB_QUEUED;
    job->request = hc_strdup(req->canonical_json ? req->canonical_json : "{}");
    hc_sha256_hex(job->request, strlen(job->request), job->request_sha256);
    job->priority = req->priority;
    job->hardware = req->settings.hardware;
    if (req->metadata_json) job->metadata = hc_strdup(req->metadata_json);
    if (req->output_s3_key && *req->output_s3_key) {
        job->output_key = hc_strdup(req->output_s3_key);
    } else {
        size_t n = strlen(req->job_id) + sizeof "renders/.mp4";
        job->output_key = hc_xmalloc(n);
        snprintf(job->output_key, n, "renders/%s.mp4", req->job_id);
    }
    job->created_us = job->updated_us = hc_wall_us();
}

bool hc_job_has_callback(const hc_job *job) {
    if (!job || !job->request || !*job->request) return false;
    json_t *root = json_loads(job->request, 0, NULL);
    const char *url = json_string_value(json_object_get(root, "callback_url"));
    bool has = url && *url;
    json_decref(root);
    return has;
}

/* ---- JSON ----------------------------------------------------------------- */

/* A string, or null when s is NULL or empty. */
static json_t *str_or_null(const char *s) {
    return s && *s ? json_string(s) : json_null();
}

/* An RFC 3339 UTC time, or null when unset (0). */
static json_t *time_or_null(int64_t unix_us) {
    if (unix_us <= 0) return json_null();
    char buf[40];
    hc_time_rfc3339(buf, sizeof buf, unix_us);
    return json_string(buf);
}

/* Seconds, or null while unknown (0: the job has not produced a video). */
static json_t *secs_or_null(double s) {
    return s > 0 ? json_real(s) : json_null();
}

static json_t *error_json(const hc_job *job) {
    if (!job->error_code[0] && !(job->error_message && *job->error_message)) return json_null();
    json_t *e = json_object();
    json_object_set_new(e, "code", json_string(job->error_code[0] ? job->error_code : "INTERNAL"));
    json_object_set_new(e, "message", json_string(job->error_message ? job->error_message : ""));
    return e;
}

/* The stored metadata object, or null (absent or unreadable). */
static json_t *metadata_json(const hc_job *job) {
    if (!job->metadata || !*job->metadata) return json_null();
    json_t *m = json_loads(job->metadata, 0, NULL);
    if (!json_is_object(m)) {
        json_decref(m);
        return json_null();
    }
    return m;
}

static json_t *warnings_json(const hc_job *job) {
    json_t *w = job->warnings && *job->warnings ? json_loads(job->warnings, 0, NULL) : NULL;
    if (!json_is_array(w)) {
        json_decref(w);
        return json_array();
    }
    return w;
}

/* The callback's delivery state (DESIGN.md §3): pending until a final
 * state's callback was delivered or given up ("failed"). */
static json_t *callback_json(const hc_job *job) {
    json_t *c = json_object();
    const char *state = job->cb_state == HC_CB_DELIVERED ? "delivered"
                        : job->cb_state == HC_CB_GAVE_UP ? "failed"
                                                         : "pending";
    json_object_set_new(c, "state", json_string(state));
    json_object_set_new(c, "attempts", json_integer(job->cb_attempts));
    json_object_set_new(c, "last_error",
                        job->cb_last_error && *job->cb_last_error ? json_string(job->cb_last_error)
                                                                  : json_null());
    json_object_set_new(c, "delivered_at", time_or_null(job->cb_delivered_us));
    return c;
}

static const char *status_name(hc_job_status s) {
    return (int)s >= 0 && s < HC_JOB_STATUS_COUNT ? hc_job_status_names[s] : "unknown";
}

/* json_dumps into a plain malloc'd string (jansson uses malloc by default,
 * but the documented contract is "caller frees with free()"). */
static char *dump(json_t *root) {
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!text) {
        fputs("hydra-compose: out of memory\n", stderr);
        abort();
    }
    return text;
}

char *hc_job_status_json(const hc_job *job, const char *output_url, const char *poster_url) {
    json_t *o = json_object();
    json_object_set_new(o, "job_id", json_string(job->job_id));
    json_object_set_new(o, "status", json_string(status_name(job->status)));
    json_object_set_new(o, "progress", json_integer(job->progress));
    json_object_set_new(o, "current_step", str_or_null(job->current_step));
    json_object_set_new(o, "output_url", str_or_null(output_url ? output_url : job->output_url));
    json_object_set_new(o, "poster_url", str_or_null(poster_url ? poster_url : job->poster_url));
    json_object_set_new(o, "error", error_json(job));
    json_object_set_new(o, "batch_job_id", str_or_null(job->batch_job_id));
    json_object_set_new(o, "created_at", time_or_null(job->created_us));
    json_object_set_new(o, "started_at", time_or_null(job->started_us));
    json_object_set_new(o, "finished_at", time_or_null(job->finished_us));
    json_object_set_new(o, "duration_s", secs_or_null(job->duration_s));
    json_object_set_new(o, "render_s", secs_or_null(job->render_s));
    json_object_set_new(o, "encoder", str_or_null(job->encoder));
    json_object_set_new(o, "encoder_reason", str_or_null(job->encoder_reason));
    json_object_set_new(o, "attempts", json_integer(job->attempts));
    json_object_set_new(o, "metadata", metadata_json(job));
    json_object_set_new(o, "frames_done", json_integer(job->frames_done));
    json_object_set_new(o, "frames_total", json_integer(job->frames_total));
    json_object_set_new(o, "priority", json_integer(job->priority));
    json_object_set_new(o, "warnings", warnings_json(job));
    if (hc_job_has_callback(job)) json_object_set_new(o, "callback", callback_json(job));
    return dump(o);
}

char *hc_job_callback_json(const hc_job *job, const char *secret) {
    json_t *o = json_object();
    json_object_set_new(o, "job_id", json_string(job->job_id));
    json_object_set_new(o, "status", json_string(status_name(job->status)));
    json_object_set_new(o, "output_url", str_or_null(job->output_url));
    json_object_set_new(o, "poster_url", str_or_null(job->poster_url));
    json_object_set_new(o, "error", error_json(job));
    json_object_set_new(o, "metadata", metadata_json(job));
    json_object_set_new(o, "duration_s", secs_or_null(job->duration_s));
    json_object_set_new(o, "render_s", secs_or_null(job->render_s));
    if (secret) json_object_set_new(o, "secret", json_string(secret));
    return dump(o);
}

/* ---- digests -------------------------------------------------------------- */

void hc_sha256_hex(const void *data, size_t len, char hex[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    /* Only fails on allocation failure inside OpenSSL: fatal, like hc_xmalloc. */
    if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL)) {
        fputs("hydra-compose: SHA-256 failed\n", stderr);
        abort();
    }
    hc_hex(md, n < 32 ? n : 32, hex);
}

void hc_hmac_sha256_hex(const char *key, const void *msg, size_t len, char hex[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    const char *k = key ? key : "";
    if (!HMAC(EVP_sha256(), k, (int)strlen(k), msg, len, md, &n)) {
        fputs("hydra-compose: HMAC-SHA256 failed\n", stderr);
        abort();
    }
    hc_hex(md, n < 32 ? n : 32, hex);
}

int hc_storage_key_check(const char *key, hc_err *err) {
    if (!key || !*key) return hc_err_set(err, HC_EINVAL, "must not be empty");
    if (strlen(key) > 1024) return hc_err_set(err, HC_EINVAL, "longer than 1024 bytes");
    if (key[0] == '/') return hc_err_set(err, HC_EINVAL, "must be relative (no leading \"/\")");
    for (const unsigned char *s = (const unsigned char *)key; *s; s++)
        if (*s < 0x20 || *s == 0x7f || *s == '\\')
            return hc_err_set(err, HC_EINVAL, "must not contain backslashes or control characters");
    for (const char *seg = key;;) {
        size_t n = strcspn(seg, "/");
        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return hc_err_set(err, HC_EINVAL, "must not have an empty, \".\" or \"..\" segment");
        if (!seg[n]) break;
        seg += n + 1;
    }
    return 0;
}

void hc_poster_name(const char *video, char *buf, size_t len) {
    size_t n = strlen(video);
    if (n > 4 && strcasecmp(video + n - 4, ".mp4") == 0)
        snprintf(buf, len, "%.*s.jpg", (int)(n - 4), video);
    else
        snprintf(buf, len, "%s.jpg", video);
}
