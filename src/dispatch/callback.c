/* Completion callbacks (DESIGN.md §9): the notifier threads and the
 * signature.
 *
 * The store is the queue: a job whose final state was written with a
 * callback_url has cb_state pending and cb_next_us due. The notifier lists
 * due jobs (when woken, else every POLL_MS), POSTs each body once, and
 * writes the outcome back (hc_store_callback_result: the delivery fields
 * only) with a compare-and-set on the job's final status and attempt:
 * delivered (with the time) on a 2xx; otherwise cb_attempts+1, the reason in
 * cb_last_error and the next try after backoff_ms * 2^(attempts-1), or
 * gave-up after cfg->callback_attempts. The delivery id is the same on
 * every retry of one final state, so receivers can drop duplicates.
 *
 * Invariants:
 *  - a callback is only sent for a final state already stored (the store
 *    arms it in the same write), so polling and callbacks never disagree;
 *  - the secret is never logged, and is in the body only when
 *    cfg->callback_secret_in_body asks for it (the original's receivers);
 *  - callback URLs pass the private-address guard (HC_URL_ALLOW); a
 *    refused address is not retried (it will not change);
 *  - redirects are not followed: a 3xx is a failed attempt. */
#include "dispatch/hc_dispatch.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COMP            "callback"
#define POLL_MS         500
#define TIMEOUT_MS      10000
#define CONNECT_MS      5000
#define BATCH           32
#define WARNED_SLOTS    64
#define THREADS         4 /* deliveries in flight at once: a slow receiver holds one */
#define MAX_BACKOFF_US  (6LL * 3600 * 1000000) /* a retry is never further away */
#define RESP_KEEP_BYTES 200                    /* of a failed response, for cb_last_error */

typedef struct notifier_thread {
    struct hc_notifier *n;
    int slot; /* its row in inflight */
} notifier_thread;

struct hc_notifier {
    const hc_config *cfg;
    hc_store *store;
    hc_storage *storage; /* signs the links in bodies (NULL: as stored) */
    pthread_t threads[THREADS];
    notifier_thread args[THREADS];
    int n_threads;
    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t cv;
    bool wake, stop;
    int64_t next_due_us; /* earliest retry scheduled (wall), 0 = none */
    /* Jobs being delivered now, one per thread ("" = free): never two
     * deliveries of one callback at once. */
    char inflight[THREADS][HC_MAX_JOB_ID_LEN + 1];
    /* Jobs already warned about an unsigned callback (a small ring). */
    char warned[WARNED_SLOTS][HC_MAX_JOB_ID_LEN + 1];
    int warned_next;
    int64_t deadline_us; /* hc_notifier_run_once: no delivery starts after it (wall), 0 = none */
};

void hc_callback_signature(const char *secret, int64_t t, const char *body, size_t len, char *out,
                           size_t out_len) {
    if (!out || out_len == 0) return;
    out[0] = 0;
    if (!secret) return;
    char ts[32];
    int tl = snprintf(ts, sizeof ts, "%lld.", (long long)t);
    char *msg = hc_xmalloc((size_t)tl + len + 1);
    memcpy(msg, ts, (size_t)tl);
    if (len) memcpy(msg + tl, body, len);
    char hex[65];
    hc_hmac_sha256_hex(secret, msg, (size_t)tl + len, hex);
    free(msg);
    snprintf(out, out_len, "t=%lld,v1=%s", (long long)t, hex);
}

/* ---- one delivery ----------------------------------------------------------- */

/* The request's callback URL and secret (copies into *url, *secret;
 * NULL when absent). */
static void request_callback(const hc_job *job, char **url, char **secret) {
    *url = *secret = NULL;
    json_t *root = job->request ? json_loads(job->request, 0, NULL) : NULL;
    const char *u = json_string_value(json_object_get(root, "callback_url"));
    const char *s = json_string_value(json_object_get(root, "callback_secret"));
    if (u && *u) *url = hc_strdup(u);
    if (s && *s) *secret = hc_strdup(s);
    json_decref(root);
}

/* Was this job's missing secret already reported? Marks it if not. */
static bool warned_once(hc_notifier *n, const char *job_id) {
    bool seen = false;
    pthread_mutex_lock(&n->mu);
    for (int i = 0; i < WARNED_SLOTS && !seen; i++)
        seen = strcmp(n->warned[i], job_id) == 0;
    if (!seen) {
        snprintf(n->warned[n->warned_next], sizeof n->warned[0], "%s", job_id);
        n->warned_next = (n->warned_next + 1) % WARNED_SLOTS;
    }
    pthread_mutex_unlock(&n->mu);
    return seen;
}

static const char *event_name(hc_job_status st) {
    switch (st) {
    case HC_JOB_COMPLETED:
        return "render.completed";
    case HC_JOB_CANCELED:
        return "render.canceled";
    default:
        return "render.failed";
    }
}

/* POST body to url (one attempt: the notifier keeps its own schedule in
 * the store). Returns 0 on a 2xx; else a negative code with why in
 * *why_out. *final set when retrying cannot help (refused address). */
static int post(hc_notifier *n, const char *url, const char *body, const char *const *headers,
                char *why, size_t why_len, bool *final) {
    *final = false;
    hc_httpc_policy pol = {.name = "callback_url",
                           .guard = true,
                           .url_allow = n->cfg->url_allow,
                           .connect_timeout_ms = CONNECT_MS,
                           .timeout_ms = TIMEOUT_MS,
                           .max_attempts = 1,
                           .max_body_bytes = 64 * 1024};
    hc_httpc_req req = {.method = "POST", .url = url, .headers = headers, .body = body,
                        .body_len = strlen(body)};
    hc_httpc_resp r;
    hc_err err = {0};
    int rc = hc_httpc_do(&pol, &req, &r, &err);
    if (rc == HC_ETOOBIG) rc = 0; /* a chatty receiver: its status is what counts */
    if (rc != 0) {
        hc_httpc_resp_fini(&r);
        if (rc == HC_EINVAL) {
            *final = true;
            snprintf(why, why_len, "%s%.480s", strncmp(err.msg, "callback_url", 12) ? "callback_url: " : "",
                     err.msg);
        } else {
            snprintf(why, why_len, "%.500s", err.msg);
        }
        return rc;
    }
    long status = r.status;
    if (status >= 200 && status < 300) {
        hc_httpc_resp_fini(&r);
        return 0;
    }
    /* Keep a printable start of the receiver's answer: it often says why. */
    char head[RESP_KEEP_BYTES + 1];
    size_t k = r.body.n < RESP_KEEP_BYTES ? r.body.n : RESP_KEEP_BYTES;
    memcpy(head, r.body.p, k);
    head[k] = 0;
    for (size_t i = 0; i < k; i++)
        if ((unsigned char)head[i] < 0x20) head[i] = ' ';
    while (k > 0 && head[k - 1] == ' ')
        head[--k] = 0;
    hc_httpc_resp_fini(&r);
    snprintf(why, why_len, "HTTP %ld%s%s", status, k ? ": " : "", head);
    return HC_ENET;
}

/* Deliver job's callback once and record the outcome. */
static void deliver(hc_notifier *n, hc_job *job) {
    const hc_config *cfg = n->cfg;
    hc_log_set_job(job->job_id);
    char *url = NULL, *req_secret = NULL;
    request_callback(job, &url, &req_secret);
    const char *secret = req_secret                                      ? req_secret
                         : cfg->callback_secret && *cfg->callback_secret ? cfg->callback_secret
                                                                         : NULL;
    char shown[512] = "";
    if (url) hc_url_redact(url, shown, sizeof shown);

    int64_t now = hc_wall_us();
    char why[512] = "";
    bool final = false;
    int rc;
    if (!url) {
        snprintf(why, sizeof why, "the request has no callback_url");
        final = true;
        rc = HC_EINVAL;
    } else {
        /* Only the request's own secret ever goes in a body: the server's
         * CALLBACK_SECRET signs every client's callbacks and must not reach
         * a URL a client chose. */
        /* The links as a status read hands them out: a plain S3 object URL
         * opens nothing in a private bucket. */
        hc_job shown_job = *job; /* shallow: only the two links differ */
        char *links[2] = {NULL, NULL};
        const char *stored[2] = {job->output_url, job->poster_url};
        for (int k = 0; k < 2 && n->storage; k++) {
            hc_err lerr = {0};
            if (stored[k] && hc_storage_sign_url(n->storage, stored[k],
                                                 cfg->presign_ttl_s > 0 ? cfg->presign_ttl_s : 3600,
                                                 &links[k], &lerr) != 0)
                HC_WARN(COMP, "callback link left unsigned: %s", lerr.msg);
        }
        if (links[0]) shown_job.output_url = links[0];
        if (links[1]) shown_job.poster_url = links[1];
        char *body =
            hc_job_callback_json(&shown_job, cfg->callback_secret_in_body ? req_secret : NULL);
        free(links[0]);
        free(links[1]);
        char h_event[64], h_delivery[80], h_sig[128];
        snprintf(h_event, sizeof h_event, "X-Hydra-Event: %s", event_name(job->status));
        snprintf(h_delivery, sizeof h_delivery, "X-Hydra-Delivery: %s", job->cb_delivery);
        const char *headers[5] = {"Content-Type: application/json", h_event, h_delivery, NULL,
                                  NULL};
        if (secret) {
            char sig[100];
            hc_callback_signature(secret, now / 1000000, body, strlen(body), sig, sizeof sig);
            snprintf(h_sig, sizeof h_sig, "X-Hydra-Signature: %s", sig);
            headers[3] = h_sig;
        } else if (!warned_once(n, job->job_id)) {
            HC_WARN(COMP,
                    "no callback_secret in the request and no CALLBACK_SECRET: the callback to "
                    "%s is sent unsigned",
                    shown);
        }
        int64_t t0 = hc_now_us();
        rc = post(n, url, body, headers, why, sizeof why, &final);
        free(body);
        HC_DEBUG(COMP, "POST %s: %s in %lld ms", shown, rc == 0 ? "ok" : why,
                 (long long)((hc_now_us() - t0) / 1000));
    }

    job->cb_attempts++;
    if (rc == 0) {
        job->cb_state = HC_CB_DELIVERED;
        job->cb_next_us = 0;
        job->cb_delivered_us = hc_wall_us();
        hc_job_set_str(&job->cb_last_error, NULL);
        HC_INFO(COMP, "delivered %s to %s (attempt %d)", event_name(job->status), shown,
                job->cb_attempts);
    } else {
        hc_job_set_str(&job->cb_last_error, why);
        if (final || job->cb_attempts >= cfg->callback_attempts) {
            job->cb_state = HC_CB_GAVE_UP;
            job->cb_next_us = 0;
            HC_WARN(COMP, "callback to %s failed (%s); gave up after %d attempt(s)", shown, why,
                    job->cb_attempts);
        } else {
            int64_t delay_us =
                (int64_t)(cfg->callback_backoff_ms > 0 ? cfg->callback_backoff_ms : 1000) * 1000;
            for (int k = 1; k < job->cb_attempts && delay_us < MAX_BACKOFF_US; k++)
                delay_us *= 2;
            if (delay_us > MAX_BACKOFF_US) delay_us = MAX_BACKOFF_US;
            job->cb_next_us = hc_wall_us() + delay_us;
            pthread_mutex_lock(&n->mu);
            if (!n->next_due_us || job->cb_next_us < n->next_due_us)
                n->next_due_us = job->cb_next_us;
            pthread_mutex_unlock(&n->mu);
            HC_WARN(COMP, "callback to %s failed (%s); retry %d of %d in %lld ms", shown, why,
                    job->cb_attempts + 1, cfg->callback_attempts, (long long)(delay_us / 1000));
        }
    }
    hc_err err = {0};
    int prc = hc_store_callback_result(n->store, job, &err);
    if (prc == HC_ECONFLICT)
        HC_INFO(COMP, "the job changed meanwhile (retried?): delivery state not recorded");
    else if (prc != 0)
        HC_ERROR(COMP, "cannot record the delivery state: %s", err.msg);
    free(url);
    free(req_secret);
    hc_log_set_job(NULL);
}

/* ---- the thread ------------------------------------------------------------- */

/* Deliver everything due now. Returns true if a full batch was seen (more
 * may be due at once). */
/* Mark job_id in flight for this thread (slot); false if another thread
 * is delivering it. */
static bool take(hc_notifier *n, int slot, const char *job_id) {
    bool busy = false;
    pthread_mutex_lock(&n->mu);
    for (int k = 0; k < n->n_threads && !busy; k++)
        busy = k != slot && strcmp(n->inflight[k], job_id) == 0;
    if (!busy) snprintf(n->inflight[slot], sizeof n->inflight[slot], "%s", job_id);
    pthread_mutex_unlock(&n->mu);
    return !busy;
}

static void release(hc_notifier *n, int slot) {
    pthread_mutex_lock(&n->mu);
    n->inflight[slot][0] = 0;
    pthread_mutex_unlock(&n->mu);
}

static bool deliver_due(hc_notifier *n, int slot) {
    hc_store_query q = {.order = HC_STORE_ORDER_QUEUE,
                        .limit = BATCH,
                        .callbacks_due = true,
                        .now_us = hc_wall_us()};
    hc_job_list list = {0};
    hc_err err = {0};
    if (hc_store_list(n->store, &q, &list, &err) != 0) {
        HC_ERROR(COMP, "cannot list due callbacks: %s", err.msg);
        return false;
    }
    int i = 0, delivered = 0;
    for (; i < list.n; i++) {
        pthread_mutex_lock(&n->mu);
        bool stop = n->stop;
        pthread_mutex_unlock(&n->mu);
        if (stop || (n->deadline_us && hc_wall_us() + TIMEOUT_MS * 1000LL > n->deadline_us)) break;
        /* The list may be seconds old (deliveries before this one took
         * up to 10 s each): deliver from the stored state, and only if the
         * same callback is still pending. */
        hc_job fresh = {0};
        const hc_job *seen = &list.v[i];
        if (!take(n, slot, seen->job_id)) continue; /* another thread has it */
        hc_err gerr = {0};
        if (hc_store_get(n->store, seen->job_id, &fresh, &gerr) == 0 &&
            fresh.cb_state == HC_CB_PENDING && fresh.status == seen->status &&
            strcmp(fresh.cb_delivery, seen->cb_delivery) == 0) {
            deliver(n, &fresh);
            delivered++;
        }
        hc_job_fini(&fresh);
        release(n, slot);
    }
    /* A full batch may hide more due now; one whose jobs were all taken by
     * other threads does not (waiting avoids spinning on them). */
    bool more = list.n == BATCH && i == list.n && delivered > 0;
    hc_job_list_fini(&list);
    return more;
}

static void *notifier_main(void *arg) {
    notifier_thread *t = arg;
    hc_notifier *n = t->n;
    for (;;) {
        bool more = deliver_due(n, t->slot);
        /* Sleep until woken, the next poll, or a scheduled retry,
         * whichever comes first (retries can be closer than a poll). */
        pthread_mutex_lock(&n->mu);
        int64_t wait_us = POLL_MS * 1000LL, now = hc_wall_us();
        if (n->next_due_us && n->next_due_us - now < wait_us) {
            wait_us = n->next_due_us - now;
            if (wait_us <= 0) {
                wait_us = 0;
                n->next_due_us = 0;
            }
        }
        if (!n->stop && !n->wake && !more && wait_us > 0) {
            struct timespec ts;
            hc_cond_deadline(&ts, wait_us);
            pthread_cond_timedwait(&n->cv, &n->mu, &ts);
        }
        n->wake = false;
        bool stop = n->stop;
        pthread_mutex_unlock(&n->mu);
        if (stop) break;
    }
    return NULL;
}

int hc_notifier_start(const hc_config *cfg, hc_store *store, hc_storage *storage, hc_notifier **out,
                      hc_err *err) {
    *out = NULL;
    if (!cfg || !store) return hc_err_set(err, HC_EINVAL, "notifier: missing config or store");
    hc_notifier *n = hc_xcalloc(1, sizeof *n);
    n->cfg = cfg;
    n->store = store;
    n->storage = storage;
    pthread_mutex_init(&n->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&n->cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc = 0;
    for (int k = 0; k < THREADS; k++) {
        n->args[k] = (notifier_thread){.n = n, .slot = k};
        /* n_threads is read by take() under mu, as threads start. */
        pthread_mutex_lock(&n->mu);
        rc = pthread_create(&n->threads[k], NULL, notifier_main, &n->args[k]);
        if (rc == 0) n->n_threads++;
        pthread_mutex_unlock(&n->mu);
        if (rc != 0) break;
    }
    if (n->n_threads == 0) {
        pthread_cond_destroy(&n->cv);
        pthread_mutex_destroy(&n->mu);
        free(n);
        return hc_err_set(err, HC_EINTERNAL, "notifier: cannot start its thread: %s", strerror(rc));
    }
    *out = n;
    return 0;
}

void hc_notifier_wake(hc_notifier *n) {
    if (!n) return;
    pthread_mutex_lock(&n->mu);
    n->wake = true;
    pthread_cond_signal(&n->cv); /* one thread lists what is due; the others poll */
    pthread_mutex_unlock(&n->mu);
}

void hc_notifier_stop(hc_notifier *n) {
    if (!n) return;
    pthread_mutex_lock(&n->mu);
    n->stop = true;
    pthread_cond_broadcast(&n->cv);
    int threads = n->n_threads;
    pthread_mutex_unlock(&n->mu);
    for (int k = 0; k < threads; k++)
        pthread_join(n->threads[k], NULL);
    pthread_cond_destroy(&n->cv);
    pthread_mutex_destroy(&n->mu);
    free(n);
}

int hc_notifier_run_once(const hc_config *cfg, hc_store *store, hc_storage *storage,
                         int64_t deadline_us, hc_err *err) {
    if (!cfg || !store) return hc_err_set(err, HC_EINVAL, "notifier: missing config or store");
    /* A notifier without threads: slot 0 is this caller's. */
    hc_notifier *n = hc_xcalloc(1, sizeof *n);
    n->cfg = cfg;
    n->store = store;
    n->storage = storage;
    n->deadline_us = deadline_us;
    pthread_mutex_init(&n->mu, NULL);
    while (deliver_due(n, 0) && (!deadline_us || hc_wall_us() < deadline_us)) {
    }
    pthread_mutex_destroy(&n->mu);
    free(n);
    return 0;
}

int hc_callback_deliver_now(const hc_config *cfg, hc_store *store, hc_storage *storage,
                            const char *job_id) {
    if (!cfg || !store || !job_id) return HC_EINVAL;
    hc_notifier n = {.cfg = cfg, .store = store, .storage = storage};
    pthread_mutex_init(&n.mu, NULL);
    hc_job job = {0};
    hc_err err = {0};
    int rc = hc_store_get(store, job_id, &job, &err);
    bool due = rc == 0 && job.cb_state == HC_CB_PENDING && job.cb_next_us <= hc_wall_us();
    if (due) {
        /* Lease it first: a notifier of a server on the same store sees it
         * not due while this delivery is in flight. */
        int64_t due_at = job.cb_next_us;
        job.cb_next_us = hc_wall_us() + (int64_t)(TIMEOUT_MS + CONNECT_MS) * 1000 * 2;
        due = hc_store_update(store, job_id, HC_JOB_FIELD(CB_NEXT) | HC_JOB_FIELD(UPDATED), &job,
                              HC_JOB_MASK(job.status), job.attempt, &err) == 0;
        job.cb_next_us = due_at;
    }
    if (due) deliver(&n, &job);
    if (rc == 0 && due) {
        hc_job after = {0};
        rc = hc_store_get(store, job_id, &after, &err);
        if (rc == 0) rc = after.cb_state == HC_CB_PENDING ? HC_ENET : 0;
        hc_job_fini(&after);
    }
    hc_job_fini(&job);
    pthread_mutex_destroy(&n.mu);
    return rc;
}
