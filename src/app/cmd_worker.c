/* `hydra-compose worker [JOB_ID]`: run one job from the configured store to
 * its final state and exit (DESIGN.md §1, §11 step 3, §12).
 *
 * With JOB_ID (the local executor, or an operator on a job they claimed)
 * the job must be processing. Without it this is the AWS Batch entry point:
 *  1. SECRETS_NAME: the Secrets Manager secret's members are exported into
 *     the environment before anything else reads it (REPLACE_ME skipped,
 *     values never logged), so CALLBACK_SECRET and the rest apply;
 *  2. the job is HC_JOB_ID, or the original engine's BATCH_JOB_PARAMETERS
 *     (the whole request): that job is created when not stored, then
 *     claimed under AWS_BATCH_JOB_ID;
 *  3. under AWS_BATCH_JOB_ID (and AWS_BATCH_JOB_ATTEMPT, logged with it)
 *     the worker runs only the job whose batch_job_id is that id: a late
 *     or duplicate worker (the job final, or moved to another Batch job)
 *     changes nothing and exits 0; a job still queued is waited for a
 *     moment (the executor records the id just after SubmitJob);
 *  4. render, upload, final state, then the signed callback (one attempt
 *     here; retries are scheduled in the store for the notifier).
 * Exit 0 completed (or nothing to do), 2 invalid request or media, 3
 * transient (store or secret unreachable, SIGTERM: Batch retries it), 1
 * any other failure. */
#include "app/app.h"
#include "cloud/hc_cloud.h"
#include "core/hc_core.h"
#include "dispatch/hc_dispatch.h"
#include "store/hc_store.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMP         "worker"
#define CLAIM_WAIT_S 30 /* a Batch job may start before its id is recorded */

static void help(FILE *f) {
    fputs("usage: hydra-compose worker [--store SPEC] [--storage SPEC] [--data-dir DIR]\n"
          "                            [--public-url URL] [--url-allow LIST] ... [[--] JOB_ID]\n"
          "\n"
          "Run the job JOB_ID, already claimed (processing) in the store, to its final\n"
          "state: render into the storage, write progress every 500 ms, stop when the\n"
          "job is canceled in the store or on SIGTERM. Settings as for `serve`\n"
          "(environment or flags; see `hydra-compose serve --help`).\n"
          "\n"
          "Without JOB_ID (the AWS Batch entry point): the job is HC_JOB_ID, or the\n"
          "request in BATCH_JOB_PARAMETERS (created when not stored); SECRETS_NAME names a\n"
          "Secrets Manager secret exported to the environment first; under\n"
          "AWS_BATCH_JOB_ID only the job submitted as that Batch job is run.\n"
          "\n"
          "exit codes: 0 completed, 2 invalid request or unusable media, 3 transient\n"
          "(worth another attempt), 1 other failure\n",
          f);
}

static int transient_or(int rc, int otherwise) {
    return rc == HC_ENET || rc == HC_ETIMEOUT || rc == HC_EIO || rc == HC_ETRANSIENT ? 3
                                                                                      : otherwise;
}

/* SECRETS_NAME into the environment. 0 or an exit code. */
static int load_secrets(void) {
    const char *name = getenv("SECRETS_NAME");
    if (!name || !*name) return 0;
    hc_aws *aws = NULL;
    hc_err err = {0};
    int n = 0;
    int rc = hc_aws_open(&aws, &err);
    if (rc == 0) rc = hc_secrets_export(aws, name, &n, &err);
    hc_aws_close(aws);
    if (rc != 0) {
        HC_ERROR(COMP, "cannot load the secrets: %s", err.msg);
        return transient_or(rc, 1);
    }
    HC_INFO(COMP, "%d setting(s) loaded from the secret %s", n, name);
    return 0;
}

/* BATCH_JOB_PARAMETERS: the job of that request, created when not stored. */
static int job_from_parameters(hc_store *store, const char *body, char *job_id, size_t len) {
    hc_request *req = NULL;
    hc_err err = {0};
    hc_request_opts ro = {.allow_local_files = false};
    int rc = hc_request_parse(body, strlen(body), &ro, &req, &err);
    if (rc != 0) {
        HC_ERROR(COMP, "BATCH_JOB_PARAMETERS: %s", err.msg);
        return 2;
    }
    hc_job job = {0}, existing = {0};
    hc_job_from_request(&job, req);
    hc_request_free(req);
    snprintf(job_id, len, "%s", job.job_id);
    rc = hc_store_create(store, &job, &existing, &err);
    int code = 0;
    if (rc == HC_EEXISTS) {
        if (strcmp(existing.request_sha256, job.request_sha256) != 0) {
            hc_log_set_job(job_id);
            HC_ERROR(COMP, "BATCH_JOB_PARAMETERS: job_id %s is stored with a different request",
                     job_id);
            code = 2;
        }
    } else if (rc != 0) {
        HC_ERROR(COMP, "cannot store the job %s: %s", job_id, err.msg);
        code = transient_or(rc, 1);
    } else {
        hc_log_set_job(job_id);
        HC_INFO(COMP, "job created from BATCH_JOB_PARAMETERS");
    }
    hc_log_set_job(NULL);
    hc_job_fini(&job);
    hc_job_fini(&existing);
    return code;
}

/* Under AWS_BATCH_JOB_ID: make sure job_id is ours to run (claiming it
 * when it is queued and nobody submitted it, the BATCH_JOB_PARAMETERS
 * case). 0 run it, -1 nothing to do, else an exit code. */
static int batch_fence(hc_store *store, const char *job_id, const char *batch_id, bool may_claim) {
    double until = (double)hc_now_us() / 1e6 + CLAIM_WAIT_S;
    for (;;) {
        hc_job job = {0};
        hc_err err = {0};
        int rc = hc_store_get(store, job_id, &job, &err);
        if (rc != 0) {
            HC_ERROR(COMP, "cannot read the job: %s", err.msg);
            return rc == HC_ENOTFOUND ? 1 : 3;
        }
        int out = 1;
        bool wait = false;
        if (hc_job_status_final(job.status)) {
            HC_INFO(COMP, "the job is already %s: nothing to do (late or duplicate worker)",
                    hc_job_status_names[job.status]);
            out = -1;
        } else if (job.status == HC_JOB_PROCESSING) {
            if (strcmp(job.batch_job_id, batch_id) == 0) {
                out = 0;
            } else {
                HC_INFO(COMP, "the job runs as %s, not %s: nothing to do (late or duplicate "
                        "worker)", job.batch_job_id[0] ? job.batch_job_id : "(none)", batch_id);
                out = -1;
            }
        } else if (may_claim) {
            rc = hc_store_claim(store, &job, batch_id, &err);
            if (rc == 0) out = 0;
            else if (rc == HC_ECONFLICT) wait = true; /* read again */
            else {
                HC_ERROR(COMP, "cannot claim the job: %s", err.msg);
                out = transient_or(rc, 1);
            }
        } else {
            wait = true; /* queued: the executor records our id just after SubmitJob */
        }
        hc_job_fini(&job);
        if (!wait) return out;
        if ((double)hc_now_us() / 1e6 >= until) {
            HC_ERROR(COMP, "the job is still not claimed as %s after %d s", batch_id,
                     CLAIM_WAIT_S);
            return 3;
        }
        usleep(200 * 1000);
    }
}

int hc_cmd_worker(int argc, char **argv) {
    /* --help anywhere before "--" (after it, everything is the job id). */
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            help(stdout);
            return 0;
        }
    /* Secrets first: they may hold any setting (CALLBACK_SECRET, store). */
    int code = load_secrets();
    if (code != 0) return code;
    hc_config cfg;
    hc_err err = {0};
    int rest = 0;
    if (hc_app_load_config("worker", &cfg, argc, argv, &rest)) return 2;
    /* "worker JOB_ID", "worker -- JOB_ID", or "worker" (the Batch entry). */
    bool dashed = rest == 2 && strcmp(argv[0], "--") == 0;
    bool entry = rest == 0 || (rest == 1 && strcmp(argv[0], "--") == 0);
    if (!dashed && !entry && (rest != 1 || argv[0][0] == '-')) {
        fprintf(stderr, "hydra-compose worker: unexpected argument %s\n",
                argv[0][0] == '-' ? argv[0] : argv[1]);
        help(stderr);
        hc_config_fini(&cfg);
        return 2;
    }
    const char *env_job = getenv("HC_JOB_ID"), *params = getenv("BATCH_JOB_PARAMETERS");
    if (entry && !(env_job && *env_job) && !(params && *params)) {
        fprintf(stderr, "hydra-compose worker: which job? (JOB_ID, HC_JOB_ID or "
                        "BATCH_JOB_PARAMETERS)\n");
        help(stderr);
        hc_config_fini(&cfg);
        return 2;
    }
    char job_id[HC_MAX_JOB_ID_LEN + 1];
    snprintf(job_id, sizeof job_id, "%s",
             entry ? (env_job && *env_job ? env_job : "") : argv[dashed ? 1 : 0]);
    hc_store *store = NULL;
    int rc = hc_store_open(cfg.store, &store, &err);
    if (rc != 0) {
        hc_log_set_job(job_id[0] ? job_id : NULL);
        HC_ERROR(COMP, "cannot open the job store %s: %s", cfg.store, err.msg);
        hc_log_set_job(NULL);
        hc_config_fini(&cfg);
        return transient_or(rc, 1);
    }
    if (entry && !job_id[0]) code = job_from_parameters(store, params, job_id, sizeof job_id);

    const char *batch_id = entry ? getenv("AWS_BATCH_JOB_ID") : NULL;
    char own_id[64];
    if (entry && code == 0 && !(batch_id && *batch_id) && !(env_job && *env_job)) {
        /* BATCH_JOB_PARAMETERS outside Batch: claim it under our own id. */
        snprintf(own_id, sizeof own_id, "worker-%d", (int)getpid());
        batch_id = own_id;
    }
    hc_log_set_job(job_id);
    if (code == 0 && batch_id && *batch_id) {
        const char *attempt = getenv("AWS_BATCH_JOB_ATTEMPT");
        HC_INFO(COMP, "Batch job %s, attempt %s", batch_id, attempt && *attempt ? attempt : "1");
        int f = batch_fence(store, job_id, batch_id, !(env_job && *env_job));
        code = f < 0 ? 0 : f;
        if (f == 0) code = hc_worker_run_job(&cfg, store, job_id);
        hc_log_set_job(job_id);
        if (f == 0 && (code == 0 || code == 1 || code == 2)) {
            /* The job is final now (or was canceled): its callback, signed
             * with CALLBACK_SECRET (possibly from the secret). */
            hc_storage *links = NULL; /* the body's links presigned as status reads do */
            hc_err serr = {0};
            if (hc_app_open_storage(&cfg, &links, &serr) != 0)
                HC_WARN(COMP, "callback links left as stored: %s", serr.msg);
            int crc = hc_callback_deliver_now(&cfg, store, links, job_id);
            hc_storage_close(links);
            if (crc == HC_ENET) HC_WARN(COMP, "callback not delivered: retries are scheduled");
        }
    } else if (code == 0) {
        hc_log_set_job(NULL);
        code = hc_worker_run_job(&cfg, store, job_id);
    }
    hc_log_set_job(NULL);
    hc_store_close(store);
    hc_config_fini(&cfg);
    return code;
}
