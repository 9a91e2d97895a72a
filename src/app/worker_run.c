/* The worker side of dispatch: `hydra-compose worker JOB_ID` runs one job
 * the executor has claimed, from the store to its final state.
 *
 * The store is the only channel to the server. A heartbeat thread writes
 * progress every HEARTBEAT_MS with a compare-and-set on "processing"; when
 * that write fails with HC_ECONFLICT the job was canceled (or finalised)
 * elsewhere and the render's cancel flag is raised, as SIGTERM raises it.
 * The render then stops within a frame or two.
 *
 * Invariants:
 *  - a final state is written only through hc_store_finish (processing ->
 *    completed | failed), after the heartbeat thread has stopped, so no
 *    progress write can land after it;
 *  - a canceled render (store or SIGTERM) writes nothing: the store
 *    already holds the cancel, or the executor puts the job back;
 *  - outputs go only through the storage (HC_STORAGE, src/storage/), whose
 *    keys never leave its root: the render writes into the work directory,
 *    the storage's put then makes the objects appear whole; a job that is
 *    not completed in the store leaves no object behind;
 *  - downloads and the render go to DATA_DIR/work/job-<id>, removed at the
 *    end;
 *  - outgoing connections pass the private-address guard (HC_URL_ALLOW). */
#include "app/app.h"
#include "media/hc_media.h"
#include "render/hc_render.h"
#include "storage/hc_storage.h"

#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define COMP         "worker"
#define HEARTBEAT_MS 500

/* Raised by SIGTERM/SIGINT and by a failed heartbeat (canceled job). */
static atomic_int cancel_flag;

static void on_signal(int sig) {
    (void)sig;
    atomic_store(&cancel_flag, 1);
}

/* The heartbeat: owns `job` from start to join. */
typedef struct beat {
    hc_store *store;
    hc_job job;
    const char *job_id; /* for logs (borrowed) */
    pthread_t thread;
    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t cv;
    char stage[16];
    int64_t done, total;
    bool stop;
    bool canceled; /* a write found the job no longer processing */
} beat;

static void on_progress(void *ud, const hc_progress *p) {
    beat *b = ud;
    pthread_mutex_lock(&b->mu);
    if (p->stage) snprintf(b->stage, sizeof b->stage, "%s", p->stage);
    b->done = p->done;
    b->total = p->total;
    pthread_mutex_unlock(&b->mu);
}

/* Fold the latest progress report into job (progress never goes back). */
static void apply_progress(beat *b) {
    pthread_mutex_lock(&b->mu);
    char stage[16];
    memcpy(stage, b->stage, sizeof stage);
    int64_t done = b->done, total = b->total;
    pthread_mutex_unlock(&b->mu);
    hc_job *j = &b->job;
    if (stage[0]) snprintf(j->current_step, sizeof j->current_step, "%s", stage);
    int pct = j->progress;
    if (strcmp(stage, "rendering") == 0 && total > 0) {
        j->frames_done = done;
        j->frames_total = total;
        /* 100 means stored and final: the last frame leaves 99. */
        int p = (int)(done * 100 / total);
        pct = p > 99 ? 99 : p;
    } else if (strcmp(stage, "finalizing") == 0) {
        pct = 99;
    }
    if (pct > j->progress) j->progress = pct;
}

static void *heartbeat(void *arg) {
    beat *b = arg;
    hc_log_set_job(b->job_id);
    int warned = 0;
    pthread_mutex_lock(&b->mu);
    while (!b->stop) {
        pthread_mutex_unlock(&b->mu);
        apply_progress(b);
        hc_err err = {0};
        int rc = hc_store_progress(b->store, &b->job, &err); /* progress fields, own attempt */
        pthread_mutex_lock(&b->mu);
        if (rc == HC_ECONFLICT || rc == HC_ENOTFOUND) {
            b->canceled = true;
            atomic_store(&cancel_flag, 1);
            HC_INFO(COMP, "the job is no longer processing (canceled): stopping the render");
            break;
        }
        if (rc != 0 && warned++ < 3) HC_WARN(COMP, "cannot write progress: %s", err.msg);
        if (b->stop) break;
        struct timespec ts;
        hc_cond_deadline(&ts, (int64_t)HEARTBEAT_MS * 1000);
        pthread_cond_timedwait(&b->cv, &b->mu, &ts);
    }
    pthread_mutex_unlock(&b->mu);
    hc_log_set_job(NULL);
    return NULL;
}

/* ---- storage ------------------------------------------------------------- */

/* The storage of cfg, with the base of /files links: the public URL, else
 * the server's listen address. */
static int open_storage(const hc_config *cfg, hc_storage **out, hc_err *err) {
    char base[1024];
    if (cfg->public_url && *cfg->public_url)
        snprintf(base, sizeof base, "%s", cfg->public_url);
    else
        snprintf(base, sizeof base, "http://%s", cfg->listen ? cfg->listen : "127.0.0.1:8080");
    hc_storage_env env = {.public_url = base};
    return hc_storage_open(cfg->storage, &env, out, err);
}

/* Upload progress into the heartbeat: bytes of both files; a cancel (store
 * or signal) stops the upload. */
typedef struct upload {
    beat *b;
    int64_t base, total;
} upload;

static bool on_upload(void *ud, int64_t done, int64_t total) {
    upload *u = ud;
    (void)total;
    hc_progress p = {.stage = "uploading", .done = u->base + done, .total = u->total};
    on_progress(u->b, &p);
    return !atomic_load(&cancel_flag);
}

/* Remove both objects (a job that did not complete keeps none). */
static void remove_outputs(hc_storage *st, const char *bucket, const char *key, const char *pkey) {
    hc_err err = {0};
    if (hc_storage_remove(st, bucket, key, &err) || hc_storage_remove(st, bucket, pkey, &err))
        HC_WARN(COMP, "cannot remove the outputs of a job that did not complete: %s", err.msg);
}

static int64_t file_size(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

/* Put the MP4 and its poster at their keys (bucket: output.s3_bucket, or
 * NULL). */
static int upload_outputs(hc_storage *st, beat *b, const char *bucket, const char *key,
                          const char *path, const char *pkey, const char *ppath, hc_err *err) {
    int64_t vsize = file_size(path);
    upload u = {.b = b, .base = 0, .total = vsize + file_size(ppath)};
    hc_storage_put_opts o = {
        .content_type = "video/mp4", .bucket = bucket, .progress = on_upload, .ud = &u};
    int rc = hc_storage_put(st, key, path, &o, err);
    if (rc) return rc;
    u.base = vsize;
    o.content_type = "image/jpeg";
    rc = hc_storage_put(st, pkey, ppath, &o, err);
    if (rc) {
        hc_err ignored = {0};
        hc_storage_remove(st, bucket, key, &ignored);
    }
    return rc;
}

/* The render's warnings (request warnings first) as a JSON array, or NULL. */
static char *warnings_json(const hc_request *req, const hc_render_result *res) {
    if (req->warnings.n + res->warnings.n == 0) return NULL;
    json_t *a = json_array();
    for (int i = 0; i < req->warnings.n; i++)
        json_array_append_new(a, json_string(req->warnings.v[i]));
    for (int i = 0; i < res->warnings.n; i++)
        json_array_append_new(a, json_string(res->warnings.v[i]));
    char *s = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return s;
}

/* ---- the job ---------------------------------------------------------------- */

/* Record the failure (unless the job left processing meanwhile). */
static void fail_job(hc_store *store, hc_job *job, const hc_err *e) {
    int code = e->code ? e->code : HC_EINTERNAL;
    hc_job_set_error(job, code, e->msg[0] ? e->msg : hc_strerror(code));
    hc_err err = {0};
    int rc = hc_store_finish(store, job, &err);
    if (rc == HC_ECONFLICT)
        HC_INFO(COMP, "the job left processing meanwhile (canceled); failure not recorded: %s",
                e->msg);
    else if (rc != 0)
        HC_ERROR(COMP, "cannot record the failure (%s): %s", e->msg, err.msg);
    else
        HC_WARN(COMP, "failed: %s: %s", hc_errname(code), e->msg);
}

int hc_worker_run_job(const hc_config *cfg, hc_store *store, const char *job_id) {
    hc_log_set_job(job_id);
    atomic_store(&cancel_flag, 0);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Server mode: every URL here came from an API client. */
    hc_fetch_set_guard(true, cfg->url_allow);

    hc_job job = {0};
    hc_err err = {0};
    hc_request *req = NULL;
    hc_render_result res = {0};
    hc_storage *storage = NULL;
    const char *bucket = NULL;
    char out_path[PATH_MAX + 16], poster_path[PATH_MAX + 16], work_dir[PATH_MAX] = "",
                                                              pkey[PATH_MAX];
    int rc = hc_store_get(store, job_id, &job, &err);
    if (rc != 0) {
        HC_ERROR(COMP, "cannot read the job: %s", err.msg);
        hc_log_set_job(NULL);
        /* An unknown job is final; a store that does not answer is transient. */
        return rc == HC_ENOTFOUND ? 1 : 3;
    }
    if (job.status != HC_JOB_PROCESSING) {
        HC_ERROR(COMP, "the job is %s, not processing: only a claimed job is run",
                 hc_job_status_names[job.status]);
        hc_job_fini(&job);
        hc_log_set_job(NULL);
        return 1;
    }
    int64_t t0 = hc_now_us();
    /* S3 inputs (s3://, S3 URLs) are fetched by presigned URLs from the
     * storage endpoint, as infrastructure. */
    hc_storage_s3_inputs *s3in = NULL;
    hc_err s3err = {0};
    if (hc_storage_s3_inputs_open(&s3in, &s3err) == 0)
        hc_fetch_set_s3(hc_storage_s3_inputs_resolve, s3in);
    else
        HC_DEBUG(COMP, "no S3 inputs: %s", s3err.msg);

    /* Everything up to the render fails the job at once. */
    hc_request_opts ro = {.allow_local_files = false};
    rc = hc_request_parse(job.request ? job.request : "", job.request ? strlen(job.request) : 0,
                          &ro, &req, &err);
    if (rc == 0) rc = hc_media_init(&err);
    if (rc == 0) rc = open_storage(cfg, &storage, &err);
    if (rc == 0 && (rc = hc_storage_key_check(job.output_key, &err)))
        hc_err_prefix(&err, "output key %s: ", job.output_key);
    if (rc == 0) {
        hc_poster_name(job.output_key, pkey, sizeof pkey);
        /* output.s3_bucket names a bucket, which only S3 storage has: with
         * any other the key stays under the storage root (see
         * src/storage/hc_storage.h for why this is not refused). */
        if (req->output_s3_bucket && !hc_storage_has_buckets(storage))
            hc_strlist_add(&req->warnings,
                           "output.s3_bucket \"%s\": ignored (the storage %s has no buckets); "
                           "the video is at %s under its root",
                           req->output_s3_bucket, cfg->storage, job.output_key);
        else
            bucket = req->output_s3_bucket;
        /* "job-" keeps ids like ".." from naming the work directory itself. */
        snprintf(work_dir, sizeof work_dir, "%s/work/job-%s", cfg->data_dir ? cfg->data_dir : ".",
                 job_id);
        snprintf(out_path, sizeof out_path, "%s/output.mp4", work_dir);
        snprintf(poster_path, sizeof poster_path, "%s/output.jpg", work_dir);
        rc = hc_mkdirs(work_dir, &err);
    }
    if (rc != 0) {
        fail_job(store, &job, &err);
        goto done;
    }

    HC_INFO(COMP, "rendering (attempt %d) into %s", job.attempts, job.output_key);
    beat b = {.store = store, .job_id = job_id};
    hc_job_copy(&b.job, &job);
    snprintf(b.stage, sizeof b.stage, "downloading");
    pthread_mutex_init(&b.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b.cv, &ca);
    pthread_condattr_destroy(&ca);
    bool beating = pthread_create(&b.thread, NULL, heartbeat, &b) == 0;
    if (!beating) HC_WARN(COMP, "no heartbeat thread: progress and cancel are not tracked");

    hc_render_opts ro2 = {
        .out_path = out_path,
        .poster_path = poster_path,
        .work_dir = work_dir,
        .allow_local = false,
        .use_nvenc = cfg->use_nvenc ? cfg->use_nvenc : getenv("USE_NVENC"),
        .progress = on_progress,
        .ud = &b,
        .cancel = &cancel_flag,
    };
    rc = hc_render_run(req, &ro2, &res, &err);
    /* Uploaded while the heartbeat still runs: bytes sent are progress,
     * and a cancel in the store stops the upload too. */
    bool uploaded = false;
    if (rc == 0 && !atomic_load(&cancel_flag)) {
        rc = upload_outputs(storage, &b, bucket, job.output_key, out_path, pkey, poster_path, &err);
        uploaded = rc == 0;
        if (rc == HC_ECANCELED && !atomic_load(&cancel_flag)) rc = HC_EIO; /* not ours */
    }

    pthread_mutex_lock(&b.mu);
    b.stop = true;
    pthread_cond_signal(&b.cv);
    pthread_mutex_unlock(&b.mu);
    if (beating) pthread_join(b.thread, NULL);
    bool canceled = b.canceled;
    apply_progress(&b);
    hc_job_fini(&job);
    job = b.job; /* the heartbeat's copy: the last state written */
    pthread_cond_destroy(&b.cv);
    pthread_mutex_destroy(&b.mu);

    if (rc == HC_ECANCELED || canceled) {
        /* Canceled in the store (it holds the final state; the job may even
         * have been retried and claimed by another worker since, so this
         * one writes nothing), or stopped by SIGTERM (the executor decides
         * what becomes of the job). A job that finished anyway leaves
         * nothing behind. */
        if (uploaded) remove_outputs(storage, bucket, job.output_key, pkey);
        HC_INFO(COMP, "render stopped (%s) after %.1f s", canceled ? "job canceled" : "signal",
                (hc_now_us() - t0) / 1e6);
        /* A signal is an interruption (a spot reclaim, a shutdown): worth
         * another attempt (exit 3). A cancel in the store is final (1). */
        rc = canceled ? HC_ECANCELED : HC_ETRANSIENT;
        goto done;
    }
    if (rc != 0) {
        fail_job(store, &job, &err);
        goto done;
    }

    /* Stored plain: readers sign or presign them (hc_storage_sign_url). */
    free(job.output_url);
    free(job.poster_url);
    job.output_url = job.poster_url = NULL;
    if ((rc = hc_storage_url(storage, bucket, job.output_key, &job.output_url, &err)) ||
        (rc = hc_storage_url(storage, bucket, pkey, &job.poster_url, &err))) {
        remove_outputs(storage, bucket, job.output_key, pkey);
        fail_job(store, &job, &err);
        goto done;
    }
    job.status = HC_JOB_COMPLETED; /* finish sets progress, clears step and error */
    job.frames_done = job.frames_total = res.frames;
    job.duration_s = res.duration_s;
    job.render_s = res.render_s;
    snprintf(job.encoder, sizeof job.encoder, "%s", res.encoder);
    hc_job_set_str(&job.encoder_reason, res.encoder_reason[0] ? res.encoder_reason : NULL);
    free(job.warnings);
    job.warnings = warnings_json(req, &res);
    hc_err ferr = {0};
    int frc = hc_store_finish(store, &job, &ferr);
    if (frc == 0) {
        HC_INFO(COMP, "completed: %.1f s of video in %.1f s (%s)", res.duration_s, res.render_s,
                res.encoder);
    } else {
        /* Canceled while the last frames were written: nobody will serve
         * these files, unless a duplicate worker of the same attempt
         * completed the job with them (same key, same content). */
        hc_job now = {0};
        hc_err gerr = {0};
        bool theirs = frc == HC_ECONFLICT && hc_store_get(store, job_id, &now, &gerr) == 0 &&
                      now.status == HC_JOB_COMPLETED;
        hc_job_fini(&now);
        if (!theirs) remove_outputs(storage, bucket, job.output_key, pkey);
        if (theirs) {
            HC_INFO(COMP, "the job was completed by another worker meanwhile: nothing changed");
            rc = 0;
        } else if (frc == HC_ECONFLICT) {
            HC_INFO(COMP, "the job was canceled as it finished: outputs removed");
            rc = HC_ECANCELED;
        } else {
            HC_ERROR(COMP, "cannot record the result: %s", ferr.msg);
            rc = HC_ETRANSIENT; /* the store did not answer: another attempt may */
        }
    }

done:
    if (work_dir[0]) hc_remove_tree(work_dir);
    hc_storage_close(storage);
    hc_fetch_set_s3(NULL, NULL);
    hc_storage_s3_inputs_close(s3in);
    hc_render_result_fini(&res);
    hc_request_free(req);
    hc_job_fini(&job);
    hc_log_set_job(NULL);
    return rc == 0 ? 0 : hc_err_exit_code(rc);
}
