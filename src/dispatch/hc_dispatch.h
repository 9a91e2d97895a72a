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
 * final state.
 *
 * The worker itself (the job run: render, upload, final state) is not part
 * of dispatch: it is the `worker` command's engine (src/app/). */
#ifndef HC_DISPATCH_H
#define HC_DISPATCH_H

#include "core/hc_core.h"
#include "jobs/hc_jobs.h"
#include "storage/hc_storage.h"
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
    const char *name; /* "local", "aws-batch" (later "slurm") */
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
    /* One reconcile pass now, in the caller's thread (the Lambda's
     * scheduled event, where threads are frozen between invocations).
     * NULL: the executor needs none (local supervises continuously). */
    void (*reconcile)(hc_executor *x);
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
void hc_executor_reconcile(hc_executor *x); /* NULL or no reconcile op: a no-op */

/* ---- what every executor decides the same way ------------------------------
 * These are the only places where an executor changes a job's state after
 * claiming it, so the local pool and the reconcile loop settle alike. */
/* A processing job whose worker is gone: back to the queue (the attempt
 * counted) or failed with reason once HC_MAX_ATTEMPTS is reached; logged,
 * and a final job reported through env.on_final, a requeued one wakes the
 * executor. 0 when done, HC_ECONFLICT when the job left processing
 * meanwhile (nothing written), other codes on store errors (logged). */
int hc_executor_requeue(hc_executor *x, const char *job_id, const char *reason);
/* Fail job_id with code and msg if it is still processing under the claim
 * ext_id (re-read first; a worker that finished just before wins);
 * reported through env.on_final. 0, HC_ECONFLICT (not ours any more) or a
 * store error. */
int hc_executor_fail_claim(hc_executor *x, const char *job_id, const char *ext_id, int code,
                           const char *msg);
/* Tell the owner (the notifier) that job_id is final. */
void hc_executor_report_final(hc_executor *x, const char *job_id);

/* Which slot kind a job should use: GPU slots only exist where NVENC
 * works. hardware=gpu waits for a GPU slot when there are any (else CPU);
 * auto takes a free GPU slot, else a CPU slot; cpu never uses GPU slots.
 * Returns 1 for GPU, 0 for CPU, -1 when nothing suitable is free now. */
int hc_dispatch_pick_slot(hc_hardware hw, int gpu_slots, int gpu_free, int cpu_free);

/* ---- remote schedulers and the reconcile loop -----------------------------
 * A scheduler (AWS Batch, later Slurm) runs `hydra-compose worker` with
 * HC_JOB_ID somewhere else; it knows its jobs by an external id, stored as
 * the job's batch_job_id. A scheduler backend only talks to the scheduler:
 * submit, probe, cancel, capacity. The one reconcile loop (reconcile.c)
 * does the rest for every scheduler, from the store:
 *  - queued jobs are submitted (GPU queue for hardware gpu, and auto when a
 *    GPU queue exists; CPU queue otherwise) and claimed with the external
 *    id (attempts + 1); a claim lost to a cancel cancels the submission;
 *  - status is read from the store: the scheduler is asked (probe, in
 *    batches) only about processing jobs whose worker has not written for
 *    a while (stale), so a healthy running job costs no scheduler call;
 *  - a stale job whose external job vanished, failed, or succeeded without
 *    writing a final state goes back to the queue (attempt counted) or
 *    fails after HC_MAX_ATTEMPTS with the scheduler's reason;
 *  - a job running longer than HC_JOB_TIMEOUT_S is canceled and failed;
 *  - an auto job still pending on the GPU queue HC_GPU_WAIT_S after its
 *    submission is submitted to the CPU queue, its batch_job_id replaced,
 *    and the GPU submission canceled (the attempt is not counted: it never
 *    started);
 *  - DELETE (hc_executor_stop) cancels the external job and reports the
 *    job final (its worker's exit is never seen here);
 * A worker started for an external id that is no longer the job's
 * batch_job_id changes nothing (see the worker command). */
typedef enum {
    HC_EXT_PENDING,   /* submitted, not running yet (Batch SUBMITTED..STARTING) */
    HC_EXT_RUNNING,   /* the worker runs */
    HC_EXT_SUCCEEDED, /* the worker exited 0 */
    HC_EXT_FAILED,    /* the worker failed (all the scheduler's own retries) */
    HC_EXT_VANISHED,  /* the scheduler does not know the id */
} hc_ext_status;

typedef struct hc_ext_state {
    hc_ext_status status;
    int64_t started_us; /* wall clock when it started running, 0 = not */
    char reason[256];   /* the scheduler's reason (failed), "" when none */
} hc_ext_state;

typedef struct hc_sched_capacity {
    int max_in_flight; /* processing jobs it takes at once (0 = none now) */
    bool has_gpu, has_cpu; /* which queues exist */
} hc_sched_capacity;

typedef struct hc_sched hc_sched;
typedef struct hc_sched_backend {
    const char *name;
    size_t priv_size;
    int (*open)(hc_sched *s, const hc_executor_env *env, hc_err *err);
    void (*close)(hc_sched *s);
    /* Submit job to the GPU (gpu) or CPU queue; its external id into id. */
    int (*submit)(hc_sched *s, const hc_job *job, bool gpu, char *id, size_t id_len, hc_err *err);
    /* The states of ids[0..n) into out[0..n) (n <= 100; unknown ids are
     * HC_EXT_VANISHED). An error means nothing was learnt. */
    int (*probe)(hc_sched *s, const char *const *ids, int n, hc_ext_state *out, hc_err *err);
    /* Stop an external job (pending or running); reason for the scheduler. */
    int (*cancel)(hc_sched *s, const char *id, const char *reason, hc_err *err);
    void (*capacity)(hc_sched *s, hc_sched_capacity *out);
} hc_sched_backend;

struct hc_sched {
    const hc_sched_backend *backend;
    const hc_executor_env *env;
    /* private state follows */
};
static inline void *hc_sched_priv(hc_sched *s) {
    return (void *)(s + 1);
}

/* The reconcile loop as an executor over a scheduler backend: an
 * executor backend's open calls hc_reconcile_open with its scheduler, the
 * other operations are these (priv_size HC_RECONCILE_PRIV_SIZE). */
#define HC_RECONCILE_PRIV_SIZE sizeof(void *)
int hc_reconcile_open(hc_executor *x, const hc_sched_backend *sb, const hc_executor_env *env,
                      hc_err *err);
void hc_reconcile_close(hc_executor *x, int64_t deadline_us);
void hc_reconcile_wake(hc_executor *x);
int hc_reconcile_stop(hc_executor *x, const char *job_id);
void hc_reconcile_stats(hc_executor *x, hc_executor_stats *out);
/* One pass of the loop now (submit, probe stale jobs, move, time out);
 * for tests and the Lambda's scheduled event. */
void hc_reconcile_once(hc_executor *x);

/* The job name a scheduler gets: "hc-<job_id>" with every character but
 * letters, digits, '-' and '_' replaced by '_', at most len-1 (<= 128). */
void hc_sched_job_name(const char *job_id, char *out, size_t len);

extern const hc_executor_backend hc_executor_aws_batch;

/* ---- completion callbacks (DESIGN.md §9) --------------------------------
 * POST the callback body with X-Hydra-Event, X-Hydra-Delivery and
 * X-Hydra-Signature: t=UNIX,v1=HMAC-SHA256("UNIX.BODY", secret), 10 s
 * timeout; non-2xx or timeout is retried after backoff_ms * 2^(attempt-1),
 * up to cfg->callback_attempts. State lives in the store (cb_*). */
typedef struct hc_notifier hc_notifier;
/* Start the delivery threads (a few, so a slow receiver holds up only its
 * own callback). cfg, store and storage are borrowed for their lifetime.
 * storage (may be NULL: URLs as stored) makes the body's output_url and
 * poster_url the links a status read hands out (S3 presigned for
 * HC_PRESIGN_TTL_S, /files signed when API keys are on). */
int hc_notifier_start(const hc_config *cfg, hc_store *store, hc_storage *storage,
                      hc_notifier **out, hc_err *err);
/* Look at the store now (a job just became final). */
void hc_notifier_wake(hc_notifier *n);
/* Stop the thread (an attempt in flight finishes first); NULL is a no-op. */
void hc_notifier_stop(hc_notifier *n);
/* One delivery pass in the caller's thread: every callback due now is
 * attempted once (the Lambda's scheduled event, where no thread outlives
 * an invocation). A failed attempt is rescheduled in the store as the
 * threads do. deadline_us (wall clock, 0 = none): no attempt starts that
 * could end after it (an attempt takes up to 10 s). */
int hc_notifier_run_once(const hc_config *cfg, hc_store *store, hc_storage *storage,
                         int64_t deadline_us, hc_err *err);
/* One delivery attempt of job_id's callback now, from its stored state,
 * if one is due (a worker delivers its own job's callback as it ends;
 * the receiver tells a repeat by X-Hydra-Delivery). 0 when delivered or
 * none was due; HC_ENET when it failed (the retry is scheduled in the
 * store, for a notifier). storage as for hc_notifier_start. */
int hc_callback_deliver_now(const hc_config *cfg, hc_store *store, hc_storage *storage,
                            const char *job_id);
/* The signature header value "t=UNIX,v1=HEX" for body at time t. */
void hc_callback_signature(const char *secret, int64_t t, const char *body, size_t len, char *out,
                           size_t out_len);

#endif
