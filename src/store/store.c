/* The job store's front: backends found by name, the public wrappers (which
 * check arguments before any backend sees them), the fault-injecting
 * wrapper for tests, and the job state transitions built on get + put.
 *
 * Invariant: every transition is one compare-and-set put whose expect mask
 * is the status it read, so of two racing writers exactly one wins and the
 * other gets HC_ECONFLICT (then re-reads); a final state is only left by an
 * explicit retry. A job whose request has a callback_url gets its callback
 * armed (cb_state pending, due now, a fresh delivery id) by the same put
 * that makes it final, so the callback never precedes the stored state. */
#include "store/hc_store.h"
#include "store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* How often a transition re-reads after losing a race before giving up. */
enum { TRANSITION_TRIES = 16 };
#define ALL_STATUS_MASK ((1u << HC_JOB_STATUS_COUNT) - 1)

/* ---- backends by name ----------------------------------------------------- */

static const hc_store_backend *const backends[] = {&hc_store_sqlite, &hc_store_mem};

const hc_store_backend *hc_store_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strcmp(backends[i]->name, name) == 0) return backends[i];
    return NULL;
}

/* A zeroed store for backend with its private state; spec copied. */
static hc_store *store_alloc(const hc_store_backend *b, const char *spec) {
    hc_store *s = hc_xcalloc(1, sizeof *s + b->priv_size);
    s->backend = b;
    s->spec = hc_strdup(spec);
    return s;
}

static void store_free(hc_store *s) {
    free(s->spec);
    free(s);
}

int hc_store_open(const char *spec, hc_store **out, hc_err *err) {
    int rc = 0;
    hc_store *s = NULL;
    char name[32];
    if (out) *out = NULL;
    if (!spec || !*spec || !out) return hc_err_set(err, HC_EINVAL, "store: empty store spec");
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    const char *arg = colon ? colon + 1 : "";
    if (n >= sizeof name) n = sizeof name - 1;
    memcpy(name, spec, n);
    name[n] = 0;
    const hc_store_backend *b = hc_store_find(name);
    if (!b) {
        rc = hc_err_set(err, HC_EINVAL,
                        "store: unknown backend \"%s\" in \"%s\" (expected sqlite:PATH or mem:)",
                        name, spec);
        goto done;
    }
    s = store_alloc(b, spec);
    rc = b->open(s, arg, err);
    if (rc < 0) {
        store_free(s);
        s = NULL;
        goto done;
    }
    *out = s;
done:
    return rc;
}

void hc_store_close(hc_store *s) {
    if (!s) return;
    s->backend->close(s);
    store_free(s);
}

void hc_job_list_fini(hc_job_list *l) {
    if (!l) return;
    for (int i = 0; i < l->n; i++)
        hc_job_fini(&l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* ---- cursors (store_int.h) ------------------------------------------------ */

int store_cursor_parse(const hc_store_query *q, store_cursor *c, hc_err *err) {
    memset(c, 0, sizeof *c);
    if (!q->cursor || !*q->cursor) return 0;
    const char *p = q->cursor;
    char *end = NULL;
    errno = 0;
    if (q->order == HC_STORE_ORDER_QUEUE) {
        long pr = strtol(p, &end, 10);
        if (end == p || *end != ':' || errno || pr < INT32_MIN || pr > INT32_MAX) goto bad;
        c->priority = (int)pr;
        p = end + 1;
    }
    long long seq = strtoll(p, &end, 10);
    if (end == p || *end || errno || seq < 0) goto bad;
    c->seq = seq;
    c->set = true;
    return 0;
bad:
    return hc_err_set(err, HC_EINVAL, "cursor: malformed \"%.64s\" (use next_cursor of a listing)",
                      q->cursor);
}

void store_cursor_format(hc_store_order order, const hc_job *job, char *buf, size_t len) {
    if (order == HC_STORE_ORDER_QUEUE)
        snprintf(buf, len, "%d:%" PRId64, job->priority, job->seq);
    else
        snprintf(buf, len, "%" PRId64, job->seq);
}

void store_mask_names(unsigned mask, char *buf, size_t len) {
    size_t o = 0;
    if (len) buf[0] = 0;
    for (int st = 0; st < HC_JOB_STATUS_COUNT; st++) {
        if (!(mask & HC_JOB_MASK(st))) continue;
        int w = snprintf(buf + o, len - o, "%s%s", o ? "|" : "", hc_job_status_names[st]);
        if (w < 0 || (size_t)w >= len - o) break;
        o += (size_t)w;
    }
}

/* ---- wrappers ------------------------------------------------------------- */

static int check_id(const char *job_id, hc_err *err) {
    if (!job_id || !*job_id) return hc_err_set(err, HC_EINVAL, "job_id: must not be empty");
    if (strnlen(job_id, HC_MAX_JOB_ID_LEN + 1) > HC_MAX_JOB_ID_LEN)
        return hc_err_set(err, HC_EINVAL, "job_id: longer than %d bytes", HC_MAX_JOB_ID_LEN);
    return 0;
}

static int check_job(const hc_job *job, hc_err *err) {
    if (!job) return hc_err_set(err, HC_EINVAL, "store: job must not be NULL");
    int rc = check_id(job->job_id, err);
    if (rc) return rc;
    if ((int)job->status < 0 || job->status >= HC_JOB_STATUS_COUNT)
        return hc_err_set(err, HC_EINVAL, "status: invalid value %d", (int)job->status);
    if ((int)job->hardware < 0 || job->hardware >= HC_HW_COUNT)
        return hc_err_set(err, HC_EINVAL, "hardware: invalid value %d", (int)job->hardware);
    if ((int)job->cb_state < HC_CB_NONE || job->cb_state > HC_CB_GAVE_UP)
        return hc_err_set(err, HC_EINVAL, "cb_state: invalid value %d", (int)job->cb_state);
    return 0;
}

int hc_store_create(hc_store *s, hc_job *job, hc_job *existing, hc_err *err) {
    if (existing) memset(existing, 0, sizeof *existing);
    if (!s) return hc_err_set(err, HC_EINVAL, "store: not open");
    int rc = check_job(job, err);
    if (rc) return rc;
    return s->backend->create(s, job, existing, err);
}

int hc_store_get(hc_store *s, const char *job_id, hc_job *out, hc_err *err) {
    if (out) memset(out, 0, sizeof *out);
    if (!s || !out) return hc_err_set(err, HC_EINVAL, "store: not open or no output");
    int rc = check_id(job_id, err);
    if (rc) return rc;
    return s->backend->get(s, job_id, out, err);
}

int hc_store_put(hc_store *s, hc_job *job, unsigned expect_mask, hc_err *err) {
    if (!s) return hc_err_set(err, HC_EINVAL, "store: not open");
    int rc = check_job(job, err);
    if (rc) return rc;
    if (!expect_mask || (expect_mask & ~ALL_STATUS_MASK))
        return hc_err_set(err, HC_EINVAL, "store: expect mask 0x%x names no valid status",
                          expect_mask);
    return s->backend->put(s, job, expect_mask, err);
}

int hc_store_list(hc_store *s, const hc_store_query *q, hc_job_list *out, hc_err *err) {
    if (out) memset(out, 0, sizeof *out);
    if (!s || !q || !out) return hc_err_set(err, HC_EINVAL, "store: not open or no query");
    if (q->limit < 1 || q->limit > 1000)
        return hc_err_set(err, HC_EINVAL, "limit: must be 1..1000, not %d", q->limit);
    if (q->status_mask & ~ALL_STATUS_MASK)
        return hc_err_set(err, HC_EINVAL, "status: mask 0x%x names no valid status",
                          q->status_mask);
    if (q->order != HC_STORE_ORDER_NEWEST && q->order != HC_STORE_ORDER_QUEUE)
        return hc_err_set(err, HC_EINVAL, "order: invalid value %d", (int)q->order);
    store_cursor c;
    int rc = store_cursor_parse(q, &c, err);
    if (rc) return rc;
    rc = s->backend->list(s, q, out, err);
    if (rc < 0) hc_job_list_fini(out);
    return rc;
}

int hc_store_count(hc_store *s, int64_t counts[HC_JOB_STATUS_COUNT], hc_err *err) {
    if (!s || !counts) return hc_err_set(err, HC_EINVAL, "store: not open or no output");
    memset(counts, 0, sizeof(int64_t) * HC_JOB_STATUS_COUNT);
    return s->backend->count(s, counts, err);
}

/* ---- fault injection ------------------------------------------------------ */

typedef struct fault_priv {
    hc_store *inner;
    int nth, code;
    bool sticky;
    atomic_int calls;
} fault_priv;

/* Count this call; the injected code when it is the one (or later, sticky). */
static int fault_hit(hc_store *s, hc_err *err) {
    fault_priv *p = hc_store_priv(s);
    int call = atomic_fetch_add(&p->calls, 1) + 1;
    if (call == p->nth || (p->sticky && call > p->nth))
        return hc_err_set(err, p->code, "store %s: injected fault at call %d (%s)", p->inner->spec,
                          call, hc_errname(p->code));
    return 0;
}

static int fault_open(hc_store *s, const char *arg, hc_err *err) {
    (void)s;
    (void)arg;
    return hc_err_set(err, HC_EUNSUPPORTED,
                      "store: the fault wrapper is made by "
                      "hc_store_fault_wrap, not opened by name");
}

static void fault_close(hc_store *s) {
    fault_priv *p = hc_store_priv(s);
    hc_store_close(p->inner);
}

static int fault_create(hc_store *s, hc_job *job, hc_job *existing, hc_err *err) {
    int rc = fault_hit(s, err);
    return rc ? rc : hc_store_create(((fault_priv *)hc_store_priv(s))->inner, job, existing, err);
}

static int fault_get(hc_store *s, const char *job_id, hc_job *out, hc_err *err) {
    int rc = fault_hit(s, err);
    return rc ? rc : hc_store_get(((fault_priv *)hc_store_priv(s))->inner, job_id, out, err);
}

static int fault_put(hc_store *s, hc_job *job, unsigned expect_mask, hc_err *err) {
    int rc = fault_hit(s, err);
    return rc ? rc : hc_store_put(((fault_priv *)hc_store_priv(s))->inner, job, expect_mask, err);
}

static int fault_list(hc_store *s, const hc_store_query *q, hc_job_list *out, hc_err *err) {
    int rc = fault_hit(s, err);
    return rc ? rc : hc_store_list(((fault_priv *)hc_store_priv(s))->inner, q, out, err);
}

static int fault_count(hc_store *s, int64_t counts[HC_JOB_STATUS_COUNT], hc_err *err) {
    int rc = fault_hit(s, err);
    return rc ? rc : hc_store_count(((fault_priv *)hc_store_priv(s))->inner, counts, err);
}

static const hc_store_backend fault_backend = {
    .name = "fault",
    .priv_size = sizeof(fault_priv),
    .open = fault_open,
    .close = fault_close,
    .create = fault_create,
    .get = fault_get,
    .put = fault_put,
    .list = fault_list,
    .count = fault_count,
};

int hc_store_fault_wrap(hc_store *inner, int nth, int code, bool sticky, hc_store **out) {
    if (!out) return HC_EINVAL;
    *out = NULL;
    if (!inner || nth < 1 || code >= 0) return HC_EINVAL;
    size_t n = strlen(inner->spec) + sizeof "fault:";
    char *spec = hc_xmalloc(n);
    snprintf(spec, n, "fault:%s", inner->spec);
    hc_store *s = store_alloc(&fault_backend, spec);
    free(spec);
    fault_priv *p = hc_store_priv(s);
    p->inner = inner;
    p->nth = nth;
    p->code = code;
    p->sticky = sticky;
    atomic_init(&p->calls, 0);
    *out = s;
    return 0;
}

/* ---- transitions ---------------------------------------------------------- */

/* A delivery id "dlv_" + 24 hex digits (unique, not secret). */
static void new_delivery_id(char out[40]) {
    unsigned char b[12];
    hc_random_bytes(b, sizeof b);
    memcpy(out, "dlv_", 4);
    hc_hex(b, sizeof b, out + 4);
}

/* The job just became final: arm its callback when it has one. */
static void arm_callback(hc_job *job, int64_t now_us) {
    job->cb_attempts = 0;
    hc_job_set_str(&job->cb_last_error, NULL);
    if (!hc_job_has_callback(job)) {
        job->cb_state = HC_CB_NONE;
        job->cb_next_us = 0;
        job->cb_delivery[0] = 0;
        return;
    }
    job->cb_state = HC_CB_PENDING;
    job->cb_next_us = now_us;
    new_delivery_id(job->cb_delivery);
}

/* Read job_id, let edit change it, and write it back expecting the status
 * that was read; on a lost race read again. edit returns 0 to write, or an
 * error (HC_ECONFLICT: the job is not in a state this transition takes).
 * *out (if not NULL) receives the written state. */
typedef int (*edit_fn)(hc_job *job, void *ud, hc_err *err);

static int transition(hc_store *s, const char *job_id, edit_fn edit, void *ud, hc_job *out,
                      hc_err *err) {
    int rc = HC_ECONFLICT;
    hc_job job = {0};
    if (out) memset(out, 0, sizeof *out);
    for (int i = 0; i < TRANSITION_TRIES; i++) {
        hc_job_fini(&job);
        rc = hc_store_get(s, job_id, &job, err);
        if (rc < 0) goto done;
        hc_job_status was = job.status;
        rc = edit(&job, ud, err);
        if (rc < 0) goto done;
        /* A lost race leaves no message: only the final answer has one. */
        hc_err local = {0};
        rc = hc_store_put(s, &job, HC_JOB_MASK(was), &local);
        if (rc != HC_ECONFLICT) {
            if (rc < 0) hc_err_set(err, rc, "%s", local.msg);
            goto done;
        }
    }
    rc = hc_err_set(err, HC_ECONFLICT, "job %s: changed under us %d times in a row", job_id,
                    TRANSITION_TRIES);
done:
    if (rc == 0 && out) {
        *out = job;
        memset(&job, 0, sizeof job);
    }
    hc_job_fini(&job);
    return rc;
}

static int conflict(const hc_job *job, const char *want, hc_err *err) {
    return hc_err_set(err, HC_ECONFLICT, "job %s: is %s, not %s", job->job_id,
                      hc_job_status_names[job->status], want);
}

typedef struct claim_arg {
    const char *batch_job_id;
} claim_arg;

static int edit_claim(hc_job *job, void *ud, hc_err *err) {
    const claim_arg *a = ud;
    if (job->status != HC_JOB_QUEUED) return conflict(job, "queued", err);
    job->status = HC_JOB_PROCESSING;
    job->attempts++;
    job->started_us = hc_wall_us();
    job->finished_us = 0;
    job->progress = 0;
    job->frames_done = job->frames_total = 0;
    job->current_step[0] = 0;
    snprintf(job->batch_job_id, sizeof job->batch_job_id, "%s",
             a->batch_job_id ? a->batch_job_id : "");
    return 0;
}

int hc_store_claim(hc_store *s, hc_job *job, const char *batch_job_id, hc_err *err) {
    if (!job) return hc_err_set(err, HC_EINVAL, "store: job must not be NULL");
    /* Claim from a fresh read, not the caller's copy (which may be old), and
     * only from queued: one try, since losing the race means someone else
     * has it. */
    hc_job fresh = {0};
    int rc = hc_store_get(s, job->job_id, &fresh, err);
    if (rc < 0) goto done;
    claim_arg a = {batch_job_id};
    rc = edit_claim(&fresh, &a, err);
    if (rc < 0) goto done;
    rc = hc_store_put(s, &fresh, HC_JOB_MASK(HC_JOB_QUEUED), err);
    if (rc < 0) goto done;
    hc_job_fini(job);
    *job = fresh;
    memset(&fresh, 0, sizeof fresh);
done:
    hc_job_fini(&fresh);
    return rc;
}

static int edit_cancel(hc_job *job, void *ud, hc_err *err) {
    (void)ud;
    if (hc_job_status_final(job->status)) return conflict(job, "queued or processing", err);
    int64_t now = hc_wall_us();
    job->status = HC_JOB_CANCELED;
    job->finished_us = now;
    job->current_step[0] = 0;
    arm_callback(job, now);
    return 0;
}

int hc_store_cancel(hc_store *s, const char *job_id, hc_job *out, hc_err *err) {
    return transition(s, job_id, edit_cancel, NULL, out, err);
}

static int edit_retry(hc_job *job, void *ud, hc_err *err) {
    (void)ud;
    if (job->status != HC_JOB_FAILED && job->status != HC_JOB_CANCELED)
        return conflict(job, "failed or canceled", err);
    /* Back to a fresh queued job: only the identity, the request and what
     * dispatch needs survive. */
    job->status = HC_JOB_QUEUED;
    job->attempts = 0;
    job->progress = 0;
    job->current_step[0] = 0;
    job->frames_done = job->frames_total = 0;
    job->started_us = job->finished_us = 0;
    job->duration_s = job->render_s = 0;
    job->error_code[0] = 0;
    job->batch_job_id[0] = 0;
    job->encoder[0] = 0;
    hc_job_set_str(&job->error_message, NULL);
    hc_job_set_str(&job->output_url, NULL);
    hc_job_set_str(&job->poster_url, NULL);
    hc_job_set_str(&job->encoder_reason, NULL);
    hc_job_set_str(&job->warnings, NULL);
    hc_job_set_str(&job->cb_last_error, NULL);
    job->cb_state = HC_CB_NONE;
    job->cb_attempts = 0;
    job->cb_next_us = 0;
    job->cb_delivery[0] = 0;
    return 0;
}

int hc_store_retry(hc_store *s, const char *job_id, hc_job *out, hc_err *err) {
    return transition(s, job_id, edit_retry, NULL, out, err);
}

typedef struct requeue_arg {
    int max_attempts;
    const char *reason;
} requeue_arg;

static int edit_requeue(hc_job *job, void *ud, hc_err *err) {
    const requeue_arg *a = ud;
    if (job->status != HC_JOB_PROCESSING) return conflict(job, "processing", err);
    job->progress = 0;
    job->frames_done = job->frames_total = 0;
    job->current_step[0] = 0;
    if (job->attempts < a->max_attempts) {
        job->status = HC_JOB_QUEUED;
        job->started_us = 0;
        job->batch_job_id[0] = 0;
        return 0;
    }
    char msg[512];
    snprintf(msg, sizeof msg, "%s (after %d attempt%s)",
             a->reason && *a->reason ? a->reason : "the worker stopped", job->attempts,
             job->attempts == 1 ? "" : "s");
    hc_job_set_error(job, HC_EINTERNAL, msg);
    arm_callback(job, job->finished_us);
    return 0;
}

int hc_store_requeue(hc_store *s, const char *job_id, int max_attempts, const char *reason,
                     hc_err *err) {
    requeue_arg a = {max_attempts, reason};
    return transition(s, job_id, edit_requeue, &a, NULL, err);
}

int hc_store_finish(hc_store *s, hc_job *job, hc_err *err) {
    if (!job) return hc_err_set(err, HC_EINVAL, "store: job must not be NULL");
    if (job->status != HC_JOB_COMPLETED && job->status != HC_JOB_FAILED)
        return hc_err_set(err, HC_EINVAL, "job %s: finish wants completed or failed, not %s",
                          job->job_id,
                          (int)job->status >= 0 && job->status < HC_JOB_STATUS_COUNT
                              ? hc_job_status_names[job->status]
                              : "an invalid status");
    int64_t now = hc_wall_us();
    if (!job->finished_us) job->finished_us = now;
    if (job->status == HC_JOB_COMPLETED) {
        job->progress = 100;
        job->error_code[0] = 0;
        hc_job_set_str(&job->error_message, NULL);
    } else if (!job->error_code[0]) {
        snprintf(job->error_code, sizeof job->error_code, "%s", hc_errname(HC_EINTERNAL));
    }
    job->current_step[0] = 0;
    arm_callback(job, now);
    return hc_store_put(s, job, HC_JOB_MASK(HC_JOB_PROCESSING), err);
}
