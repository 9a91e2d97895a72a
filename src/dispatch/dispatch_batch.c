/* The AWS Batch executor ("aws-batch", DESIGN.md §11): a scheduler backend
 * for the reconcile loop (reconcile.c), which does every decision; this
 * file only speaks Batch.
 *
 * submit: SubmitJob with jobName hc-<job_id> (sanitised to Batch's rule),
 * jobQueue/jobDefinition HC_BATCH_QUEUE_GPU|CPU and HC_BATCH_JOBDEF_GPU|CPU
 * (a queue without its own job definition uses the other one), and
 * containerOverrides.environment HC_JOB_ID=<job_id> only: the request stays
 * in the store (overrides are capped at 8 KiB). probe: DescribeJobs
 * (SUBMITTED..STARTING pending, RUNNING, SUCCEEDED, FAILED; an id Batch
 * does not return vanished). cancel: TerminateJob.
 *
 * Invariant: nothing of the request (URLs, callback secret) is sent to
 * Batch; a queue is used only with a job definition. */
#include "cloud/hc_cloud.h"
#include "dispatch/hc_dispatch.h"

#include <stdlib.h>
#include <string.h>

#define MAX_IN_FLIGHT 1000
#define OVERRIDES_MAX 8192 /* Batch's limit on containerOverrides */

typedef struct batch {
    hc_aws *aws;
    const char *queue_gpu, *queue_cpu, *jobdef_gpu, *jobdef_cpu; /* borrowed from cfg; NULL = none */
} batch;

static const char *nonempty(const char *s) {
    return s && *s ? s : NULL;
}

static int batch_open(hc_sched *s, const hc_executor_env *env, hc_err *err) {
    batch *B = hc_sched_priv(s);
    const hc_config *cfg = env->cfg;
    const char *qg = nonempty(cfg->batch_queue_gpu), *qc = nonempty(cfg->batch_queue_cpu);
    const char *dg = nonempty(cfg->batch_jobdef_gpu), *dc = nonempty(cfg->batch_jobdef_cpu);
    if (!qg && !qc)
        return hc_err_set(err, HC_EINVAL,
                          "HC_EXECUTOR aws-batch: no job queue (set HC_BATCH_QUEUE_CPU and/or "
                          "HC_BATCH_QUEUE_GPU)");
    if (!dg && !dc)
        return hc_err_set(err, HC_EINVAL,
                          "HC_EXECUTOR aws-batch: no job definition (set HC_BATCH_JOBDEF_CPU "
                          "and/or HC_BATCH_JOBDEF_GPU)");
    B->queue_gpu = qg;
    B->queue_cpu = qc;
    B->jobdef_gpu = dg ? dg : dc;
    B->jobdef_cpu = dc ? dc : dg;
    int rc = hc_aws_open(&B->aws, err);
    if (rc != 0) {
        hc_err_prefix(err, "HC_EXECUTOR aws-batch: ");
        return rc;
    }
    char ep[512];
    if ((rc = hc_aws_endpoint(B->aws, "batch", ep, sizeof ep, err)) != 0) {
        hc_err_prefix(err, "HC_EXECUTOR aws-batch: ");
        hc_aws_close(B->aws);
        return rc;
    }
    HC_INFO("executor", "aws-batch executor: GPU queue %s, CPU queue %s, endpoint %s",
            qg ? qg : "(none)", qc ? qc : "(none)", ep);
    return 0;
}

static void batch_close(hc_sched *s) {
    batch *B = hc_sched_priv(s);
    hc_aws_close(B->aws);
}

static int batch_submit(hc_sched *s, const hc_job *job, bool gpu, char *id, size_t id_len,
                        hc_err *err) {
    batch *B = hc_sched_priv(s);
    if (gpu && !B->queue_gpu) gpu = false;
    if (!gpu && !B->queue_cpu) gpu = true;
    char name[129], env_id[HC_MAX_JOB_ID_LEN + 16];
    hc_sched_job_name(job->job_id, name, sizeof name);
    snprintf(env_id, sizeof env_id, "HC_JOB_ID=%s", job->job_id);
    const char *env[] = {env_id, NULL};
    if (strlen(env_id) + 64 > OVERRIDES_MAX)
        return hc_err_set(err, HC_EINVAL, "job %s: container overrides over 8 KiB", job->job_id);
    hc_batch_submit in = {.job_name = name,
                          .job_queue = gpu ? B->queue_gpu : B->queue_cpu,
                          .job_definition = gpu ? B->jobdef_gpu : B->jobdef_cpu,
                          .env = env};
    return hc_batch_submit_job(B->aws, &in, id, id_len, err);
}

static hc_ext_status map_status(const char *st) {
    if (strcmp(st, "RUNNING") == 0) return HC_EXT_RUNNING;
    if (strcmp(st, "SUCCEEDED") == 0) return HC_EXT_SUCCEEDED;
    if (strcmp(st, "FAILED") == 0) return HC_EXT_FAILED;
    return HC_EXT_PENDING; /* SUBMITTED PENDING RUNNABLE STARTING */
}

static int batch_probe(hc_sched *s, const char *const *ids, int n, hc_ext_state *out,
                       hc_err *err) {
    batch *B = hc_sched_priv(s);
    hc_batch_job *jobs = NULL;
    int m = 0;
    int rc = hc_batch_describe_jobs(B->aws, ids, n, &jobs, &m, err);
    if (rc != 0) return rc;
    for (int i = 0; i < n; i++) {
        out[i] = (hc_ext_state){.status = HC_EXT_VANISHED};
        for (int k = 0; k < m; k++) {
            if (strcmp(jobs[k].job_id, ids[i]) != 0) continue;
            out[i].status = map_status(jobs[k].status);
            out[i].started_us = jobs[k].started_ms * 1000;
            snprintf(out[i].reason, sizeof out[i].reason, "%s", jobs[k].status_reason);
            break;
        }
    }
    free(jobs);
    return 0;
}

static int batch_cancel(hc_sched *s, const char *id, const char *reason, hc_err *err) {
    batch *B = hc_sched_priv(s);
    return hc_batch_terminate_job(B->aws, id, reason, err);
}

static void batch_capacity(hc_sched *s, hc_sched_capacity *out) {
    batch *B = hc_sched_priv(s);
    out->max_in_flight = MAX_IN_FLIGHT;
    out->has_gpu = B->queue_gpu != NULL;
    out->has_cpu = B->queue_cpu != NULL;
}

static const hc_sched_backend batch_sched = {
    .name = "aws-batch",
    .priv_size = sizeof(batch),
    .open = batch_open,
    .close = batch_close,
    .submit = batch_submit,
    .probe = batch_probe,
    .cancel = batch_cancel,
    .capacity = batch_capacity,
};

static int batch_x_open(hc_executor *x, const hc_executor_env *env, hc_err *err) {
    return hc_reconcile_open(x, &batch_sched, env, err);
}

const hc_executor_backend hc_executor_aws_batch = {
    .name = "aws-batch",
    .priv_size = HC_RECONCILE_PRIV_SIZE,
    .open = batch_x_open,
    .close = hc_reconcile_close,
    .wake = hc_reconcile_wake,
    .stop = hc_reconcile_stop,
    .stats = hc_reconcile_stats,
    .reconcile = hc_reconcile_once,
};
