/* The reconcile loop: one executor over any remote scheduler backend
 * (hc_sched_backend: AWS Batch, later Slurm). What it does is in
 * hc_dispatch.h ("remote schedulers and the reconcile loop").
 *
 * One thread loops every TICK_MS (or at once when woken): submit queued
 * jobs while capacity is free, then, at most every PROBE_US, ask the
 * scheduler about the stale processing jobs (those the worker has not
 * written for STALE_US, or running past the job timeout, or auto jobs on
 * the GPU queue past HC_GPU_WAIT_S) in batches of at most 100.
 *
 * Invariants:
 *  - the store is the truth: every decision is a compare-and-set
 *    transition (claim from queued, requeue/finish from processing, the
 *    queue move re-checks batch_job_id just before writing), so a worker
 *    that finishes meanwhile always wins, and a second server running the
 *    same loop on the same store does no harm;
 *  - a submission whose claim is lost is canceled at the scheduler, so no
 *    unowned external job runs on;
 *  - which queue a job is in is kept in memory (ids submitted here); after
 *    a restart a job's queue is unknown and it is not moved (it still gets
 *    every other check). */
#include "dispatch/hc_dispatch.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COMP        "executor"
#define TICK_MS     500
#define STALE_US    (5 * 1000000LL)  /* no worker write for this long: ask the scheduler */
#define PROBE_US    (2 * 1000000LL)  /* at most one probe round this often (rate limits) */
#define SUBMIT_BACKOFF_US (5 * 1000000LL) /* after a failed submission */
#define LIST_LIMIT  100
#define TRACK_MAX   4096

typedef struct tracked {
    char ext_id[128];
    bool gpu;
    int64_t submitted_us; /* wall clock */
} tracked;

typedef struct recon {
    hc_executor *x;
    hc_sched *sched;
    const hc_config *cfg;
    hc_store *store;
    pthread_t thread;
    /* One pass at a time: the loop's and hc_reconcile_once's (the Lambda's
     * submit and scheduled event), so a queued job is submitted once. */
    pthread_mutex_t pass_mu;
    pthread_mutex_t mu; /* guards everything below but next_probe_us (loop thread only) */
    pthread_cond_t cv;
    bool wake, closing, started;
    int64_t next_probe_us, submit_after_us;
    tracked *track;
    int n_track;
    int gpu_running, cpu_running;
} recon;

/* The executor's private part holds a pointer to the loop's state. */
static recon *of(hc_executor *x) {
    return *(recon **)hc_executor_priv(x);
}

#define log_job(level, job_id, ...) hc_log_write_job((level), COMP, (job_id), __VA_ARGS__)

void hc_sched_job_name(const char *job_id, char *out, size_t len) {
    if (len == 0) return;
    if (len > 129) len = 129;
    size_t o = (size_t)snprintf(out, len, "hc-");
    for (const char *p = job_id; *p && o + 1 < len; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        out[o++] = ok ? c : '_';
    }
    out[o] = 0;
}

/* ---- the in-memory queue record --------------------------------------------- */

static tracked *track_find(recon *R, const char *ext_id) {
    for (int i = 0; i < R->n_track; i++)
        if (strcmp(R->track[i].ext_id, ext_id) == 0) return &R->track[i];
    return NULL;
}

static void track_add(recon *R, const char *ext_id, bool gpu) {
    pthread_mutex_lock(&R->mu);
    if (R->n_track == TRACK_MAX) { /* drop the oldest */
        memmove(R->track, R->track + 1, (TRACK_MAX - 1) * sizeof *R->track);
        R->n_track--;
    }
    tracked *t = &R->track[R->n_track++];
    snprintf(t->ext_id, sizeof t->ext_id, "%s", ext_id);
    t->gpu = gpu;
    t->submitted_us = hc_wall_us();
    pthread_mutex_unlock(&R->mu);
}

static void track_drop(recon *R, const char *ext_id) {
    pthread_mutex_lock(&R->mu);
    tracked *t = track_find(R, ext_id);
    if (t) {
        *t = R->track[R->n_track - 1];
        R->n_track--;
    }
    pthread_mutex_unlock(&R->mu);
}

/* Which queue a job goes to first. */
static bool wants_gpu(const hc_sched_capacity *c, hc_hardware hw) {
    if (hw == HC_HW_CPU) return !c->has_cpu;
    return c->has_gpu; /* gpu and auto: the GPU queue when there is one */
}

/* ---- submitting -------------------------------------------------------------- */

/* Submit job, then claim it with the external id. 0 when it is out. */
static int submit_job(recon *R, hc_job *job, bool gpu) {
    const hc_sched_backend *sb = R->sched->backend;
    char ext[128] = "";
    hc_err err = {0};
    int rc = sb->submit(R->sched, job, gpu, ext, sizeof ext, &err);
    if (rc != 0) {
        log_job(HC_LOG_ERROR, job->job_id, "cannot submit to %s (%s queue): %s", sb->name,
                gpu ? "GPU" : "CPU", err.msg);
        return rc;
    }
    char job_id[HC_MAX_JOB_ID_LEN + 1];
    snprintf(job_id, sizeof job_id, "%s", job->job_id);
    rc = hc_store_claim(R->store, job, ext, &err);
    if (rc != 0) {
        /* Canceled (or taken) meanwhile: nothing may run for it. */
        if (rc != HC_ECONFLICT)
            log_job(HC_LOG_ERROR, job_id, "cannot claim the job: %s", err.msg);
        hc_err cerr = {0};
        if (sb->cancel(R->sched, ext, "job no longer queued", &cerr) != 0)
            log_job(HC_LOG_WARN, job_id, "cannot cancel %s job %s: %s", sb->name, ext, cerr.msg);
        return rc;
    }
    track_add(R, ext, gpu);
    log_job(HC_LOG_INFO, job_id, "submitted to %s as %s on the %s queue (attempt %d)", sb->name,
            ext, gpu ? "GPU" : "CPU", job->attempts);
    return 0;
}

static void fill(recon *R) {
    pthread_mutex_lock(&R->mu);
    bool backing_off = hc_wall_us() < R->submit_after_us;
    pthread_mutex_unlock(&R->mu);
    if (backing_off) return;
    hc_sched_capacity cap = {0};
    R->sched->backend->capacity(R->sched, &cap);
    if (!cap.has_cpu && !cap.has_gpu) return;
    int64_t counts[HC_JOB_STATUS_COUNT] = {0};
    hc_err err = {0};
    if (hc_store_count(R->store, counts, &err) != 0) {
        HC_ERROR(COMP, "cannot count jobs: %s", err.msg);
        return;
    }
    int64_t free_n = cap.max_in_flight - counts[HC_JOB_PROCESSING];
    if (free_n <= 0 || counts[HC_JOB_QUEUED] == 0) return;
    hc_store_query q = {.status_mask = HC_JOB_MASK(HC_JOB_QUEUED),
                        .order = HC_STORE_ORDER_QUEUE,
                        .limit = free_n < LIST_LIMIT ? (int)free_n : LIST_LIMIT};
    hc_job_list list = {0};
    if (hc_store_list(R->store, &q, &list, &err) != 0) {
        HC_ERROR(COMP, "cannot list queued jobs: %s", err.msg);
        return;
    }
    for (int i = 0; i < list.n; i++) {
        int rc = submit_job(R, &list.v[i], wants_gpu(&cap, list.v[i].hardware));
        if (rc != 0 && rc != HC_ECONFLICT) {
            /* The scheduler refuses or does not answer: try again later,
             * not once per tick. */
            pthread_mutex_lock(&R->mu);
            R->submit_after_us = hc_wall_us() + SUBMIT_BACKOFF_US;
            pthread_mutex_unlock(&R->mu);
            break;
        }
    }
    hc_job_list_fini(&list);
}

/* ---- reconciling -------------------------------------------------------------- */

/* The shared rules (executor.c): requeue counting the attempt or fail
 * after max_attempts; fail a claim still ours. */
static void requeue(recon *R, const char *job_id, const char *reason) {
    hc_executor_requeue(R->x, job_id, reason);
}

/* Move a GPU-queued auto job that has not started to the CPU queue. */
static void move_to_cpu(recon *R, const hc_job *stale) {
    const hc_sched_backend *sb = R->sched->backend;
    hc_job tmp = {0};
    hc_job_copy(&tmp, stale);
    char ext[128] = "", old[128];
    snprintf(old, sizeof old, "%s", stale->batch_job_id);
    hc_err err = {0};
    if (sb->submit(R->sched, &tmp, false, ext, sizeof ext, &err) != 0) {
        log_job(HC_LOG_ERROR, stale->job_id, "cannot submit to the CPU queue: %s", err.msg);
        hc_job_fini(&tmp);
        return;
    }
    hc_job_fini(&tmp);
    /* Re-read: write only over the same processing claim. */
    hc_job job = {0};
    bool ours = hc_store_get(R->store, stale->job_id, &job, &err) == 0 &&
                job.status == HC_JOB_PROCESSING && strcmp(job.batch_job_id, old) == 0;
    int rc = HC_ECONFLICT;
    if (ours) {
        /* Only the external id and its submission time, under the same
         * claim (attempt token): the attempt is not counted. */
        snprintf(job.batch_job_id, sizeof job.batch_job_id, "%s", ext);
        job.started_us = hc_wall_us();
        rc = hc_store_update(R->store, job.job_id,
                             HC_JOB_FIELD(BATCH_JOB_ID) | HC_JOB_FIELD(STARTED) |
                                 HC_JOB_FIELD(UPDATED),
                             &job, HC_JOB_MASK(HC_JOB_PROCESSING), job.attempt, &err);
    }
    hc_err cerr = {0};
    if (rc != 0) { /* the job moved on: the new submission is nobody's */
        sb->cancel(R->sched, ext, "job no longer waiting", &cerr);
        hc_job_fini(&job);
        return;
    }
    track_drop(R, old);
    track_add(R, ext, false);
    char why[160];
    snprintf(why, sizeof why, "not started on the GPU queue within HC_GPU_WAIT_S=%d s: moved to "
             "the CPU queue", R->cfg->gpu_wait_s);
    if (sb->cancel(R->sched, old, why, &cerr) != 0)
        log_job(HC_LOG_WARN, job.job_id, "cannot cancel %s job %s: %s", sb->name, old, cerr.msg);
    log_job(HC_LOG_INFO, job.job_id, "%s (%s replaces %s)", why, ext, old);
    hc_job_fini(&job);
}

/* Decide about one stale job given its external state. */
static void settle(recon *R, const hc_job *j, const hc_ext_state *st) {
    const hc_sched_backend *sb = R->sched->backend;
    int64_t now = hc_wall_us();
    char reason[512];
    switch (st->status) {
    case HC_EXT_PENDING: {
        pthread_mutex_lock(&R->mu);
        tracked *t = track_find(R, j->batch_job_id);
        bool on_gpu = t && t->gpu;
        int64_t since = t ? t->submitted_us : 0;
        pthread_mutex_unlock(&R->mu);
        hc_sched_capacity cap = {0};
        sb->capacity(R->sched, &cap);
        if (on_gpu && j->hardware == HC_HW_AUTO && cap.has_cpu &&
            now - since >= (int64_t)R->cfg->gpu_wait_s * 1000000)
            move_to_cpu(R, j);
        return;
    }
    case HC_EXT_RUNNING: {
        int64_t started = st->started_us ? st->started_us : j->started_us;
        if (R->cfg->job_timeout_s > 0 &&
            now - started > (int64_t)R->cfg->job_timeout_s * 1000000) {
            hc_err cerr = {0};
            snprintf(reason, sizeof reason, "render exceeded HC_JOB_TIMEOUT_S=%d s",
                     R->cfg->job_timeout_s);
            if (sb->cancel(R->sched, j->batch_job_id, reason, &cerr) != 0)
                log_job(HC_LOG_WARN, j->job_id, "cannot cancel %s job %s: %s", sb->name,
                        j->batch_job_id, cerr.msg);
            hc_executor_fail_claim(R->x, j->job_id, j->batch_job_id, HC_ETIMEOUT, reason);
            track_drop(R, j->batch_job_id);
        }
        return;
    }
    case HC_EXT_SUCCEEDED:
        snprintf(reason, sizeof reason, "%s job %s ended without recording a final state",
                 sb->name, j->batch_job_id);
        break;
    case HC_EXT_FAILED:
        snprintf(reason, sizeof reason, "%s job %s failed%s%s", sb->name, j->batch_job_id,
                 st->reason[0] ? ": " : "", st->reason);
        break;
    case HC_EXT_VANISHED:
    default:
        snprintf(reason, sizeof reason, "%s job %s vanished (unknown to %s)", sb->name,
                 j->batch_job_id, sb->name);
        break;
    }
    /* The job may have been written since the listing: requeue only the
     * same claim. */
    hc_job job = {0};
    hc_err err = {0};
    if (hc_store_get(R->store, j->job_id, &job, &err) == 0 && job.status == HC_JOB_PROCESSING &&
        strcmp(job.batch_job_id, j->batch_job_id) == 0 && job.updated_us == j->updated_us)
        requeue(R, j->job_id, reason);
    hc_job_fini(&job);
    track_drop(R, j->batch_job_id);
}

/* Is this processing job worth asking the scheduler about? */
static bool is_stale(recon *R, const hc_job *j, int64_t now) {
    if (!j->batch_job_id[0]) return true;
    if (now - j->updated_us >= STALE_US) return true;
    if (R->cfg->job_timeout_s > 0 && now - j->started_us > (int64_t)R->cfg->job_timeout_s * 1000000)
        return true;
    return false;
}

static void probe_batch(recon *R, hc_job *jobs, int n) {
    if (n == 0) return;
    const char *ids[100] = {0};
    hc_ext_state st[100];
    for (int i = 0; i < n; i++)
        ids[i] = jobs[i].batch_job_id;
    memset(st, 0, sizeof st);
    hc_err err = {0};
    if (R->sched->backend->probe(R->sched, ids, n, st, &err) != 0) {
        HC_WARN(COMP, "cannot ask %s about %d job(s): %s", R->sched->backend->name, n, err.msg);
        return;
    }
    for (int i = 0; i < n; i++)
        settle(R, &jobs[i], &st[i]);
}

static void reconcile(recon *R) {
    int64_t now = hc_wall_us();
    char cursor[64] = "";
    hc_job batch[100];
    int nb = 0;
    int gpu = 0, cpu = 0;
    for (int page = 0; page < 100; page++) {
        hc_store_query q = {.status_mask = HC_JOB_MASK(HC_JOB_PROCESSING),
                            .order = HC_STORE_ORDER_NEWEST,
                            .limit = LIST_LIMIT,
                            .cursor = cursor[0] ? cursor : NULL};
        hc_job_list list = {0};
        hc_err err = {0};
        if (hc_store_list(R->store, &q, &list, &err) != 0) {
            HC_ERROR(COMP, "cannot list processing jobs: %s", err.msg);
            break;
        }
        for (int i = 0; i < list.n; i++) {
            hc_job *j = &list.v[i];
            pthread_mutex_lock(&R->mu);
            tracked *t = track_find(R, j->batch_job_id);
            (*(t && t->gpu ? &gpu : &cpu))++;
            bool gpu_wait = t && t->gpu && j->hardware == HC_HW_AUTO &&
                            now - t->submitted_us >= (int64_t)R->cfg->gpu_wait_s * 1000000;
            pthread_mutex_unlock(&R->mu);
            if (!is_stale(R, j, now) && !gpu_wait) continue;
            if (!j->batch_job_id[0]) { /* claimed without an id: nothing can run it */
                requeue(R, j->job_id, "no external job id recorded");
                continue;
            }
            batch[nb] = *j;
            memset(j, 0, sizeof *j); /* moved */
            if (++nb == 100) {
                probe_batch(R, batch, nb);
                for (int k = 0; k < nb; k++)
                    hc_job_fini(&batch[k]);
                nb = 0;
            }
        }
        snprintf(cursor, sizeof cursor, "%s", list.next_cursor);
        hc_job_list_fini(&list);
        if (!cursor[0]) break;
    }
    probe_batch(R, batch, nb);
    for (int k = 0; k < nb; k++)
        hc_job_fini(&batch[k]);
    pthread_mutex_lock(&R->mu);
    R->gpu_running = gpu;
    R->cpu_running = cpu;
    pthread_mutex_unlock(&R->mu);
}

void hc_reconcile_once(hc_executor *x) {
    recon *R = of(x);
    pthread_mutex_lock(&R->pass_mu);
    fill(R);
    reconcile(R);
    pthread_mutex_unlock(&R->pass_mu);
}

static void *loop(void *arg) {
    recon *R = arg;
    for (;;) {
        pthread_mutex_lock(&R->mu);
        bool closing = R->closing;
        pthread_mutex_unlock(&R->mu);
        if (closing) break;
        pthread_mutex_lock(&R->pass_mu);
        fill(R);
        if (hc_wall_us() >= R->next_probe_us) {
            reconcile(R);
            R->next_probe_us = hc_wall_us() + PROBE_US;
        }
        pthread_mutex_unlock(&R->pass_mu);
        pthread_mutex_lock(&R->mu);
        if (!R->wake && !R->closing) {
            struct timespec ts;
            hc_cond_deadline(&ts, (int64_t)TICK_MS * 1000);
            pthread_cond_timedwait(&R->cv, &R->mu, &ts);
        }
        R->wake = false;
        pthread_mutex_unlock(&R->mu);
    }
    return NULL;
}

/* ---- the executor operations ---------------------------------------------------- */

int hc_reconcile_open(hc_executor *x, const hc_sched_backend *sb, const hc_executor_env *env,
                      hc_err *err) {
    recon *R = hc_xcalloc(1, sizeof *R);
    *(recon **)hc_executor_priv(x) = R;
    R->x = x;
    R->cfg = env->cfg;
    R->store = env->store;
    R->sched = hc_xcalloc(1, sizeof *R->sched + sb->priv_size);
    R->sched->backend = sb;
    R->sched->env = env;
    int rc = sb->open(R->sched, env, err);
    if (rc != 0) {
        free(R->sched);
        free(R);
        return rc;
    }
    R->track = hc_xcalloc(TRACK_MAX, sizeof *R->track);
    pthread_mutex_init(&R->pass_mu, NULL);
    pthread_mutex_init(&R->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&R->cv, &ca);
    pthread_condattr_destroy(&ca);
    rc = pthread_create(&R->thread, NULL, loop, R);
    if (rc != 0) {
        hc_err_set(err, HC_EINTERNAL, "executor %s: cannot start its thread: %s", sb->name,
                   strerror(rc));
        pthread_cond_destroy(&R->cv);
        pthread_mutex_destroy(&R->mu);
        pthread_mutex_destroy(&R->pass_mu);
        sb->close(R->sched);
        free(R->sched);
        free(R->track);
        free(R);
        return HC_EINTERNAL;
    }
    R->started = true;
    return 0;
}

void hc_reconcile_close(hc_executor *x, int64_t deadline_us) {
    (void)deadline_us; /* remote jobs run on without us: nothing to wait for */
    recon *R = of(x);
    pthread_mutex_lock(&R->mu);
    R->closing = true;
    pthread_cond_signal(&R->cv);
    pthread_mutex_unlock(&R->mu);
    pthread_join(R->thread, NULL);
    pthread_cond_destroy(&R->cv);
    pthread_mutex_destroy(&R->mu);
    pthread_mutex_destroy(&R->pass_mu);
    R->sched->backend->close(R->sched);
    free(R->sched);
    free(R->track);
    free(R);
}

void hc_reconcile_wake(hc_executor *x) {
    recon *R = of(x);
    pthread_mutex_lock(&R->mu);
    R->wake = true;
    pthread_cond_signal(&R->cv);
    pthread_mutex_unlock(&R->mu);
}

int hc_reconcile_stop(hc_executor *x, const char *job_id) {
    recon *R = of(x);
    hc_job job = {0};
    hc_err err = {0};
    if (hc_store_get(R->store, job_id, &job, &err) != 0 || !job.batch_job_id[0]) {
        hc_job_fini(&job);
        return HC_ENOTFOUND;
    }
    /* The job is canceled in the store already (a running worker notices
     * it at its next write); the external job is stopped so it costs
     * nothing more. Its exit is never seen here: its end is reported now. */
    int rc = R->sched->backend->cancel(R->sched, job.batch_job_id, "canceled by the user", &err);
    if (rc != 0)
        log_job(HC_LOG_WARN, job_id, "cannot cancel %s job %s: %s", R->sched->backend->name,
                job.batch_job_id, err.msg);
    else
        log_job(HC_LOG_INFO, job_id, "%s job %s canceled", R->sched->backend->name,
                job.batch_job_id);
    track_drop(R, job.batch_job_id);
    hc_job_fini(&job);
    hc_executor_report_final(x, job_id);
    return 0;
}

void hc_reconcile_stats(hc_executor *x, hc_executor_stats *out) {
    recon *R = of(x);
    hc_sched_capacity cap = {0};
    R->sched->backend->capacity(R->sched, &cap);
    pthread_mutex_lock(&R->mu);
    out->gpu_slots = cap.has_gpu ? cap.max_in_flight : 0;
    out->cpu_slots = cap.has_cpu ? cap.max_in_flight : 0;
    out->gpu_running = R->gpu_running;
    out->cpu_running = R->cpu_running;
    pthread_mutex_unlock(&R->mu);
}
