/* Executors: the table of backends by name, the public wrappers (argument
 * checks, then the backend), and the slot choice every executor shares.
 *
 * Invariant: an hc_executor is one allocation, the public part followed by
 * backend->priv_size zeroed bytes; the wrappers never call a backend with
 * a NULL instance, and hc_executor_close frees what hc_executor_open made. */
#include "dispatch/hc_dispatch.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const hc_executor_backend *const backends[] = {&hc_executor_local, &hc_executor_aws_batch,
                                                     NULL};

const hc_executor_backend *hc_executor_find(const char *name) {
    if (!name) return NULL;
    for (int i = 0; backends[i]; i++)
        if (strcmp(backends[i]->name, name) == 0) return backends[i];
    return NULL;
}

int hc_executor_open(const char *name, const hc_executor_env *env, hc_executor **out, hc_err *err) {
    *out = NULL;
    if (!env || !env->cfg || !env->store)
        return hc_err_set(err, HC_EINVAL, "executor: missing configuration or store");
    const hc_executor_backend *b = hc_executor_find(name);
    if (!b) {
        char names[128] = "";
        for (int i = 0; backends[i]; i++) {
            size_t n = strlen(names);
            snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "", backends[i]->name);
        }
        return hc_err_set(err, HC_EINVAL, "HC_EXECUTOR: unknown executor \"%s\" (available: %s)",
                          name ? name : "", names);
    }
    hc_executor *x = hc_xcalloc(1, sizeof *x + b->priv_size);
    x->backend = b;
    x->env = *env;
    int rc = b->open(x, &x->env, err);
    if (rc != 0) {
        free(x);
        return rc;
    }
    *out = x;
    return 0;
}

void hc_executor_close(hc_executor *x, int64_t deadline_us) {
    if (!x) return;
    x->backend->close(x, deadline_us);
    free(x);
}

void hc_executor_wake(hc_executor *x) {
    if (x) x->backend->wake(x);
}

int hc_executor_stop(hc_executor *x, const char *job_id) {
    if (!x || !job_id || !*job_id) return HC_ENOTFOUND;
    return x->backend->stop(x, job_id);
}

void hc_executor_reconcile(hc_executor *x) {
    if (x && x->backend->reconcile) x->backend->reconcile(x);
}

void hc_executor_stats_get(hc_executor *x, hc_executor_stats *out) {
    memset(out, 0, sizeof *out);
    if (x) x->backend->stats(x, out);
}

#define log_job(level, job_id, ...) hc_log_write_job((level), "executor", (job_id), __VA_ARGS__)

void hc_executor_report_final(hc_executor *x, const char *job_id) {
    if (x && x->env.on_final) x->env.on_final(x->env.ud, job_id);
}

int hc_executor_requeue(hc_executor *x, const char *job_id, const char *reason) {
    hc_err err = {0};
    int max = x->env.cfg->max_attempts;
    int rc = hc_store_requeue(x->env.store, job_id, max, reason, &err);
    if (rc == HC_ECONFLICT) return rc; /* finished or canceled meanwhile */
    if (rc != 0) {
        log_job(HC_LOG_ERROR, job_id, "cannot requeue the job (%s): %s", reason, err.msg);
        return rc;
    }
    hc_job job = {0};
    if ((rc = hc_store_get(x->env.store, job_id, &job, &err)) != 0) {
        log_job(HC_LOG_ERROR, job_id, "cannot read the job: %s", err.msg);
        return rc;
    }
    if (hc_job_status_final(job.status)) {
        log_job(HC_LOG_WARN, job_id, "%s; failed after %d attempt(s)", reason, job.attempts);
        hc_executor_report_final(x, job_id);
    } else {
        log_job(HC_LOG_WARN, job_id, "%s; queued again (attempt %d of %d done)", reason,
                job.attempts, max);
        hc_executor_wake(x);
    }
    hc_job_fini(&job);
    return 0;
}

int hc_executor_fail_claim(hc_executor *x, const char *job_id, const char *ext_id, int code,
                           const char *msg) {
    hc_job job = {0};
    hc_err err = {0};
    int rc = hc_store_get(x->env.store, job_id, &job, &err);
    if (rc == 0 && (job.status != HC_JOB_PROCESSING || strcmp(job.batch_job_id, ext_id) != 0))
        rc = HC_ECONFLICT;
    if (rc == 0) {
        hc_job_set_error(&job, code, msg);
        rc = hc_store_finish(x->env.store, &job, &err);
    }
    if (rc == 0) {
        log_job(HC_LOG_WARN, job_id, "%s: worker stopped", msg);
        hc_executor_report_final(x, job_id);
    } else if (rc != HC_ECONFLICT) {
        log_job(HC_LOG_ERROR, job_id, "cannot fail the job: %s", err.msg);
    }
    hc_job_fini(&job);
    return rc;
}

int hc_dispatch_pick_slot(hc_hardware hw, int gpu_slots, int gpu_free, int cpu_free) {
    switch (hw) {
    case HC_HW_GPU:
        /* Wait for a GPU where there is one; a machine without any renders
         * on the CPU (the encoder choice records why). */
        if (gpu_slots > 0) return gpu_free > 0 ? 1 : -1;
        return cpu_free > 0 ? 0 : -1;
    case HC_HW_CPU:
        return cpu_free > 0 ? 0 : -1;
    case HC_HW_AUTO:
    default:
        if (gpu_slots > 0 && gpu_free > 0) return 1;
        return cpu_free > 0 ? 0 : -1;
    }
}
