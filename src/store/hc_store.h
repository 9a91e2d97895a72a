/* The job store: where jobs and their state live (DESIGN.md §3, §10
 * HC_STORE). An interface in the SQLite manner: a const backend descriptor
 * of function pointers, an instance pointing at it, one public wrapper per
 * operation, and a table to find a backend by name ("sqlite:PATH", "mem:",
 * later "dynamodb:TABLE").
 *
 * Invariants every backend keeps (tests/contract/test_store.c checks them
 * against each one):
 *  - once hc_store_create returns 0 the job is durable: it survives kill -9
 *    of the process (SQLite: WAL, synchronous=NORMAL, committed);
 *  - hc_store_update (and hc_store_put, every field) is a compare-and-set
 *    on the stored status and, when asked, the stored attempt: it writes
 *    only when the stored status is in expect_mask (and the attempt is the
 *    writer's), so two writers never both win a transition (a canceled job
 *    is never overwritten by a finishing worker, a job is claimed by one
 *    dispatcher only, a late worker of an older attempt writes nothing);
 *  - it writes only the fields it is given (a progress write leaves the
 *    rest of the record alone);
 *  - several processes may open the same store (server, workers, `jobs`).
 *
 * Threads: a store handle may be used from several threads at once. */
#ifndef HC_STORE_H
#define HC_STORE_H

#include "core/hc_core.h"
#include "jobs/hc_jobs.h"

typedef struct hc_store hc_store;

/* ---- the job's fields ------------------------------------------------------
 * The one description of a stored job, which drives the SQLite columns,
 * statements and row codec and the DynamoDB item codec alike:
 * X(ID, hc_job member, name, kind, mutable).
 *  - name: the DynamoDB attribute and, where it has one, the status JSON's
 *    name (DESIGN.md §3, §11); times are "<x>_ms", epoch milliseconds. The
 *    SQLite column is the member's name (the schema predates this table).
 *  - kind: SEQ (int64, the store's insertion order), BUF (char[]), STR
 *    (char *, NULL allowed), INT, I64, REAL, TIME (int64 Unix µs), STATUS,
 *    HW, CB (enums stored by name).
 *  - mutable: 0 = fixed at create (update never writes it). */
#define HC_JOB_FIELDS(X)                                                                           \
    X(SEQ, seq, "seq", SEQ, 0)                                                                     \
    X(JOB_ID, job_id, "job_id", BUF, 0)                                                            \
    X(STATUS, status, "status", STATUS, 1)                                                         \
    X(PROGRESS, progress, "progress", INT, 1)                                                      \
    X(CURRENT_STEP, current_step, "current_step", BUF, 1)                                          \
    X(FRAMES_DONE, frames_done, "frames_done", I64, 1)                                             \
    X(FRAMES_TOTAL, frames_total, "frames_total", I64, 1)                                          \
    X(REQUEST, request, "request", STR, 0)                                                         \
    X(REQUEST_SHA256, request_sha256, "request_sha256", BUF, 0)                                    \
    X(PRIORITY, priority, "priority", INT, 1)                                                      \
    X(HARDWARE, hardware, "hardware", HW, 1)                                                       \
    X(OUTPUT_URL, output_url, "output_url", STR, 1)                                                \
    X(POSTER_URL, poster_url, "poster_url", STR, 1)                                                \
    X(OUTPUT_KEY, output_key, "output_key", STR, 1)                                                \
    X(ERROR_CODE, error_code, "error_code", BUF, 1)                                                \
    X(ERROR_MESSAGE, error_message, "error_message", STR, 1)                                       \
    X(BATCH_JOB_ID, batch_job_id, "batch_job_id", BUF, 1)                                          \
    X(CREATED, created_us, "created_ms", TIME, 0)                                                  \
    X(STARTED, started_us, "started_ms", TIME, 1)                                                  \
    X(FINISHED, finished_us, "finished_ms", TIME, 1)                                               \
    X(UPDATED, updated_us, "updated_ms", TIME, 1)                                                  \
    X(DURATION_S, duration_s, "duration_s", REAL, 1)                                               \
    X(RENDER_S, render_s, "render_s", REAL, 1)                                                     \
    X(ENCODER, encoder, "encoder", BUF, 1)                                                         \
    X(ENCODER_REASON, encoder_reason, "encoder_reason", STR, 1)                                    \
    X(ATTEMPTS, attempts, "attempts", INT, 1)                                                      \
    X(METADATA, metadata, "metadata", STR, 1)                                                      \
    X(WARNINGS, warnings, "warnings", STR, 1)                                                      \
    X(CB_STATE, cb_state, "callback_state", CB, 1)                                                 \
    X(CB_ATTEMPTS, cb_attempts, "callback_attempts", INT, 1)                                       \
    X(CB_NEXT, cb_next_us, "callback_next_ms", TIME, 1)                                            \
    X(CB_DELIVERY, cb_delivery, "callback_delivery", BUF, 1)                                       \
    X(CB_LAST_ERROR, cb_last_error, "callback_last_error", STR, 1)                                 \
    X(ATTEMPT, attempt, "attempt", INT, 1)                                                         \
    X(CB_DELIVERED, cb_delivered_us, "callback_delivered_ms", TIME, 1)

typedef enum {
#define HC_JOB_F_ENUM_(id, member, name, kind, mut) HC_JOB_F_##id,
    HC_JOB_FIELDS(HC_JOB_F_ENUM_)
#undef HC_JOB_F_ENUM_
        HC_JOB_F_COUNT
} hc_job_field;
#define HC_JOB_FIELD(id) (UINT64_C(1) << HC_JOB_F_##id)
/* Every field update may write (all but seq, job_id, request, its hash and
 * created_us). */
extern const uint64_t hc_job_fields_mutable;
/* What a progress write changes (hc_store_progress). */
#define HC_JOB_FIELDS_PROGRESS                                                                     \
    (HC_JOB_FIELD(PROGRESS) | HC_JOB_FIELD(FRAMES_DONE) | HC_JOB_FIELD(FRAMES_TOTAL) |             \
     HC_JOB_FIELD(CURRENT_STEP))
/* What a callback delivery attempt changes (hc_store_callback_result). */
#define HC_JOB_FIELDS_CALLBACK                                                                     \
    (HC_JOB_FIELD(CB_STATE) | HC_JOB_FIELD(CB_ATTEMPTS) | HC_JOB_FIELD(CB_NEXT) |                  \
     HC_JOB_FIELD(CB_LAST_ERROR) | HC_JOB_FIELD(CB_DELIVERED))
/* expect_attempt of hc_store_update: any attempt. */
#define HC_STORE_ANY_ATTEMPT (-1)

typedef enum {
    HC_STORE_ORDER_NEWEST, /* seq descending: listings (GET /jobs) */
    HC_STORE_ORDER_QUEUE,  /* priority descending, then seq ascending: dispatch */
} hc_store_order;

typedef struct hc_store_query {
    unsigned status_mask; /* HC_JOB_MASK bits; 0 = any status */
    hc_store_order order;
    int limit;          /* 1..1000 */
    const char *cursor; /* continue after this (from a previous list), or NULL */
    bool callbacks_due; /* only jobs with cb_state PENDING and cb_next_us <= now_us */
    int64_t now_us;
} hc_store_query;

typedef struct hc_job_list {
    hc_job *v;
    int n;
    char next_cursor[64]; /* "" when there is nothing more */
} hc_job_list;
void hc_job_list_fini(hc_job_list *l);

typedef struct hc_store_backend {
    const char *name; /* "sqlite", "mem" */
    size_t priv_size; /* bytes of private state, zeroed, at hc_store_priv(s) */
    /* arg: what follows "name:" in the spec (a path for sqlite). */
    int (*open)(hc_store *s, const char *arg, hc_err *err);
    void (*close)(hc_store *s);
    /* Insert job (seq assigned here, written back into *job). HC_EEXISTS
     * when the id is taken; then *existing (if not NULL) receives the
     * stored job (caller finis it). */
    int (*create)(hc_store *s, hc_job *job, hc_job *existing, hc_err *err);
    /* HC_ENOTFOUND for an unknown id. */
    int (*get)(hc_store *s, const char *job_id, hc_job *out, hc_err *err);
    /* Write the fields named in `fields` (mutable ones only, updated_us
     * always among them) from values into the stored job_id, if its stored
     * status is in expect_mask and, unless expect_attempt is
     * HC_STORE_ANY_ATTEMPT, its stored attempt equals expect_attempt; else
     * HC_ECONFLICT (out-of-date caller: re-read) or HC_ENOTFOUND. One
     * atomic conditional write. values->updated_us is the time written. */
    int (*update)(hc_store *s, const char *job_id, uint64_t fields, const hc_job *values,
                  unsigned expect_mask, int expect_attempt, hc_err *err);
    int (*list)(hc_store *s, const hc_store_query *q, hc_job_list *out, hc_err *err);
    /* Number of jobs in each status. */
    int (*count)(hc_store *s, int64_t counts[HC_JOB_STATUS_COUNT], hc_err *err);
} hc_store_backend;

struct hc_store {
    const hc_store_backend *backend;
    char *spec; /* as opened, e.g. "sqlite:/data/jobs.db" (owned) */
    /* private state follows (priv_size bytes) */
};

static inline void *hc_store_priv(hc_store *s) {
    return (void *)(s + 1);
}

/* Backends by name. */
extern const hc_store_backend hc_store_sqlite;
extern const hc_store_backend hc_store_mem;
extern const hc_store_backend hc_store_dynamodb;
/* Find a backend by name; NULL if unknown. */
const hc_store_backend *hc_store_find(const char *name);

/* Open "backend:arg" (e.g. "sqlite:/var/lib/hydra/jobs.db", "mem:",
 * "dynamodb:hydra-compose-jobs"). On
 * success *out is a new store (caller closes with hc_store_close). */
int hc_store_open(const char *spec, hc_store **out, hc_err *err);
void hc_store_close(hc_store *s); /* NULL is a no-op */

/* The wrappers: argument checks, then the backend. */
int hc_store_create(hc_store *s, hc_job *job, hc_job *existing, hc_err *err);
int hc_store_get(hc_store *s, const char *job_id, hc_job *out, hc_err *err);
/* Every mutable field of job but the attempt token (which only a claim
 * moves), expecting a stored status in expect_mask (any attempt); sets
 * job->updated_us. */
int hc_store_put(hc_store *s, hc_job *job, unsigned expect_mask, hc_err *err);
/* The fields in `fields` (HC_JOB_FIELD bits; immutable ones are refused
 * with HC_EINVAL) from values, expecting a stored status in expect_mask
 * and the stored attempt expect_attempt (or HC_STORE_ANY_ATTEMPT). Sets
 * values->updated_us. HC_ECONFLICT names what the store holds instead. */
int hc_store_update(hc_store *s, const char *job_id, uint64_t fields, hc_job *values,
                    unsigned expect_mask, int expect_attempt, hc_err *err);
int hc_store_list(hc_store *s, const hc_store_query *q, hc_job_list *out, hc_err *err);
int hc_store_count(hc_store *s, int64_t counts[HC_JOB_STATUS_COUNT], hc_err *err);

/* Create the DynamoDB table of DESIGN.md §11 (hash key job_id S; index
 * status-created: status S + created_ms N, projection ALL; on-demand
 * billing) in the AWS context of the environment, wait until it is ACTIVE
 * and enable TTL on `ttl`. A table that exists already is fine. */
int hc_store_dynamodb_create_table(const char *table, hc_err *err);
/* ("dynamodb:" alone names the default table, hydra-compose-jobs.) */

/* Fault injection for tests: wrap inner so that the nth call (1-based,
 * counting every operation) and, if sticky, every later one fails with
 * code. The wrapper owns inner and closes it. */
int hc_store_fault_wrap(hc_store *inner, int nth, int code, bool sticky, hc_store **out);

/* ---- state transitions built on update (shared by every caller) ---------
 * Each writes only the fields it changes. Those a worker makes (progress,
 * finish) and those about one run of the job (requeue, release, the
 * callback result) are conditional on the attempt they were made for:
 * job->attempt, as read after the claim. */

/* queued -> processing for the executor: attempts+1, attempt+1 (the new
 * writer's token), started_us, batch id. HC_ECONFLICT if someone else got
 * it first. *job receives the claimed state. */
int hc_store_claim(hc_store *s, hc_job *job, const char *batch_job_id, hc_err *err);
/* Cancel a queued or processing job (-> canceled, final). A job already
 * final gives HC_ECONFLICT; unknown HC_ENOTFOUND. *out gets the new state. */
int hc_store_cancel(hc_store *s, const char *job_id, hc_job *out, hc_err *err);
/* failed | canceled -> queued with attempts reset (operator retry). */
int hc_store_retry(hc_store *s, const char *job_id, hc_job *out, hc_err *err);
/* A processing job whose worker died: back to queued if attempts <
 * max_attempts, else failed with reason. HC_ECONFLICT if not processing. */
int hc_store_requeue(hc_store *s, const char *job_id, int max_attempts, const char *reason,
                     hc_err *err);
/* processing -> queued without counting the attempt (graceful shutdown:
 * the worker was stopped, it did not fail), if the stored attempt is
 * `attempt`. HC_ECONFLICT otherwise (finished, canceled, or claimed again). */
int hc_store_release(hc_store *s, const char *job_id, int attempt, hc_err *err);
/* The worker's progress write: progress, frames_done, frames_total,
 * current_step (and updated_us) of job, while the job is processing under
 * job->attempt. HC_ECONFLICT when it is not (canceled, or a newer attempt
 * owns it): the worker stops. */
int hc_store_progress(hc_store *s, hc_job *job, hc_err *err);
/* Write a final state (completed/failed) from processing under
 * job->attempt, arming the callback (cb_state pending, due now) when the
 * request has a callback_url. Writes the result fields only (status,
 * progress, step, frames, URLs, error, times, encoder, warnings, callback).
 * HC_ECONFLICT when the job is no longer processing (it was canceled
 * meanwhile) or belongs to a newer attempt. */
int hc_store_finish(hc_store *s, hc_job *job, hc_err *err);
/* Record a callback delivery attempt: cb_state, cb_attempts, cb_next_us,
 * cb_last_error, cb_delivered_us of job, while the stored job is still in
 * job->status under job->attempt (a retried and re-run job's new callback
 * is never overwritten by the old one's result). */
int hc_store_callback_result(hc_store *s, hc_job *job, hc_err *err);

#endif
