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
 *  - hc_store_put is a compare-and-set on the stored status: it writes only
 *    when the stored status is in expect_mask, so two writers never both
 *    win a transition (a canceled job is never overwritten by a finishing
 *    worker, a job is claimed by one dispatcher only);
 *  - several processes may open the same store (server, workers, `jobs`).
 *
 * Threads: a store handle may be used from several threads at once. */
#ifndef HC_STORE_H
#define HC_STORE_H

#include "core/hc_core.h"
#include "jobs/hc_jobs.h"

typedef struct hc_store hc_store;

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
    /* Replace every mutable field of the stored job with job's (not id,
     * request, created_us, seq) if its stored status is in expect_mask;
     * else HC_ECONFLICT (out-of-date caller: re-read) or HC_ENOTFOUND.
     * Sets updated_us. */
    int (*put)(hc_store *s, hc_job *job, unsigned expect_mask, hc_err *err);
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
/* Find a backend by name; NULL if unknown. */
const hc_store_backend *hc_store_find(const char *name);

/* Open "backend:arg" (e.g. "sqlite:/var/lib/hydra/jobs.db", "mem:"). On
 * success *out is a new store (caller closes with hc_store_close). */
int hc_store_open(const char *spec, hc_store **out, hc_err *err);
void hc_store_close(hc_store *s); /* NULL is a no-op */

/* The wrappers: argument checks, then the backend. */
int hc_store_create(hc_store *s, hc_job *job, hc_job *existing, hc_err *err);
int hc_store_get(hc_store *s, const char *job_id, hc_job *out, hc_err *err);
int hc_store_put(hc_store *s, hc_job *job, unsigned expect_mask, hc_err *err);
int hc_store_list(hc_store *s, const hc_store_query *q, hc_job_list *out, hc_err *err);
int hc_store_count(hc_store *s, int64_t counts[HC_JOB_STATUS_COUNT], hc_err *err);

/* Fault injection for tests: wrap inner so that the nth call (1-based,
 * counting every operation) and, if sticky, every later one fails with
 * code. The wrapper owns inner and closes it. */
int hc_store_fault_wrap(hc_store *inner, int nth, int code, bool sticky, hc_store **out);

/* ---- state transitions built on put (shared by every caller) ------------ */

/* queued -> processing for the executor: attempts+1, started_us, batch id.
 * HC_ECONFLICT if someone else got it first. */
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
/* Write a final state (completed/failed) from processing, arming the
 * callback (cb_state pending, due now) when the request has a
 * callback_url. HC_ECONFLICT when the job is no longer processing (it was
 * canceled meanwhile). */
int hc_store_finish(hc_store *s, hc_job *job, hc_err *err);

#endif
