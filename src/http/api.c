/* The job API routes (DESIGN.md §2, §3): submit, status, cancel, list,
 * health and metrics.
 *
 * Invariant: a 2xx to POST /render is sent only after hc_store_create
 * returned (the job is durable); the executor is woken (or run, with
 * submit_sync) after that. A
 * resubmitted job_id is idempotent when the request is the same (same
 * request_sha256 of the canonical JSON: 200 with the stored job) and a
 * conflict otherwise (409); nothing is ever overwritten. */
#include "http/http_int.h"

#include "dispatch/hc_dispatch.h"
#include "jobs/hc_jobs.h"
#include "store/hc_store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers -------------------------------------------------------------- */

char *http_status_json(hc_api *api, const hc_job *job) {
    if (!api->env.storage) return hc_job_status_json(job, NULL, NULL);
    char *out = job->output_url ? http_sign_url(api, job->output_url) : NULL;
    char *poster = job->poster_url ? http_sign_url(api, job->poster_url) : NULL;
    char *json = hc_job_status_json(job, out, poster);
    free(out);
    free(poster);
    return json;
}

static hc_executor *executor(hc_api *api) {
    return atomic_load_explicit(&api->executor, memory_order_acquire);
}

/* Job ids as hc_request_parse accepts them: 1..128 of [A-Za-z0-9._-]. */
static bool job_id_ok(const char *id) {
    size_t n = 0;
    for (; id[n]; n++) {
        char c = id[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok || n >= HC_MAX_JOB_ID_LEN) return false;
    }
    return n > 0;
}

/* A store failure: 503 when the store is unreachable or busy, else 500
 * (the one error map). The detail goes to the log, not to the client. */
static void store_failure(http_req *r, int rc, const hc_err *err, const char *what) {
    HC_ERROR("http", "%s: %s", what, err->msg[0] ? err->msg : hc_strerror(rc));
    int st = hc_api_status_of(rc, NULL);
    if (st == HTTP_SERVICE_UNAVAILABLE)
        http_reply_rc(r, rc, "the job store is unavailable; retry later");
    else
        http_reply_rc(r, HC_EINTERNAL, "internal error");
}

static void reply_job(http_req *r, int status, const hc_job *job, bool location) {
    http_reply_json(r, status, http_status_json(r->api, job));
    if (location) {
        char loc[HC_MAX_JOB_ID_LEN + 16];
        snprintf(loc, sizeof loc, "/render/%s", job->job_id);
        http_add_header(r, "Location", loc);
    }
}

/* ---- POST /render ----------------------------------------------------------- */

/* URLs the server would fetch or call: no literal internal addresses. */
static int guard_urls(const hc_request *req, const char *allow, hc_err *err) {
    char label[48];
    int rc;
    for (int i = 0; i < req->n_images; i++) {
        const hc_image_ref *im = &req->images[i];
        if (im->kind != HC_URL_HTTP && im->kind != HC_URL_HTTPS) continue;
        snprintf(label, sizeof label, "images[%d].url", im->index);
        if ((rc = http_url_guard(im->url, label, allow, err))) return rc;
    }
    if (req->audio_url && (rc = http_url_guard(req->audio_url, "audio.url", allow, err))) return rc;
    if (req->callback_url && (rc = http_url_guard(req->callback_url, "callback_url", allow, err)))
        return rc;
    return 0;
}

void http_api_submit(http_req *r) {
    hc_api *api = r->api;
    hc_request_opts opts = {.allow_local_files = false};
    hc_request *req = NULL;
    hc_err err = {0};
    hc_job job = {0}, existing = {0};
    const char *body = r->in->body ? r->in->body : "";
    int rc = hc_request_parse(body, r->in->body_len, &opts, &req, &err);
    if (!rc) rc = guard_urls(req, api->env.cfg->url_allow, &err);
    /* Names the render module owns (effects), as the CLI checks them. */
    if (!rc && api->env.validate) rc = api->env.validate(req, &err);
    if (rc) {
        http_reply_rc(r, rc, err.msg);
        goto done;
    }
    hc_job_from_request(&job, req);
    /* output.s3_key was checked by the parser; this covers the default
     * key made from the job id. */
    if (hc_storage_key_check(job.output_key, &err) != 0) {
        http_reply_error(r, HTTP_BAD_REQUEST, "INVAL", "output key %s: %s", job.output_key,
                         err.msg);
        goto done;
    }
    rc = hc_store_create(api->env.store, &job, &existing, &err);
    if (rc == HC_EEXISTS) {
        if (!strcmp(existing.request_sha256, job.request_sha256)) {
            reply_job(r, HTTP_OK, &existing, true);
        } else {
            http_reply_error(r, HTTP_CONFLICT, "CONFLICT",
                             "job_id %s exists with a different request", job.job_id);
        }
        goto done;
    }
    if (rc) {
        store_failure(r, rc, &err, "submit");
        goto done;
    }
    hc_log_set_job(job.job_id);
    HC_INFO("http", "job submitted (%d images, priority %d)", req->n_images, job.priority);
    hc_log_set_job(NULL);
    hc_executor *x = executor(api);
    if (x && api->env.submit_sync) {
        /* The job is durable: submit it now, then answer with what the
         * store holds (processing with its batch_job_id, or still queued). */
        hc_executor_reconcile(x);
        hc_job now = {0};
        hc_err gerr = {0};
        if (hc_store_get(api->env.store, job.job_id, &now, &gerr) == 0) {
            hc_job_fini(&job);
            job = now;
        }
    }
    reply_job(r, HTTP_ACCEPTED, &job, true);
    if (x) hc_executor_wake(x);
done:
    hc_job_fini(&job);
    hc_job_fini(&existing);
    hc_request_free(req);
}

/* ---- GET /render/status?job_id=ID, GET|DELETE /render/ID -------------------- */

static void status_of(http_req *r, const char *id) {
    if (!job_id_ok(id)) {
        http_reply_error(r, HTTP_NOT_FOUND, "NOTFOUND", "no job with that job_id");
        return;
    }
    hc_job job = {0};
    hc_err err = {0};
    int rc = hc_store_get(r->api->env.store, id, &job, &err);
    if (rc == HC_ENOTFOUND)
        http_reply_error(r, HTTP_NOT_FOUND, "NOTFOUND", "job %s not found", id);
    else if (rc)
        store_failure(r, rc, &err, "status");
    else
        reply_job(r, HTTP_OK, &job, false);
    hc_job_fini(&job);
}

void http_api_status_query(http_req *r) {
    const char *id = http_arg(r, "job_id");
    if (!id || !*id) {
        http_reply_error(r, HTTP_BAD_REQUEST, "INVAL",
                         "job_id: required (GET /render/status?job_id=ID)");
        return;
    }
    status_of(r, id);
}

static void cancel(http_req *r, const char *id) {
    hc_api *api = r->api;
    if (!job_id_ok(id)) {
        http_reply_error(r, HTTP_NOT_FOUND, "NOTFOUND", "no job with that job_id");
        return;
    }
    hc_job job = {0};
    hc_err err = {0};
    /* The store retries lost races itself: a conflict means the job is
     * final (or the store kept losing; then it is a store failure). */
    int rc = hc_store_cancel(api->env.store, id, &job, &err);
    if (rc == HC_ECONFLICT) {
        hc_job_fini(&job);
        int grc = hc_store_get(api->env.store, id, &job, &err);
        if (grc == 0 && hc_job_status_final(job.status)) {
            char *json = http_status_json(api, &job);
            char esc[HC_MAX_JOB_ID_LEN * 2 + 8];
            hc_json_escape(esc, sizeof esc, job.job_id);
            hc_buf b = {0};
            hc_buf_printf(&b,
                          "{\"error\":{\"code\":\"CONFLICT\",\"message\":\"job %s is already %s\"},"
                          "\"job\":",
                          esc, hc_job_status_names[job.status]);
            hc_buf_puts(&b, json);
            hc_buf_puts(&b, "}");
            free(json);
            http_reply_json(r, HTTP_CONFLICT, b.p);
            goto done;
        }
        if (grc) rc = grc;
    }
    if (rc == HC_ENOTFOUND) {
        http_reply_error(r, HTTP_NOT_FOUND, "NOTFOUND", "job %s not found", id);
    } else if (rc) {
        store_failure(r, rc, &err, "cancel");
    } else {
        hc_executor *x = executor(api);
        /* A running job's worker is stopped, and the executor reports its
         * end (metrics, callback). A queued one ends here. */
        if (!x || hc_executor_stop(x, id) == HC_ENOTFOUND) {
            hc_api_job_final(api, id);
            if (api->env.notifier) hc_notifier_wake(api->env.notifier);
        }
        hc_log_set_job(id);
        HC_INFO("http", "job canceled");
        hc_log_set_job(NULL);
        reply_job(r, HTTP_OK, &job, false);
    }
done:
    hc_job_fini(&job);
}

void http_api_job(http_req *r) {
    if (r->mbit == HTTP_DELETE)
        cancel(r, r->rest);
    else
        status_of(r, r->rest);
}

/* ---- GET /jobs?status=&limit=&cursor= --------------------------------------- */

void http_api_list(http_req *r) {
    hc_api *api = r->api;
    hc_store_query q = {.order = HC_STORE_ORDER_NEWEST, .limit = 50};
    const char *st = http_arg(r, "status");
    const char *lim = http_arg(r, "limit");
    const char *cur = http_arg(r, "cursor");
    /* status: one name or a comma-separated list. */
    for (const char *p = st; p && *p;) {
        size_t n = strcspn(p, ",");
        char name[32];
        int idx = -1;
        if (n && n < sizeof name) {
            memcpy(name, p, n);
            name[n] = 0;
            idx = hc_enum_lookup(hc_job_status_names, name);
        }
        if (idx < 0) {
            char allowed[128], shown[80];
            hc_enum_list(hc_job_status_names, allowed, sizeof allowed);
            snprintf(shown, sizeof shown, "%.*s", (int)(n < 60 ? n : 60), p);
            http_reply_error(r, HTTP_BAD_REQUEST, "INVAL",
                             "status: unknown value \"%s\" (allowed: %s)", shown, allowed);
            return;
        }
        q.status_mask |= HC_JOB_MASK(idx);
        p += n;
        if (*p == ',') p++;
    }
    if (lim && *lim) {
        char *end = NULL;
        errno = 0;
        long v = strtol(lim, &end, 10);
        if (errno || *end || end == lim || v < 1 || v > 1000) {
            char shown[40];
            snprintf(shown, sizeof shown, "%.30s", lim);
            http_reply_error(r, HTTP_BAD_REQUEST, "INVAL",
                             "limit: must be an integer between 1 and 1000 (got \"%s\")", shown);
            return;
        }
        q.limit = (int)v;
    }
    if (cur && *cur) {
        if (strlen(cur) >= 64) {
            http_reply_error(r, HTTP_BAD_REQUEST, "INVAL", "cursor: not a valid cursor");
            return;
        }
        q.cursor = cur;
    }
    hc_job_list list = {0};
    hc_err err = {0};
    int rc = hc_store_list(api->env.store, &q, &list, &err);
    if (rc == HC_EINVAL) {
        hc_job_list_fini(&list);
        http_reply_error(r, HTTP_BAD_REQUEST, "INVAL", "%s",
                         err.msg[0] ? err.msg : "cursor: not a valid cursor");
        return;
    }
    if (rc) {
        hc_job_list_fini(&list);
        store_failure(r, rc, &err, "list");
        return;
    }
    hc_buf b = {0};
    hc_buf_reserve(&b, (size_t)list.n * 600 + 64);
    hc_buf_puts(&b, "{\"jobs\":[");
    for (int i = 0; i < list.n; i++) {
        char *json = http_status_json(api, &list.v[i]);
        if (i) hc_buf_puts(&b, ",");
        hc_buf_puts(&b, json);
        free(json);
    }
    hc_buf_puts(&b, "],\"next_cursor\":");
    if (list.next_cursor[0]) {
        char esc[160];
        hc_json_escape(esc, sizeof esc, list.next_cursor);
        hc_buf_printf(&b, "\"%s\"}", esc);
    } else {
        hc_buf_puts(&b, "null}");
    }
    hc_job_list_fini(&list);
    http_reply_json(r, HTTP_OK, b.p);
}

/* ---- GET /healthz ------------------------------------------------------------ */

void http_api_healthz(http_req *r) {
    hc_api *api = r->api;
    int64_t counts[HC_JOB_STATUS_COUNT] = {0};
    hc_err err = {0};
    int rc = hc_store_count(api->env.store, counts, &err);
    bool draining = atomic_load(&api->quiesced);
    hc_buf b = {0};
    if (rc) {
        HC_WARN("http", "healthz: store: %s", err.msg[0] ? err.msg : hc_strerror(rc));
        hc_buf_printf(&b, "{\"status\":\"error\",\"store\":\"error\",\"error\":{\"code\":\"%s\"}}",
                      hc_errname(rc));
        http_reply_json(r, HTTP_SERVICE_UNAVAILABLE, b.p);
        return;
    }
    hc_buf_printf(&b,
                  "{\"status\":\"%s\",\"store\":\"ok\",\"queued\":%" PRId64
                  ",\"processing\":%" PRId64 ",\"workers\":",
                  draining ? "draining" : "ok", counts[HC_JOB_QUEUED], counts[HC_JOB_PROCESSING]);
    hc_executor *x = executor(api);
    if (x) {
        hc_executor_stats s = {0};
        hc_executor_stats_get(x, &s);
        hc_buf_printf(&b,
                      "{\"cpu_slots\":%d,\"gpu_slots\":%d,\"cpu_running\":%d,\"gpu_running\":%d}}",
                      s.cpu_slots, s.gpu_slots, s.cpu_running, s.gpu_running);
    } else {
        hc_buf_puts(&b, "null}");
    }
    http_reply_json(r, draining ? HTTP_SERVICE_UNAVAILABLE : HTTP_OK, b.p);
}

/* ---- GET /metrics (Prometheus text format 0.0.4) ------------------------------ */

void http_api_metrics(http_req *r) {
    hc_api *api = r->api;
    int64_t counts[HC_JOB_STATUS_COUNT] = {0};
    hc_err err = {0};
    bool store_up = hc_store_count(api->env.store, counts, &err) == 0;
    hc_buf b = {0};
    hc_buf_printf(&b,
                  "# HELP hydra_store_up Whether the job store answered.\n"
                  "# TYPE hydra_store_up gauge\nhydra_store_up %d\n",
                  store_up ? 1 : 0);
    if (store_up) {
        hc_buf_puts(&b,
                    "# HELP hydra_jobs Jobs in the store by status.\n# TYPE hydra_jobs gauge\n");
        for (int i = 0; i < HC_JOB_STATUS_COUNT; i++)
            hc_buf_printf(&b, "hydra_jobs{status=\"%s\"} %" PRId64 "\n", hc_job_status_names[i],
                          counts[i]);
        hc_buf_printf(&b,
                      "# HELP hydra_queue_depth Jobs waiting for a worker.\n"
                      "# TYPE hydra_queue_depth gauge\nhydra_queue_depth %" PRId64 "\n",
                      counts[HC_JOB_QUEUED]);
    }
    hc_executor *x = executor(api);
    if (x) {
        hc_executor_stats s = {0};
        hc_executor_stats_get(x, &s);
        hc_buf_printf(
            &b,
            "# HELP hydra_workers_busy Render slots in use.\n"
            "# TYPE hydra_workers_busy gauge\n"
            "hydra_workers_busy{kind=\"cpu\"} %d\nhydra_workers_busy{kind=\"gpu\"} %d\n"
            "# HELP hydra_workers_slots Render slots available.\n"
            "# TYPE hydra_workers_slots gauge\n"
            "hydra_workers_slots{kind=\"cpu\"} %d\nhydra_workers_slots{kind=\"gpu\"} %d\n",
            s.cpu_running, s.gpu_running, s.cpu_slots, s.gpu_slots);
    }

    uint64_t bucket[HTTP_RENDER_BUCKETS + 1], count, frames, finished[HC_JOB_STATUS_COUNT];
    double sum, fps;
    pthread_mutex_lock(&api->mu);
    memcpy(bucket, api->render_bucket, sizeof bucket);
    memcpy(finished, api->finished, sizeof finished);
    count = api->render_count;
    sum = api->render_sum_s;
    frames = api->frames_total;
    fps = api->last_fps;
    pthread_mutex_unlock(&api->mu);
    hc_buf_puts(&b, "# HELP hydra_render_seconds Wall time of completed renders.\n"
                    "# TYPE hydra_render_seconds histogram\n");
    uint64_t cum = 0;
    for (int i = 0; i < HTTP_RENDER_BUCKETS; i++) {
        cum += bucket[i];
        hc_buf_printf(&b, "hydra_render_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
                      http_render_bounds_s[i], cum);
    }
    cum += bucket[HTTP_RENDER_BUCKETS];
    hc_buf_printf(&b,
                  "hydra_render_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
                  "hydra_render_seconds_sum %.6f\nhydra_render_seconds_count %" PRIu64 "\n",
                  cum, sum, count);
    hc_buf_printf(&b,
                  "# HELP hydra_frames_encoded_total Frames encoded by completed renders.\n"
                  "# TYPE hydra_frames_encoded_total counter\nhydra_frames_encoded_total %" PRIu64
                  "\n"
                  "# HELP hydra_frames_per_second Encoding speed of the last completed render.\n"
                  "# TYPE hydra_frames_per_second gauge\nhydra_frames_per_second %.3f\n",
                  frames, fps);
    hc_buf_puts(&b,
                "# HELP hydra_jobs_finished_total Jobs that reached a final state since start.\n"
                "# TYPE hydra_jobs_finished_total counter\n");
    for (int i = HC_JOB_COMPLETED; i < HC_JOB_STATUS_COUNT; i++)
        hc_buf_printf(&b, "hydra_jobs_finished_total{status=\"%s\"} %" PRIu64 "\n",
                      hc_job_status_names[i], finished[i]);
    hc_buf_puts(&b, "# HELP hydra_http_requests_total HTTP responses by status code.\n"
                    "# TYPE hydra_http_requests_total counter\n");
    for (int i = 0; i < 500; i++) {
        uint64_t v = atomic_load_explicit(&api->codes[i], memory_order_relaxed);
        if (v)
            hc_buf_printf(&b, "hydra_http_requests_total{code=\"%d\"} %" PRIu64 "\n", i + 100, v);
    }
    http_status(r, HTTP_OK);
    hc_buf_fini(&r->out->body);
    r->out->body = b;
    http_add_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
}
