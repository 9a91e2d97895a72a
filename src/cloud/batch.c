/* AWS Batch client: SubmitJob, DescribeJobs, TerminateJob over the REST
 * JSON API (POST /v1/<operation>, Content-Type application/json, signing
 * name "batch"), through hc_aws_call (signed per attempt, throttling and
 * 5xx retried with back-off).
 *
 * Invariant: request bodies are built with jansson (no hand-made JSON),
 * and no error message carries more than Batch's own error type and
 * message. */
#include "cloud/hc_cloud.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* POST body to /v1/<op>; a 2xx JSON answer into *out (caller decrefs). */
static int batch_post(hc_aws *aws, const char *op, json_t *body, json_t **out, hc_err *err) {
    *out = NULL;
    char base[512], url[600];
    int rc = hc_aws_endpoint(aws, "batch", base, sizeof base, err);
    if (rc != 0) return rc;
    snprintf(url, sizeof url, "%s/v1/%s", base, op);
    char *text = json_dumps(body, JSON_COMPACT);
    if (!text) return hc_err_set(err, HC_ENOMEM, "batch %s: cannot encode the request", op);
    const char *headers[] = {"Content-Type: application/json", NULL};
    hc_httpc_req req = {.method = "POST",
                        .url = url,
                        .headers = headers,
                        .body = text,
                        .body_len = strlen(text)};
    hc_httpc_resp resp = {0};
    rc = hc_aws_call(aws, "batch", &req, &resp, err);
    free(text);
    if (rc != 0) {
        hc_err_prefix(err, "batch %s: ", op);
        hc_httpc_resp_fini(&resp);
        return rc;
    }
    json_error_t je;
    json_t *j = resp.body.n ? json_loadb(resp.body.p, resp.body.n, 0, &je) : NULL;
    if (resp.status < 200 || resp.status >= 300) {
        char type[128] = "";
        if (!hc_httpc_header(&resp, "x-amzn-ErrorType", type, sizeof type) && j &&
            json_is_string(json_object_get(j, "__type")))
            snprintf(type, sizeof type, "%s", json_string_value(json_object_get(j, "__type")));
        char *colon = strchr(type, ':'); /* "ClientException:http://..." */
        if (colon) *colon = 0;
        const char *msg = j ? json_string_value(json_object_get(j, "message")) : NULL;
        if (!msg && j) msg = json_string_value(json_object_get(j, "Message"));
        long st = resp.status;
        rc = st >= 500 || st == 429 ? HC_ENET : st == 404 ? HC_ENOTFOUND : HC_EINVAL;
        hc_err_set(err, rc, "batch %s: HTTP %ld %s: %s", op, st, type[0] ? type : "error",
                   msg ? msg : "(no message)");
        json_decref(j);
        hc_httpc_resp_fini(&resp);
        return rc;
    }
    hc_httpc_resp_fini(&resp);
    if (!json_is_object(j)) {
        json_decref(j);
        return hc_err_set(err, HC_ENET, "batch %s: the answer is not a JSON object", op);
    }
    *out = j;
    return 0;
}

int hc_batch_submit_job(hc_aws *aws, const hc_batch_submit *in, char *job_id, size_t len,
                        hc_err *err) {
    if (!in || !in->job_name || !in->job_queue || !*in->job_queue || !in->job_definition ||
        !*in->job_definition)
        return hc_err_set(err, HC_EINVAL,
                          "batch submitjob: jobName, jobQueue and jobDefinition are required");
    json_t *envs = json_array();
    for (const char *const *e = in->env; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq) continue;
        json_array_append_new(envs, json_pack("{s:s%,s:s}", "name", *e, (size_t)(eq - *e),
                                              "value", eq + 1));
    }
    json_t *body = json_pack("{s:s,s:s,s:s,s:{s:o}}", "jobName", in->job_name, "jobQueue",
                             in->job_queue, "jobDefinition", in->job_definition,
                             "containerOverrides", "environment", envs);
    json_t *out = NULL;
    int rc = body ? batch_post(aws, "submitjob", body, &out, err)
                  : hc_err_set(err, HC_EINVAL, "batch submitjob: cannot build the request");
    json_decref(body);
    if (rc != 0) return rc;
    const char *id = json_string_value(json_object_get(out, "jobId"));
    if (!id || !*id || strlen(id) >= len) {
        json_decref(out);
        return hc_err_set(err, HC_ENET, "batch submitjob: no usable jobId in the answer");
    }
    snprintf(job_id, len, "%s", id);
    json_decref(out);
    return 0;
}

static void copy_str(char *dst, size_t len, json_t *v) {
    const char *s = json_string_value(v);
    snprintf(dst, len, "%s", s ? s : "");
}

int hc_batch_describe_jobs(hc_aws *aws, const char *const *ids, int n, hc_batch_job **out,
                           int *n_out, hc_err *err) {
    *out = NULL;
    *n_out = 0;
    if (n < 1 || n > 100)
        return hc_err_set(err, HC_EINVAL, "batch describejobs: 1 to 100 job ids, not %d", n);
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(arr, json_string(ids[i]));
    json_t *body = json_pack("{s:o}", "jobs", arr);
    json_t *ans = NULL;
    int rc = batch_post(aws, "describejobs", body, &ans, err);
    json_decref(body);
    if (rc != 0) return rc;
    json_t *jobs = json_object_get(ans, "jobs");
    if (!json_is_array(jobs)) {
        json_decref(ans);
        return hc_err_set(err, HC_ENET, "batch describejobs: no \"jobs\" array in the answer");
    }
    size_t m = json_array_size(jobs);
    hc_batch_job *v = hc_xcalloc(m + 1, sizeof *v);
    int k = 0;
    for (size_t i = 0; i < m; i++) {
        json_t *j = json_array_get(jobs, i);
        if (!json_is_string(json_object_get(j, "jobId"))) continue;
        hc_batch_job *b = &v[k++];
        copy_str(b->job_id, sizeof b->job_id, json_object_get(j, "jobId"));
        copy_str(b->job_queue, sizeof b->job_queue, json_object_get(j, "jobQueue"));
        copy_str(b->status, sizeof b->status, json_object_get(j, "status"));
        copy_str(b->status_reason, sizeof b->status_reason, json_object_get(j, "statusReason"));
        json_t *sa = json_object_get(j, "startedAt");
        b->started_ms = json_is_integer(sa) ? (int64_t)json_integer_value(sa) : 0;
        json_t *at = json_object_get(j, "attempts");
        b->attempts = json_is_array(at) ? (int)json_array_size(at) : 0;
    }
    json_decref(ans);
    *out = v;
    *n_out = k;
    return 0;
}

int hc_batch_terminate_job(hc_aws *aws, const char *job_id, const char *reason, hc_err *err) {
    if (!job_id || !*job_id) return hc_err_set(err, HC_EINVAL, "batch terminatejob: no job id");
    json_t *body = json_pack("{s:s,s:s}", "jobId", job_id, "reason",
                             reason && *reason ? reason : "terminated by hydra-compose");
    json_t *ans = NULL;
    int rc = batch_post(aws, "terminatejob", body, &ans, err);
    json_decref(body);
    json_decref(ans);
    return rc;
}
