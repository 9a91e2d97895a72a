/* The in-memory job store ("mem:"): the fake every store user can test
 * against, and the reference the contract suite holds the other backends to.
 * Nothing survives the process; one store is not shared between processes.
 *
 * Invariant: one mutex guards everything; jobs are kept in insertion (seq)
 * order in one array, found by id through an open-addressing index, and are
 * never removed, so the index only grows. */
#include "store/hc_store.h"
#include "store/store_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct mem_priv {
    pthread_mutex_t lock;
    hc_job *jobs; /* seq order: jobs[i].seq == i + 1 */
    size_t n, cap;
    size_t *slots; /* index + 1 of a job, 0 = empty; a power of two */
    size_t n_slots;
} mem_priv;

static uint64_t hash_id(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

/* The slot holding job_id, or the empty slot where it would go. */
static size_t *find_slot(mem_priv *p, const char *job_id) {
    size_t mask = p->n_slots - 1;
    for (size_t i = (size_t)hash_id(job_id) & mask;; i = (i + 1) & mask) {
        size_t *slot = &p->slots[i];
        if (!*slot || strcmp(p->jobs[*slot - 1].job_id, job_id) == 0) return slot;
    }
}

static hc_job *find(mem_priv *p, const char *job_id) {
    size_t *slot = find_slot(p, job_id);
    return *slot ? &p->jobs[*slot - 1] : NULL;
}

/* Make room for one more job (the index stays under half full). */
static void grow(mem_priv *p) {
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        hc_job *v = realloc(p->jobs, p->cap * sizeof *v);
        if (!v) abort();
        p->jobs = v;
    }
    if (2 * (p->n + 1) > p->n_slots) {
        free(p->slots);
        p->n_slots = p->n_slots ? p->n_slots * 2 : 128;
        p->slots = hc_xcalloc(p->n_slots, sizeof *p->slots);
        for (size_t i = 0; i < p->n; i++)
            *find_slot(p, p->jobs[i].job_id) = i + 1;
    }
}

static int mem_open(hc_store *s, const char *arg, hc_err *err) {
    (void)arg;
    (void)err;
    mem_priv *p = hc_store_priv(s);
    pthread_mutex_init(&p->lock, NULL);
    grow(p);
    return 0;
}

static void mem_close(hc_store *s) {
    mem_priv *p = hc_store_priv(s);
    for (size_t i = 0; i < p->n; i++)
        hc_job_fini(&p->jobs[i]);
    free(p->jobs);
    free(p->slots);
    pthread_mutex_destroy(&p->lock);
}

static int mem_create(hc_store *s, hc_job *job, hc_job *existing, hc_err *err) {
    mem_priv *p = hc_store_priv(s);
    int rc = 0;
    pthread_mutex_lock(&p->lock);
    hc_job *old = find(p, job->job_id);
    if (old) {
        if (existing) hc_job_copy(existing, old);
        rc = hc_err_set(err, HC_EEXISTS, "job %s: already exists", job->job_id);
        goto done;
    }
    grow(p);
    int64_t now = hc_wall_us();
    job->seq = (int64_t)p->n + 1;
    if (!job->created_us) job->created_us = now;
    job->updated_us = now;
    hc_job_copy(&p->jobs[p->n], job);
    *find_slot(p, job->job_id) = ++p->n;
done:
    pthread_mutex_unlock(&p->lock);
    return rc;
}

static int mem_get(hc_store *s, const char *job_id, hc_job *out, hc_err *err) {
    mem_priv *p = hc_store_priv(s);
    int rc = 0;
    pthread_mutex_lock(&p->lock);
    hc_job *j = find(p, job_id);
    if (j)
        hc_job_copy(out, j);
    else
        rc = hc_err_set(err, HC_ENOTFOUND, "job %s: not found", job_id);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

static int mem_update(hc_store *s, const char *job_id, uint64_t fields, const hc_job *values,
                      unsigned expect_mask, int expect_attempt, hc_err *err) {
    mem_priv *p = hc_store_priv(s);
    int rc = 0;
    pthread_mutex_lock(&p->lock);
    hc_job *j = find(p, job_id);
    if (!j) {
        rc = hc_err_set(err, HC_ENOTFOUND, "job %s: not found", job_id);
        goto done;
    }
    if (!(expect_mask & HC_JOB_MASK(j->status)) ||
        (expect_attempt != HC_STORE_ANY_ATTEMPT && j->attempt != expect_attempt)) {
        rc = store_conflict(job_id, j->status, j->attempt, expect_mask, expect_attempt, err);
        goto done;
    }
    for (int f = 0; f < HC_JOB_F_COUNT; f++)
        if ((fields >> f) & 1) store_field_copy(j, values, (hc_job_field)f);
done:
    pthread_mutex_unlock(&p->lock);
    return rc;
}

static bool matches(const hc_store_query *q, const hc_job *j) {
    if (q->status_mask && !(q->status_mask & HC_JOB_MASK(j->status))) return false;
    if (q->callbacks_due && (j->cb_state != HC_CB_PENDING || j->cb_next_us > q->now_us))
        return false;
    return true;
}

/* Queue order: priority descending, then seq ascending. */
static int queue_cmp(const void *a, const void *b) {
    const hc_job *x = *(const hc_job *const *)a, *y = *(const hc_job *const *)b;
    if (x->priority != y->priority) return x->priority > y->priority ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Is j strictly after the cursor in order? */
static bool after_cursor(hc_store_order order, const store_cursor *c, const hc_job *j) {
    if (!c->set) return true;
    if (order == HC_STORE_ORDER_NEWEST) return j->seq < c->seq;
    return j->priority < c->priority || (j->priority == c->priority && j->seq > c->seq);
}

static int mem_list(hc_store *s, const hc_store_query *q, hc_job_list *out, hc_err *err) {
    mem_priv *p = hc_store_priv(s);
    store_cursor c;
    int rc = store_cursor_parse(q, &c, err);
    if (rc) return rc;
    pthread_mutex_lock(&p->lock);
    const hc_job **pick = hc_xcalloc(p->n, sizeof *pick);
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++) {
        /* Newest first: walk the seq-ordered array backwards. */
        const hc_job *j = &p->jobs[q->order == HC_STORE_ORDER_NEWEST ? p->n - 1 - i : i];
        if (matches(q, j) && after_cursor(q->order, &c, j)) pick[n++] = j;
    }
    if (q->order == HC_STORE_ORDER_QUEUE) qsort(pick, n, sizeof *pick, queue_cmp);
    size_t take = n < (size_t)q->limit ? n : (size_t)q->limit;
    out->v = hc_xcalloc(take, sizeof *out->v);
    for (size_t i = 0; i < take; i++)
        hc_job_copy(&out->v[i], pick[i]);
    out->n = (int)take;
    if (take == (size_t)q->limit)
        store_cursor_format(q->order, &out->v[take - 1], out->next_cursor, sizeof out->next_cursor);
    pthread_mutex_unlock(&p->lock);
    free(pick);
    return 0;
}

static int mem_count(hc_store *s, int64_t counts[HC_JOB_STATUS_COUNT], hc_err *err) {
    (void)err;
    mem_priv *p = hc_store_priv(s);
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->n; i++)
        counts[p->jobs[i].status]++;
    pthread_mutex_unlock(&p->lock);
    return 0;
}

const hc_store_backend hc_store_mem = {
    .name = "mem",
    .priv_size = sizeof(mem_priv),
    .open = mem_open,
    .close = mem_close,
    .create = mem_create,
    .get = mem_get,
    .update = mem_update,
    .list = mem_list,
    .count = mem_count,
};
