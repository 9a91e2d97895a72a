/* Dispatch: running queued jobs somewhere, and telling the caller when
 * they end (DESIGN.md §9, §10 HC_EXECUTOR).
 *
 * Executors share one interface (a const descriptor, one wrapper per
 * operation, a table by name). The local executor runs each job in its own
 * worker process (`hydra-compose worker JOB_ID`), so a crash in a render
 * cannot take the server down; it keeps no idle process: a worker is
 * spawned per job and exits when the job ends. The job store is the only
 * channel between them: the worker writes progress and the final state,
 * and notices a cancel when its compare-and-set progress write fails.
 *
 * The notifier delivers completion callbacks from the store (cb_state
 * pending), so a callback survives restarts and never precedes the stored
 * final state. */
#ifndef HC_DISPATCH_H
#define HC_DISPATCH_H

#include "core/hc_core.h"
#include "jobs/hc_jobs.h"
#include "store/hc_store.h"

typedef struct hc_executor hc_executor;

/* What an executor is given (borrowed for its lifetime). */
typedef struct hc_executor_env {
    const hc_config *cfg;
    hc_store *store;
    const char *self_exe; /* the hydra-compose binary that runs workers */
    /* Called (from the executor's thread) after a job reached a final
     * state, so the notifier can deliver its callback at once. May be NULL. */
    void (*on_final)(void *ud, const char *job_id);
    void *ud;
} hc_executor_env;

typedef struct hc_executor_stats {
    int cpu_slots, gpu_slots;     /* capacity */
    int cpu_running, gpu_running; /* busy now */
} hc_executor_stats;

typedef struct hc_executor_backend {
    const char *name; /* "local" (later "aws-batch", "slurm") */
    size_t priv_size;
    /* Start: recover jobs left processing by a dead server or worker
     * (requeue or fail per max_attempts), then run queued jobs. */
    int (*open)(hc_executor *x, const hc_executor_env *env, hc_err *err);
    /* Graceful stop: start nothing new; wait for running jobs until
     * deadline_us (monotonic, hc_now_us), then stop the rest and put them
     * back in the queue without counting the attempt. */
    void (*close)(hc_executor *x, int64_t deadline_us);
    /* A job was queued (or retried): look at the queue now. */
    void (*wake)(hc_executor *x);
    /* The job was canceled in the store: stop its worker if it runs here
     * (within 1 s). HC_ENOTFOUND if it does not run here. */
    int (*stop)(hc_executor *x, const char *job_id);
    void (*stats)(hc_executor *x, hc_executor_stats *out);
} hc_executor_backend;

struct hc_executor {
    const hc_executor_backend *backend;
    hc_executor_env env;
    /* private state follows */
};
static inline void *hc_executor_priv(hc_executor *x) {
    return (void *)(x + 1);
}

extern const hc_executor_backend hc_executor_local;
const hc_executor_backend *hc_executor_find(const char *name);

int hc_executor_open(const char *name, const hc_executor_env *env, hc_executor **out, hc_err *err);
void hc_executor_close(hc_executor *x, int64_t deadline_us); /* NULL is a no-op */
void hc_executor_wake(hc_executor *x);
int hc_executor_stop(hc_executor *x, const char *job_id);
void hc_executor_stats_get(hc_executor *x, hc_executor_stats *out);

/* Which slot kind a job should use: GPU slots only exist where NVENC
 * works. hardware=gpu waits for a GPU slot when there are any (else CPU);
 * auto takes a free GPU slot, else a CPU slot; cpu never uses GPU slots.
 * Returns 1 for GPU, 0 for CPU, -1 when nothing suitable is free now. */
int hc_dispatch_pick_slot(hc_hardware hw, int gpu_slots, int gpu_free, int cpu_free);

/* ---- the worker side (`hydra-compose worker JOB_ID`) --------------------
 * Run one claimed job from the store to its final state: render into the
 * storage (cfg->storage), write progress and current_step at least every
 * second, stop within 1 s when the job is canceled in the store (or on
 * SIGTERM), write the final state with hc_store_finish. Returns the exit
 * code (0 completed, 2 invalid request or media, 1 other failure). */
int hc_worker_run_job(const hc_config *cfg, hc_store *store, const char *job_id);

/* ---- completion callbacks (DESIGN.md §9) --------------------------------
 * POST the callback body with X-Hydra-Event, X-Hydra-Delivery and
 * X-Hydra-Signature: t=UNIX,v1=HMAC-SHA256("UNIX.BODY", secret), 10 s
 * timeout; non-2xx or timeout is retried after backoff_ms * 2^(attempt-1),
 * up to cfg->callback_attempts. State lives in the store (cb_*). */
typedef struct hc_notifier hc_notifier;
/* Start the delivery threads (a few, so a slow receiver holds up only its
 * own callback). cfg and store are borrowed for their lifetime. */
int hc_notifier_start(const hc_config *cfg, hc_store *store, hc_notifier **out, hc_err *err);
/* Look at the store now (a job just became final). */
void hc_notifier_wake(hc_notifier *n);
/* Stop the thread (an attempt in flight finishes first); NULL is a no-op. */
void hc_notifier_stop(hc_notifier *n);
/* One delivery pass in the caller's thread: every callback due now is
 * attempted once (the Lambda's scheduled event, where no thread outlives
 * an invocation). A failed attempt is rescheduled in the store as the
 * threads do. deadline_us (wall clock, 0 = none): no attempt starts that
 * could end after it (an attempt takes up to 10 s). */
int hc_notifier_run_once(const hc_config *cfg, hc_store *store, int64_t deadline_us, hc_err *err);
/* The signature header value "t=UNIX,v1=HEX" for body at time t. */
void hc_callback_signature(const char *secret, int64_t t, const char *body, size_t len, char *out,
                           size_t out_len);

#endif
