/* The job store's front: the job's field table, backends found by name,
 * the public wrappers (which check arguments before any backend sees
 * them), the fault-injecting wrapper for tests, and the job state
 * transitions built on get + update: every state change is here.
 *
 * Invariant: every transition is one compare-and-set update of the fields
 * it changes, whose expect mask is the status it read and whose expected
 * attempt is the one it read (or, for a worker's writes, its own), so of
 * two racing writers exactly one wins and the other gets HC_ECONFLICT
 * (then re-reads), and a worker of an older attempt writes nothing once
 * the job was claimed again; a final state is only left by an explicit
 * retry. A job whose request has a callback_url gets its callback
 * armed (cb_state pending, due now, a fresh delivery id) by the same put
 * that makes it final, so the callback never precedes the stored state. */
#include "store/hc_store.h"
#include "store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* How often a transition re-reads after losing a race before giving up. */
enum { TRANSITION_TRIES = 16 };
#define ALL_STATUS_MASK ((1u << HC_JOB_STATUS_COUNT) - 1)

/* ---- backends by name ----------------------------------------------------- */

static const hc_store_backend *const backends[] = {&hc_store_sqlite, &hc_store_mem,
                                                   &hc_store_dynamodb};

/* ---- the field table (store_int.h) ---------------------------------------- */

const store_field store_fields[HC_JOB_F_COUNT] = {
#define FIELD_(id, member, attr, k, mut)                                                           \
    [HC_JOB_F_##id] = {.column = #member,                                                          \
                       .name = attr,                                                               \
                       .kind = STORE_K_##k,                                                        \
                       .off = offsetof(hc_job, member),                                            \
                       .size = sizeof(((hc_job *)0)->member),                                      \
                       .mutable_ = mut},
    HC_JOB_FIELDS(FIELD_)
#undef FIELD_
};

const uint64_t hc_job_fields_mutable = 0
#define MUT_(id, member, attr, kind, mut) | ((uint64_t)(mut) << HC_JOB_F_##id)
    HC_JOB_FIELDS(MUT_)
#undef MUT_
    ;

const char *const store_cb_names[] = {"none", "pending", "delivered", "gave_up", NULL};

const char *const *store_kind_names(store_kind k) {
    switch (k) {
    case STORE_K_STATUS:
        return hc_job_status_names;
    case STORE_K_HW:
        return hc_hardware_names;
    case STORE_K_CB:
        return store_cb_names;
    default:
        return NULL;
    }
}

int store_name_index(const char *const *names, const char *s) {
    for (int i = 0; s && names[i]; i++)
        if (strcmp(names[i], s) == 0) return i;
    return -1;
}

void store_field_copy(hc_job *dst, const hc_job *src, hc_job_field f) {
    const store_field *fd = &store_fields[f];
    char *d = (char *)dst + fd->off;
    const char *sv = (const char *)src + fd->off;
    if (fd->kind == STORE_K_STR)
        hc_job_set_str((char **)(void *)d, *(char *const *)(const void *)sv);
    else
        memcpy(d, sv, fd->size);
}

int store_conflict(const char *job_id, hc_job_status stored, int stored_attempt,
                   unsigned expect_mask, int expect_attempt, hc_err *err) {
    bool known = (int)stored >= 0 && stored < HC_JOB_STATUS_COUNT;
    const char *now = known ? hc_job_status_names[stored] : "in an unknown state";
    if (!known || !(expect_mask & HC_JOB_MASK(stored))) {
        char want[64];
        store_mask_names(expect_mask, want, sizeof want);
        return hc_err_set(err, HC_ECONFLICT, "job %s: is %s, not %s", job_id, now, want);
    }
    return hc_err_set(err, HC_ECONFLICT,
                      "job %s: attempt %d owns it now, not attempt %d (a newer run)", job_id,
                      stored_attempt, expect_attempt);
}

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
                        "store: unknown backend \"%s\" in \"%s\" (expected sqlite:PATH, "
                        "dynamodb:TABLE or mem:)",
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

int hc_store_update(hc_store *s, const char *job_id, uint64_t fields, hc_job *values,
                    unsigned expect_mask, int expect_attempt, hc_err *err) {
    if (!s || !values) return hc_err_set(err, HC_EINVAL, "store: not open or no values");
    int rc = check_id(job_id, err);
    if (rc) return rc;
    if (!fields || (fields & ~hc_job_fields_mutable)) {
        for (int f = 0; f < HC_JOB_F_COUNT; f++)
            if ((fields >> f) & 1 && !store_fields[f].mutable_)
                return hc_err_set(err, HC_EINVAL, "%s: fixed at create, an update cannot write it",
                                  store_fields[f].column);
        return hc_err_set(err, HC_EINVAL, "store: update names no field");
    }
    if ((fields & HC_JOB_FIELD(STATUS)) &&
        ((int)values->status < 0 || values->status >= HC_JOB_STATUS_COUNT))
        return hc_err_set(err, HC_EINVAL, "status: invalid value %d", (int)values->status);
    if ((fields & HC_JOB_FIELD(HARDWARE)) &&
        ((int)values->hardware < 0 || values->hardware >= HC_HW_COUNT))
        return hc_err_set(err, HC_EINVAL, "hardware: invalid value %d", (int)values->hardware);
    if ((fields & HC_JOB_FIELD(CB_STATE)) &&
        ((int)values->cb_state < HC_CB_NONE || values->cb_state > HC_CB_GAVE_UP))
        return hc_err_set(err, HC_EINVAL, "cb_state: invalid value %d", (int)values->cb_state);
    if (!expect_mask || (expect_mask & ~ALL_STATUS_MASK))
        return hc_err_set(err, HC_EINVAL, "store: expect mask 0x%x names no valid status",
                          expect_mask);
    if (expect_attempt < HC_STORE_ANY_ATTEMPT)
        return hc_err_set(err, HC_EINVAL, "store: expected attempt %d is negative", expect_attempt);
    hc_job row = *values; /* shallow: the time is the caller's only on success */
    row.updated_us = hc_wall_us();
    rc = s->backend->update(s, job_id, fields | HC_JOB_FIELD(UPDATED), &row, expect_mask,
                            expect_attempt, err);
    if (rc == 0) values->updated_us = row.updated_us;
    return rc;
}

int hc_store_put(hc_store *s, hc_job *job, unsigned expect_mask, hc_err *err) {
    if (!s) return hc_err_set(err, HC_EINVAL, "store: not open");
    int rc = check_job(job, err);
    if (rc) return rc;
    /* Never the attempt token: only a claim moves it, so no stale copy can
     * hand a job back to an older worker. */
    return hc_store_update(s, job->job_id, hc_job_fields_mutable & ~HC_JOB_FIELD(ATTEMPT), job,
                           expect_mask, HC_STORE_ANY_ATTEMPT, err);
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
    hc_fault fault;
} fault_priv;

/* Count this call; the injected code when it is the one (or later, sticky). */
static int fault_hit(hc_store *s, hc_err *err) {
    fault_priv *p = hc_store_priv(s);
    return hc_fault_hit(&p->fault, "store", p->inner->spec, err);
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

static int fault_update(hc_store *s, const char *job_id, uint64_t fields, const hc_job *values,
                        unsigned expect_mask, int expect_attempt, hc_err *err) {
    int rc = fault_hit(s, err);
    if (rc) return rc;
    /* Straight to the inner backend: the arguments are checked and
     * updated_us is stamped already (once, so the caller sees the stored
     * time). */
    hc_store *inner = ((fault_priv *)hc_store_priv(s))->inner;
    return inner->backend->update(inner, job_id, fields, values, expect_mask, expect_attempt, err);
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
    .update = fault_update,
    .list = fault_list,
    .count = fault_count,
};

int hc_store_fault_wrap(hc_store *inner, int nth, int code, bool sticky, hc_store **out) {
    if (!out) return HC_EINVAL;
    *out = NULL;
    hc_fault f;
    if (!inner || hc_fault_init(&f, nth, code, sticky) != 0) return HC_EINVAL;
    size_t n = strlen(inner->spec) + sizeof "fault:";
    char *spec = hc_xmalloc(n);
    snprintf(spec, n, "fault:%s", inner->spec);
    hc_store *s = store_alloc(&fault_backend, spec);
    free(spec);
    fault_priv *p = hc_store_priv(s);
    p->inner = inner;
    hc_fault_init(&p->fault, nth, code, sticky);
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
    job->cb_delivered_us = 0;
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

/* Read job_id, let edit change it, and write the fields it names back
 * expecting the status and the attempt that were read; on a lost race read
 * again. edit returns 0 to write, or an error (HC_ECONFLICT: the job is not
 * in a state this transition takes). *out (if not NULL) receives the
 * written state. */
typedef int (*edit_fn)(hc_job *job, void *ud, uint64_t *fields, hc_err *err);

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
        int attempt = job.attempt;
        uint64_t fields = 0;
        rc = edit(&job, ud, &fields, err);
        if (rc < 0) goto done;
        /* A lost race leaves no message: only the final answer has one. */
        hc_err local = {0};
        rc = hc_store_update(s, job_id, fields, &job, HC_JOB_MASK(was), attempt, &local);
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

#define F_(id) HC_JOB_FIELD(id)
/* Everything about one run of the job: its progress and where it runs. */
#define RUN_FIELDS                                                                                 \
    (F_(STATUS) | HC_JOB_FIELDS_PROGRESS | F_(STARTED) | F_(FINISHED) | F_(BATCH_JOB_ID))
#define CB_FIELDS (HC_JOB_FIELDS_CALLBACK | F_(CB_DELIVERY))
/* What a final state writes (finish, and requeue when out of attempts). */
#define RESULT_FIELDS                                                                              \
    (F_(STATUS) | HC_JOB_FIELDS_PROGRESS | F_(OUTPUT_URL) | F_(POSTER_URL) | F_(ERROR_CODE) |      \
     F_(ERROR_MESSAGE) | F_(FINISHED) | F_(DURATION_S) | F_(RENDER_S) | F_(ENCODER) |              \
     F_(ENCODER_REASON) | F_(WARNINGS) | CB_FIELDS)

typedef struct claim_arg {
    const char *batch_job_id;
} claim_arg;

static int edit_claim(hc_job *job, void *ud, uint64_t *fields, hc_err *err) {
    const claim_arg *a = ud;
    if (job->status != HC_JOB_QUEUED) return conflict(job, "queued", err);
    job->status = HC_JOB_PROCESSING;
    job->attempts++;
    job->attempt++;
    job->started_us = hc_wall_us();
    job->finished_us = 0;
    job->progress = 0;
    job->frames_done = job->frames_total = 0;
    job->current_step[0] = 0;
    snprintf(job->batch_job_id, sizeof job->batch_job_id, "%s",
             a->batch_job_id ? a->batch_job_id : "");
    *fields = RUN_FIELDS | F_(ATTEMPTS) | F_(ATTEMPT);
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
    int attempt = fresh.attempt;
    uint64_t fields = 0;
    rc = edit_claim(&fresh, &a, &fields, err);
    if (rc < 0) goto done;
    rc = hc_store_update(s, fresh.job_id, fields, &fresh, HC_JOB_MASK(HC_JOB_QUEUED), attempt, err);
    if (rc < 0) goto done;
    hc_job_fini(job);
    *job = fresh;
    memset(&fresh, 0, sizeof fresh);
done:
    hc_job_fini(&fresh);
    return rc;
}

static int edit_cancel(hc_job *job, void *ud, uint64_t *fields, hc_err *err) {
    (void)ud;
    if (hc_job_status_final(job->status)) return conflict(job, "queued or processing", err);
    int64_t now = hc_wall_us();
    job->status = HC_JOB_CANCELED;
    job->finished_us = now;
    job->current_step[0] = 0;
    arm_callback(job, now);
    *fields = F_(STATUS) | F_(FINISHED) | F_(CURRENT_STEP) | CB_FIELDS;
    return 0;
}

int hc_store_cancel(hc_store *s, const char *job_id, hc_job *out, hc_err *err) {
    return transition(s, job_id, edit_cancel, NULL, out, err);
}

static int edit_retry(hc_job *job, void *ud, uint64_t *fields, hc_err *err) {
    (void)ud;
    if (job->status != HC_JOB_FAILED && job->status != HC_JOB_CANCELED)
        return conflict(job, "failed or canceled", err);
    /* Back to a fresh queued job: only the identity, the request, what
     * dispatch needs and the attempt token survive. */
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
    job->cb_delivered_us = 0;
    job->cb_delivery[0] = 0;
    *fields = RESULT_FIELDS | RUN_FIELDS | F_(ATTEMPTS);
    return 0;
}

int hc_store_retry(hc_store *s, const char *job_id, hc_job *out, hc_err *err) {
    return transition(s, job_id, edit_retry, NULL, out, err);
}

typedef struct requeue_arg {
    int max_attempts;
    const char *reason;
} requeue_arg;

static int edit_requeue(hc_job *job, void *ud, uint64_t *fields, hc_err *err) {
    const requeue_arg *a = ud;
    if (job->status != HC_JOB_PROCESSING) return conflict(job, "processing", err);
    job->progress = 0;
    job->frames_done = job->frames_total = 0;
    job->current_step[0] = 0;
    if (job->attempts < a->max_attempts) {
        job->status = HC_JOB_QUEUED;
        job->started_us = 0;
        job->batch_job_id[0] = 0;
        *fields = RUN_FIELDS;
        return 0;
    }
    char msg[512];
    snprintf(msg, sizeof msg, "%s (after %d attempt%s)",
             a->reason && *a->reason ? a->reason : "the worker stopped", job->attempts,
             job->attempts == 1 ? "" : "s");
    hc_job_set_error(job, HC_EINTERNAL, msg);
    arm_callback(job, job->finished_us);
    *fields = RESULT_FIELDS;
    return 0;
}

int hc_store_requeue(hc_store *s, const char *job_id, int max_attempts, const char *reason,
                     hc_err *err) {
    requeue_arg a = {max_attempts, reason};
    return transition(s, job_id, edit_requeue, &a, NULL, err);
}

int hc_store_release(hc_store *s, const char *job_id, int attempt, hc_err *err) {
    hc_job job = {0};
    int rc = hc_store_get(s, job_id, &job, err);
    if (rc < 0) goto done;
    if (job.status != HC_JOB_PROCESSING || job.attempt != attempt) {
        rc = store_conflict(job_id, job.status, job.attempt, HC_JOB_MASK(HC_JOB_PROCESSING),
                            attempt, err);
        goto done;
    }
    /* The attempt is given back, not the token: a worker of this run that
     * is still alive writes nothing once the job is claimed again. */
    job.status = HC_JOB_QUEUED;
    job.attempts = job.attempts > 0 ? job.attempts - 1 : 0;
    job.started_us = 0;
    job.progress = 0;
    job.current_step[0] = 0;
    job.frames_done = job.frames_total = 0;
    job.batch_job_id[0] = 0;
    rc = hc_store_update(s, job_id, RUN_FIELDS | F_(ATTEMPTS), &job, HC_JOB_MASK(HC_JOB_PROCESSING),
                         attempt, err);
done:
    hc_job_fini(&job);
    return rc;
}

int hc_store_progress(hc_store *s, hc_job *job, hc_err *err) {
    if (!job) return hc_err_set(err, HC_EINVAL, "store: job must not be NULL");
    return hc_store_update(s, job->job_id, HC_JOB_FIELDS_PROGRESS, job,
                           HC_JOB_MASK(HC_JOB_PROCESSING), job->attempt, err);
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
    return hc_store_update(s, job->job_id, RESULT_FIELDS, job, HC_JOB_MASK(HC_JOB_PROCESSING),
                           job->attempt, err);
}

int hc_store_callback_result(hc_store *s, hc_job *job, hc_err *err) {
    if (!job) return hc_err_set(err, HC_EINVAL, "store: job must not be NULL");
    if ((int)job->status < 0 || job->status >= HC_JOB_STATUS_COUNT ||
        !hc_job_status_final(job->status))
        return hc_err_set(err, HC_EINVAL, "job %s: a callback result needs a final status",
                          job->job_id);
    return hc_store_update(s, job->job_id, HC_JOB_FIELDS_CALLBACK, job, HC_JOB_MASK(job->status),
                           job->attempt, err);
}
