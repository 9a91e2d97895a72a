/* Executors: the table of backends by name, the public wrappers (argument
 * checks, then the backend), and the slot choice every executor shares.
 *
 * Invariant: an hc_executor is one allocation, the public part followed by
 * backend->priv_size zeroed bytes; the wrappers never call a backend with
 * a NULL instance, and hc_executor_close frees what hc_executor_open made. */
#include "dispatch/hc_dispatch.h"

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

void hc_executor_stats_get(hc_executor *x, hc_executor_stats *out) {
    memset(out, 0, sizeof *out);
    if (x) x->backend->stats(x, out);
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
