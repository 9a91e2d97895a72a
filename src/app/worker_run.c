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
 *  - outputs land only under the storage directory: keys with "..",
 *    absolute paths or backslashes are refused;
 *  - downloads go to DATA_DIR/work/job-<id>, removed at the end;
 *  - outgoing connections pass the private-address guard (HC_URL_ALLOW). */
#include "app/app.h"
#include "media/hc_media.h"
#include "render/hc_render.h"

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
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += HEARTBEAT_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&b->cv, &b->mu, &ts);
    }
    pthread_mutex_unlock(&b->mu);
    hc_log_set_job(NULL);
    return NULL;
}

/* ---- storage paths --------------------------------------------------------- */

/* mkdir -p of the directory path is in. */
static int mkdirs_for(const char *path, hc_err *err) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return 0;
    *slash = 0;
    return hc_mkdirs(dir, err);
}

/* base + "/files/" + key, percent-encoding all but unreserved and '/'. */
static char *file_url(const char *base, const char *key) {
    size_t cap = strlen(base) + sizeof "/files/" + 3 * strlen(key);
    char *u = hc_xmalloc(cap);
    size_t o = (size_t)snprintf(u, cap, "%s/files/", base);
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *s = (const unsigned char *)key; *s; s++) {
        unsigned char c = *s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
            u[o++] = (char)c;
        } else {
            u[o++] = '%';
            u[o++] = hex[c >> 4];
            u[o++] = hex[c & 15];
        }
    }
    u[o] = 0;
    return u;
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
    char out_path[PATH_MAX], poster_path[PATH_MAX], work_dir[PATH_MAX] = "", pkey[PATH_MAX];
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

    /* Everything up to the render fails the job at once. */
    hc_request_opts ro = {.allow_local_files = false};
    rc = hc_request_parse(job.request ? job.request : "", job.request ? strlen(job.request) : 0,
                          &ro, &req, &err);
    if (rc == 0) rc = hc_media_init(&err);
    const char *dir = hc_config_storage_dir(cfg);
    if (rc == 0) {
        if (!dir)
            rc = hc_err_set(&err, HC_EUNSUPPORTED,
                            "HC_STORAGE \"%s\": only file:DIR storage is available to local "
                            "workers",
                            cfg->storage ? cfg->storage : "");
    }
    if (rc == 0 && (rc = hc_storage_key_check(job.output_key, &err)))
        hc_err_prefix(&err, "output key %s: ", job.output_key);
    if (rc == 0) {
        hc_poster_name(job.output_key, pkey, sizeof pkey);
        if (snprintf(out_path, sizeof out_path, "%s/%s", dir, job.output_key) >=
                (int)sizeof out_path ||
            snprintf(poster_path, sizeof poster_path, "%s/%s", dir, pkey) >=
                (int)sizeof poster_path)
            rc = hc_err_set(&err, HC_EINVAL, "output key: path too long");
    }
    if (rc == 0) rc = mkdirs_for(out_path, &err);
    if (rc == 0) rc = mkdirs_for(poster_path, &err);
    if (rc == 0) {
        /* "job-" keeps ids like ".." from naming the work directory itself. */
        snprintf(work_dir, sizeof work_dir, "%s/work/job-%s", cfg->data_dir ? cfg->data_dir : ".",
                 job_id);
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
         * what becomes of the job). A render that finished anyway leaves
         * nothing behind. */
        if (rc == 0) {
            unlink(out_path);
            unlink(poster_path);
        }
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

    char *base = NULL;
    if (cfg->public_url && *cfg->public_url) {
        base = hc_strdup(cfg->public_url);
    } else {
        size_t n = strlen(cfg->listen ? cfg->listen : "127.0.0.1:8080") + sizeof "http://";
        base = hc_xmalloc(n);
        snprintf(base, n, "http://%s", cfg->listen ? cfg->listen : "127.0.0.1:8080");
    }
    for (size_t n = strlen(base); n > 0 && base[n - 1] == '/';)
        base[--n] = 0;
    free(job.output_url);
    free(job.poster_url);
    job.output_url = file_url(base, job.output_key);
    job.poster_url = file_url(base, pkey);
    free(base);
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
        if (!theirs) {
            unlink(out_path);
            unlink(poster_path);
        }
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
    hc_render_result_fini(&res);
    hc_request_free(req);
    hc_job_fini(&job);
    hc_log_set_job(NULL);
    return rc == 0 ? 0 : hc_err_exit_code(rc);
}
