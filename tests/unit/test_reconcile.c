/* The reconcile loop (src/dispatch/reconcile.c) over an in-memory fake
 * scheduler and the in-memory store: queue choice by hardware, claim with
 * the external id, vanished and failed external jobs retried then failed
 * with the scheduler's reason, the GPU->CPU move after HC_GPU_WAIT_S
 * (uncounted), a scheduler that refuses submissions, and cancel. The same
 * loop runs the aws-batch executor (tests/integration/test_batch.c). */
#include "core/hc_core.h"
#include "dispatch/hc_dispatch.h"
#include "hc_test.h"
#include "jobs/hc_jobs.h"
#include "store/hc_store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the fake scheduler ------------------------------------------------------ */

typedef struct fake_job {
    char id[32], job_id[HC_MAX_JOB_ID_LEN + 1];
    bool gpu, canceled;
    hc_ext_status status;
    int64_t started_us;
    char reason[64];
} fake_job;

static struct fake {
    pthread_mutex_t mu;
    fake_job v[64];
    int n, next;
    bool has_gpu, has_cpu;
    bool lose;           /* probes answer VANISHED */
    bool fail_all;       /* probes answer FAILED */
    bool gpu_stalls;     /* GPU jobs stay pending; CPU jobs run */
    int submit_rc;       /* non-zero: submissions fail so */
    int submits, probes;
} F = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void fake_reset(bool gpu, bool cpu) {
    pthread_mutex_lock(&F.mu);
    memset(F.v, 0, sizeof F.v);
    F.n = F.submits = F.probes = F.submit_rc = 0;
    F.has_gpu = gpu;
    F.has_cpu = cpu;
    F.lose = F.fail_all = F.gpu_stalls = false;
    pthread_mutex_unlock(&F.mu);
}

static int f_open(hc_sched *s, const hc_executor_env *env, hc_err *err) {
    (void)s, (void)env, (void)err;
    return 0;
}
static void f_close(hc_sched *s) {
    (void)s;
}
static int f_submit(hc_sched *s, const hc_job *job, bool gpu, char *id, size_t len, hc_err *err) {
    (void)s;
    pthread_mutex_lock(&F.mu);
    F.submits++;
    int rc = F.submit_rc;
    if (rc == 0 && F.n < 64) {
        fake_job *f = &F.v[F.n++];
        snprintf(f->id, sizeof f->id, "fake-%d", ++F.next);
        snprintf(f->job_id, sizeof f->job_id, "%s", job->job_id);
        f->gpu = gpu;
        f->status = gpu && F.gpu_stalls ? HC_EXT_PENDING : HC_EXT_RUNNING;
        f->started_us = hc_wall_us();
        snprintf(id, len, "%s", f->id);
    }
    pthread_mutex_unlock(&F.mu);
    return rc ? hc_err_set(err, rc, "fake: submission refused") : 0;
}
static int f_probe(hc_sched *s, const char *const *ids, int n, hc_ext_state *out, hc_err *err) {
    (void)s, (void)err;
    pthread_mutex_lock(&F.mu);
    F.probes++;
    for (int i = 0; i < n; i++) {
        out[i] = (hc_ext_state){.status = HC_EXT_VANISHED};
        for (int k = 0; k < F.n; k++)
            if (!strcmp(F.v[k].id, ids[i]) && !F.lose) {
                out[i].status = F.fail_all ? HC_EXT_FAILED : F.v[k].status;
                if (F.fail_all) snprintf(out[i].reason, sizeof out[i].reason, "exit 1");
                if (out[i].status == HC_EXT_RUNNING) out[i].started_us = F.v[k].started_us;
            }
    }
    pthread_mutex_unlock(&F.mu);
    return 0;
}
static int f_cancel(hc_sched *s, const char *id, const char *reason, hc_err *err) {
    (void)s, (void)reason, (void)err;
    pthread_mutex_lock(&F.mu);
    for (int k = 0; k < F.n; k++)
        if (!strcmp(F.v[k].id, id)) {
            F.v[k].canceled = true;
            F.v[k].status = HC_EXT_FAILED;
        }
    pthread_mutex_unlock(&F.mu);
    return 0;
}
static void f_capacity(hc_sched *s, hc_sched_capacity *out) {
    (void)s;
    pthread_mutex_lock(&F.mu);
    *out = (hc_sched_capacity){.max_in_flight = 10, .has_gpu = F.has_gpu, .has_cpu = F.has_cpu};
    pthread_mutex_unlock(&F.mu);
}

static const hc_sched_backend fake_sched = {
    .name = "fake",
    .open = f_open,
    .close = f_close,
    .submit = f_submit,
    .probe = f_probe,
    .cancel = f_cancel,
    .capacity = f_capacity,
};

static int x_open(hc_executor *x, const hc_executor_env *env, hc_err *err) {
    return hc_reconcile_open(x, &fake_sched, env, err);
}
static const hc_executor_backend fake_exec = {
    .name = "fake",
    .priv_size = HC_RECONCILE_PRIV_SIZE,
    .open = x_open,
    .close = hc_reconcile_close,
    .wake = hc_reconcile_wake,
    .stop = hc_reconcile_stop,
    .stats = hc_reconcile_stats,
};

/* ---- the test's world ---------------------------------------------------------- */

typedef struct world {
    hc_config cfg;
    hc_store *store;
    hc_executor *x;
    hc_executor_env env;
    pthread_mutex_t mu;
    int finals;
} world;

static void on_final(void *ud, const char *job_id) {
    (void)job_id;
    world *w = ud;
    pthread_mutex_lock(&w->mu);
    w->finals++;
    pthread_mutex_unlock(&w->mu);
}

static bool w_open_t(world *w, int max_attempts, int gpu_wait_s, int timeout_s) {
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    w->cfg.max_attempts = max_attempts;
    w->cfg.job_timeout_s = timeout_s;
    w->cfg.gpu_wait_s = gpu_wait_s;
    hc_err err = {0};
    if (hc_store_open("mem:", &w->store, &err) != 0) return false;
    w->env = (hc_executor_env){.cfg = &w->cfg, .store = w->store, .on_final = on_final, .ud = w};
    /* As hc_executor_open does, with a backend that is not in its table. */
    w->x = hc_xcalloc(1, sizeof *w->x + fake_exec.priv_size);
    w->x->backend = &fake_exec;
    w->x->env = w->env;
    if (fake_exec.open(w->x, &w->x->env, &err) != 0) {
        free(w->x);
        w->x = NULL;
        return false;
    }
    return true;
}

static bool w_open(world *w, int max_attempts, int gpu_wait_s) {
    return w_open_t(w, max_attempts, gpu_wait_s, 900);
}

static void w_close(world *w) {
    hc_executor_close(w->x, 0);
    hc_store_close(w->store);
    pthread_mutex_destroy(&w->mu);
}

static int queue(world *w, const char *id, const char *hardware) {
    char json[512];
    snprintf(json, sizeof json,
             "{\"job_id\":\"%s\",\"images\":[\"http://127.0.0.1:9/a.jpg\"],\"settings\":"
             "{\"hardware\":\"%s\"}}",
             id, hardware);
    hc_request_opts ro = {0};
    hc_request *req = NULL;
    hc_err err = {0};
    int rc = hc_request_parse(json, strlen(json), &ro, &req, &err);
    hc_job job = {0};
    if (rc == 0) {
        hc_job_from_request(&job, req);
        rc = hc_store_create(w->store, &job, NULL, &err);
    }
    hc_job_fini(&job);
    hc_request_free(req);
    if (rc == 0) hc_executor_wake(w->x);
    return rc;
}

/* Wait until job id's status is in mask; *out gets it (caller finis). */
static bool wait_job(world *w, const char *id, unsigned mask, double timeout_s, hc_job *out) {
    double end = hc_test_now_s() + timeout_s;
    while (hc_test_now_s() < end) {
        hc_err err = {0};
        hc_job_fini(out);
        if (hc_store_get(w->store, id, out, &err) == 0 && (HC_JOB_MASK(out->status) & mask))
            return true;
        hc_test_sleep_ms(20);
    }
    return false;
}

static fake_job *fake_find(const char *ext_id) {
    for (int k = 0; k < F.n; k++)
        if (!strcmp(F.v[k].id, ext_id)) return &F.v[k];
    return NULL;
}

/* ---- the tests -------------------------------------------------------------------- */

HC_TEST(executor_reconcile_queue_by_hardware_and_claim) {
    fake_reset(true, true);
    world w;
    CHECK(w_open(&w, 3, 120));
    CHECK(queue(&w, "r-cpu", "cpu") == 0);
    CHECK(queue(&w, "r-gpu", "gpu") == 0);
    CHECK(queue(&w, "r-auto", "auto") == 0);
    const char *ids[] = {"r-cpu", "r-gpu", "r-auto"};
    bool want_gpu[] = {false, true, true};
    for (int i = 0; i < 3; i++) {
        hc_job j = {0};
        CHECK(wait_job(&w, ids[i], HC_JOB_MASK(HC_JOB_PROCESSING), 5, &j));
        CHECK(j.attempts == 1);
        pthread_mutex_lock(&F.mu);
        fake_job *f = fake_find(j.batch_job_id);
        bool gpu = f && f->gpu;
        pthread_mutex_unlock(&F.mu);
        CHECKF(f && gpu == want_gpu[i], "%s: %s", ids[i], j.batch_job_id);
        hc_job_fini(&j);
    }
    CHECK(F.submits == 3);
    w_close(&w);

    /* Only a CPU queue: everything goes there. */
    fake_reset(false, true);
    CHECK(w_open(&w, 3, 120));
    CHECK(queue(&w, "o-gpu", "gpu") == 0);
    hc_job j = {0};
    CHECK(wait_job(&w, "o-gpu", HC_JOB_MASK(HC_JOB_PROCESSING), 5, &j));
    pthread_mutex_lock(&F.mu);
    fake_job *f = fake_find(j.batch_job_id);
    bool gpu = f && f->gpu;
    pthread_mutex_unlock(&F.mu);
    CHECK(f && !gpu);
    hc_job_fini(&j);
    w_close(&w);
}

HC_TEST_T(executor_reconcile_vanished_retried_then_failed, 60) {
    fake_reset(false, true);
    pthread_mutex_lock(&F.mu);
    F.lose = true;
    pthread_mutex_unlock(&F.mu);
    world w;
    CHECK(w_open(&w, 2, 120));
    CHECK(queue(&w, "v-1", "cpu") == 0);
    hc_job j = {0};
    CHECK(wait_job(&w, "v-1", HC_JOB_MASK(HC_JOB_FAILED), 40, &j));
    CHECKF(strstr(j.error_message, "vanished") && strstr(j.error_message, "after 2 attempts"),
           "%s", j.error_message);
    CHECK(j.attempts == 2 && F.submits == 2);
    hc_job_fini(&j);
    pthread_mutex_lock(&w.mu);
    int finals = w.finals;
    pthread_mutex_unlock(&w.mu);
    CHECK(finals == 1);
    w_close(&w);
}

HC_TEST_T(executor_reconcile_failed_job_fails_with_the_reason, 60) {
    fake_reset(false, true);
    pthread_mutex_lock(&F.mu);
    F.fail_all = true;
    pthread_mutex_unlock(&F.mu);
    world w;
    CHECK(w_open(&w, 1, 120));
    CHECK(queue(&w, "f-1", "cpu") == 0);
    hc_job j = {0};
    CHECK(wait_job(&w, "f-1", HC_JOB_MASK(HC_JOB_FAILED), 30, &j));
    CHECKF(strstr(j.error_message, "fake job fake-") && strstr(j.error_message, "failed: exit 1"),
           "%s", j.error_message);
    hc_job_fini(&j);
    w_close(&w);
}

HC_TEST_T(executor_reconcile_moves_auto_from_gpu_to_cpu_uncounted, 60) {
    fake_reset(true, true);
    pthread_mutex_lock(&F.mu);
    F.gpu_stalls = true;
    pthread_mutex_unlock(&F.mu);
    world w;
    CHECK(w_open(&w, 3, 1));
    CHECK(queue(&w, "m-auto", "auto") == 0);
    CHECK(queue(&w, "m-gpu", "gpu") == 0);
    hc_job j = {0};
    CHECK(wait_job(&w, "m-auto", HC_JOB_MASK(HC_JOB_PROCESSING), 5, &j));
    char first[128];
    snprintf(first, sizeof first, "%s", j.batch_job_id);
    double end = hc_test_now_s() + 20;
    while (hc_test_now_s() < end && !strcmp(j.batch_job_id, first)) {
        hc_test_sleep_ms(50);
        wait_job(&w, "m-auto", HC_JOB_MASK(HC_JOB_PROCESSING), 1, &j);
    }
    CHECKF(strcmp(j.batch_job_id, first) != 0, "not moved from %s", first);
    CHECK(j.attempts == 1 && j.status == HC_JOB_PROCESSING);
    pthread_mutex_lock(&F.mu);
    fake_job *old = fake_find(first), *now = fake_find(j.batch_job_id);
    bool ok = old && now && old->gpu && old->canceled && !now->gpu;
    pthread_mutex_unlock(&F.mu);
    CHECK(ok);
    hc_job_fini(&j);
    /* hardware gpu is never moved. */
    CHECK(wait_job(&w, "m-gpu", HC_JOB_MASK(HC_JOB_PROCESSING), 1, &j));
    pthread_mutex_lock(&F.mu);
    fake_job *g = fake_find(j.batch_job_id);
    ok = g && g->gpu && !g->canceled;
    pthread_mutex_unlock(&F.mu);
    CHECK(ok);
    hc_job_fini(&j);
    w_close(&w);
}

HC_TEST(executor_reconcile_refused_submission_stays_queued_and_cancel_stops) {
    fake_reset(false, true);
    pthread_mutex_lock(&F.mu);
    F.submit_rc = HC_ENET;
    pthread_mutex_unlock(&F.mu);
    world w;
    CHECK(w_open(&w, 3, 120));
    CHECK(queue(&w, "q-1", "cpu") == 0);
    hc_test_sleep_ms(1200);
    hc_job j = {0};
    CHECK(wait_job(&w, "q-1", HC_JOB_MASK(HC_JOB_QUEUED), 1, &j));
    CHECK(j.attempts == 0 && !j.batch_job_id[0]);
    /* Backed off: not one submission per tick. */
    CHECKF(F.submits == 1, "%d submissions", F.submits);
    hc_job_fini(&j);
    w_close(&w);

    /* Cancel of a submitted job reaches the scheduler. */
    fake_reset(false, true);
    CHECK(w_open(&w, 3, 120));
    CHECK(queue(&w, "c-1", "cpu") == 0);
    CHECK(wait_job(&w, "c-1", HC_JOB_MASK(HC_JOB_PROCESSING), 5, &j));
    hc_err err = {0};
    hc_job out = {0};
    CHECK(hc_store_cancel(w.store, "c-1", &out, &err) == 0);
    hc_job_fini(&out);
    CHECK(hc_executor_stop(w.x, "c-1") == 0);
    pthread_mutex_lock(&F.mu);
    fake_job *f = fake_find(j.batch_job_id);
    bool canceled = f && f->canceled;
    pthread_mutex_unlock(&F.mu);
    CHECK(canceled);
    hc_job_fini(&j);
    w_close(&w);
}

HC_TEST_T(executor_reconcile_job_timeout_cancels_and_fails, 60) {
    fake_reset(false, true);
    world w;
    CHECK(w_open_t(&w, 3, 120, 1));
    CHECK(queue(&w, "t-1", "cpu") == 0);
    hc_job j = {0};
    CHECK(wait_job(&w, "t-1", HC_JOB_MASK(HC_JOB_FAILED), 20, &j));
    CHECKF(strstr(j.error_message, "HC_JOB_TIMEOUT_S=1"), "%s", j.error_message);
    CHECK(!strcmp(j.error_code, "TIMEOUT") && j.attempts == 1);
    pthread_mutex_lock(&F.mu);
    fake_job *f = fake_find(j.batch_job_id);
    bool canceled = f && f->canceled;
    pthread_mutex_unlock(&F.mu);
    CHECK(canceled);
    hc_job_fini(&j);
    w_close(&w);
}
