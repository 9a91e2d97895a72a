/* The AWS flow of DESIGN.md §11 end to end, all on this machine:
 * API Gateway HTTP API events (payload 2.0) through the real
 * `hydra-compose lambda` loop (tests/data/lambda_runtime.py, the Runtime
 * API stand-in), with HC_STORE=dynamodb:<table in dynalite>,
 * HC_STORAGE=s3://<bucket in s3rver> (SigV4 checked with S3RVER/S3RVER) and
 * HC_EXECUTOR=aws-batch against tests/data/batch_api.py, which runs each
 * attempt as AWS Batch would: the CPU image (hydra-compose:cpu, built from
 * this tree) started with `docker run --network host` and the job's
 * environment. The worker in the container loads SECRETS_NAME from the
 * Secrets Manager stand-in (tests/data/secrets_api.py; a REPLACE_ME value
 * skipped), fetches the photos from tests/data/httpd.py (HC_URL_ALLOW),
 * renders, uploads the MP4 and its poster to s3rver, writes the final state
 * to DynamoDB and delivers the callback signed with the secret's
 * CALLBACK_SECRET to httpd.py. The status is then read through the Lambda
 * and its presigned output_url fetched with plain curl and probed.
 *
 * Also: bad input through the Lambda is a 400 and Batch sees no SubmitJob;
 * a spot reclaim (the container killed mid-render, attempt 2 started by
 * the stand-in) completes the job once.
 *
 * Skipped only when the Docker daemon is not reachable or the emulators
 * (tests/emulators/node_modules) are not installed. */
#include "hc_test.h"

#include "dispatch/hc_dispatch.h"
#include "store/hc_store.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TABLE  "hydra-e2e-jobs"
#define BUCKET "hc-e2e"
#define SECRET "e2e-cb-s3cr3t-value"
#define SECRETS                                                                                    \
    "{\"hydra/e2e\":\"{\\\"CALLBACK_SECRET\\\":\\\"" SECRET "\\\","                                \
    "\\\"OPENAI_API_KEY\\\":\\\"REPLACE_ME\\\"}\"}"

/* What the Batch job definition gives the container: the configuration
 * names, passed on from the stand-in's environment (`-e NAME`). The
 * stand-in adds HC_JOB_ID and the AWS_BATCH_* variables ({env}). */
#define WORKER_RUN                                                                                 \
    "'docker run --rm --network host --name {name} {env} -e HC_STORE -e HC_STORAGE "               \
    "-e HC_URL_ALLOW -e HC_LOG_LEVEL -e SECRETS_NAME -e AWS_REGION -e AWS_ACCESS_KEY_ID "          \
    "-e AWS_SECRET_ACCESS_KEY -e AWS_ENDPOINT_URL_S3 -e AWS_ENDPOINT_URL_DYNAMODB "                \
    "-e AWS_ENDPOINT_URL_SECRETS_MANAGER -e AWS_EC2_METADATA_DISABLED hydra-compose:cpu worker' "  \
    "--kill 'docker kill {name}'"

typedef struct e2e {
    int lambda_port, s3_port, img_port, batch_port, secrets_port;
    int lambda_pid, batch_pid;
    char batch[64];
} e2e;

static const char *sget(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* Why the test cannot run here, or NULL. */
static const char *missing(char *why, size_t len) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/tests/emulators/node_modules/s3rver/bin/s3rver.js",
             hc_test_root());
    if (!hc_test_dynalite_installed() || access(path, R_OK) != 0) {
        snprintf(why, len,
                 "the emulators are not installed (tests/emulators/node_modules: run "
                 "scripts/install-deps.sh)");
        return why;
    }
    return hc_test_docker_reachable(why, len) != 0 ? why : NULL;
}

/* Everything up: the image, the emulators, the stand-ins, the Lambda. */
static bool e2e_start(e2e *w, char *fail, size_t len) {
    if (hc_test_docker_build("cpu") != 0) {
        snprintf(fail, len, "scripts/docker-build.sh cpu failed: see %s/docker-build.log",
                 hc_test_tmpdir());
        return false;
    }
    hc_err err = {0};
    if (hc_test_dynalite() <= 0 || hc_store_dynamodb_create_table(TABLE, &err) != 0) {
        snprintf(fail, len, "dynalite or the table: %.400s", err.msg);
        return false;
    }
    /* s3rver checks signatures with these; dynalite checks none. */
    setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    unsetenv("AWS_ENDPOINT_URL");
    w->s3_port = hc_test_s3rver(BUCKET);
    if (w->s3_port <= 0) {
        snprintf(fail, len, "s3rver did not start");
        return false;
    }
    char buf[PATH_MAX + 64];
    snprintf(buf, sizeof buf, "http://127.0.0.1:%d", w->s3_port);
    setenv("AWS_ENDPOINT_URL_S3", buf, 1);

    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/www", hc_test_tmpdir());
    mkdir(dir, 0755);
    if (hc_test_make_jpegs(dir, 3, 640, 360) != 0 || (w->img_port = hc_test_httpd(dir)) <= 0) {
        snprintf(fail, len, "photos or httpd.py");
        return false;
    }
    snprintf(buf, sizeof buf, "%s/secrets.json", hc_test_tmpdir());
    if (hc_test_write_file(buf, SECRETS, strlen(SECRETS)) != 0 ||
        (w->secrets_port = hc_test_py("secrets_api.py", buf, NULL)) <= 0) {
        snprintf(fail, len, "secrets_api.py did not start");
        return false;
    }
    snprintf(buf, sizeof buf, "http://127.0.0.1:%d", w->secrets_port);
    setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", buf, 1);
    setenv("SECRETS_NAME", "hydra/e2e", 1);
    setenv("HC_STORE", "dynamodb:" TABLE, 1);
    setenv("HC_STORAGE", "s3://" BUCKET, 1);
    setenv("HC_URL_ALLOW", "127.0.0.1", 1);
    setenv("HC_LOG_LEVEL", "info", 1);
    setenv("HC_EXECUTOR", "aws-batch", 1);
    setenv("HC_BATCH_QUEUE_CPU", "q-cpu", 1);
    setenv("HC_BATCH_JOBDEF_CPU", "jd-cpu", 1);
    unsetenv("HC_BATCH_QUEUE_GPU");
    unsetenv("HC_BATCH_JOBDEF_GPU");
    unsetenv("CALLBACK_SECRET");
    unsetenv("OPENAI_API_KEY");
    unsetenv("HC_JOB_ID");
    w->batch_port = hc_test_py("batch_api.py", "--run " WORKER_RUN, &w->batch_pid);
    if (w->batch_port <= 0) {
        snprintf(fail, len, "batch_api.py did not start");
        return false;
    }
    snprintf(w->batch, sizeof w->batch, "http://127.0.0.1:%d", w->batch_port);
    setenv("AWS_ENDPOINT_URL_BATCH", w->batch, 1);

    w->lambda_port = hc_test_py("lambda_runtime.py", NULL, NULL);
    if (w->lambda_port <= 0) {
        snprintf(fail, len, "lambda_runtime.py did not start");
        return false;
    }
    char cmd[2 * PATH_MAX + 256];
    snprintf(cmd, sizeof cmd,
             "exec env AWS_LAMBDA_RUNTIME_API=127.0.0.1:%d HC_DATA_DIR=%s/lambda-data %s lambda "
             "2>>%s/lambda.log",
             w->lambda_port, hc_test_tmpdir(), hc_test_bin(), hc_test_tmpdir());
    w->lambda_pid = hc_test_spawn(cmd);
    return w->lambda_pid > 0;
}

static void e2e_stop(e2e *w) {
    if (w->lambda_pid > 0) {
        kill(w->lambda_pid, SIGTERM);
        waitpid(w->lambda_pid, NULL, 0);
    }
    if (w->batch_pid > 0) { /* it kills the containers still running */
        kill(w->batch_pid, SIGTERM);
        waitpid(w->batch_pid, NULL, 0);
    }
}

/* An API Gateway request through the Lambda: the Lambda's response
 * ({statusCode, headers, body}) with *body its body parsed (both caller
 * decrefs); NULL when the event got no response. */
static json_t *api(const e2e *w, const char *method, const char *path, const char *query,
                   const char *body, json_t **jbody) {
    char *ev = hc_test_apigw_event(method, path, query, "{\"content-type\":\"application/json\"}",
                                   body, false);
    json_t *rec = hc_test_lambda_invoke(w->lambda_port, ev);
    free(ev);
    json_t *resp =
        !strcmp(sget(rec, "kind"), "response") ? json_loads(sget(rec, "body"), 0, NULL) : NULL;
    json_decref(rec);
    *jbody = resp ? json_loads(sget(resp, "body"), 0, NULL) : NULL;
    return resp;
}

static int status_code(json_t *resp) {
    return (int)json_integer_value(json_object_get(resp, "statusCode"));
}

/* The job's status through the Lambda (caller decrefs), NULL if not 200. */
static json_t *status_of(const e2e *w, const char *id) {
    char q[128];
    snprintf(q, sizeof q, "job_id=%s", id);
    json_t *body = NULL, *resp = api(w, "GET", "/render/status", q, NULL, &body);
    int code = status_code(resp);
    json_decref(resp);
    if (code != 200) {
        json_decref(body);
        return NULL;
    }
    return body;
}

static json_t *wait_final(const e2e *w, const char *id, double timeout_s) {
    double end = hc_test_now_s() + timeout_s;
    while (hc_test_now_s() < end) {
        json_t *j = status_of(w, id);
        const char *st = sget(j, "status");
        if (!strcmp(st, "completed") || !strcmp(st, "failed") || !strcmp(st, "canceled")) return j;
        json_decref(j);
        hc_test_sleep_ms(500);
    }
    return NULL;
}

static json_t *standin(const e2e *w, const char *what) {
    char url[128], *resp = NULL;
    snprintf(url, sizeof url, "%s/_control/%s", w->batch, what);
    hc_test_http("GET", url, NULL, NULL, &resp, NULL);
    json_t *j = resp ? json_loads(resp, 0, NULL) : NULL;
    free(resp);
    return j;
}

static int submits(const e2e *w) {
    json_t *log = standin(w, "log");
    int n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(log, i, e) n += !strcmp(sget(e, "op"), "submitjob");
    json_decref(log);
    return n;
}

static void request_json(char *buf, size_t len, const e2e *w, const char *id, int duration,
                         const char *hook) {
    snprintf(buf, len,
             "{\"job_id\":\"%s\",\"images\":[{\"url\":\"http://127.0.0.1:%d/img0.jpg\"},"
             "{\"url\":\"http://127.0.0.1:%d/img1.jpg\"},{\"url\":\"http://127.0.0.1:%d/"
             "img2.jpg\"}],\"settings\":{\"target_duration\":%d,\"resolution\":\"720p\","
             "\"aspect_ratio\":\"16:9\",\"quality\":\"draft\"},"
             "\"callback_url\":\"http://127.0.0.1:%d/callback/%s\"}",
             id, w->img_port, w->img_port, w->img_port, duration, w->img_port, hook);
}

/* POST /render through the Lambda: 202 with the job already submitted
 * (processing, its batch_job_id the stand-in's jobId). */
static bool submit_ok(const e2e *w, const char *id, int duration, char *batch_id, size_t len) {
    char req[2048];
    request_json(req, sizeof req, w, id, duration, id);
    json_t *body = NULL, *resp = api(w, "POST", "/render", NULL, req, &body);
    int code = status_code(resp);
    snprintf(batch_id, len, "%s", sget(body, "batch_job_id"));
    bool ok = code == 202 && !strcmp(sget(body, "status"), "processing") && batch_id[0];
    if (!ok)
        fprintf(stderr, "    submit %s: %d %s\n", id, code, resp ? sget(resp, "body") : "(none)");
    json_decref(resp);
    json_decref(body);
    return ok;
}

HC_TEST_T(aws_e2e_lambda_batch_container_s3_dynamodb_signed_callback, 600) {
    char why[512];
    if (missing(why, sizeof why)) SKIP(why);
    e2e w = {0};
    CHECKF(e2e_start(&w, why, sizeof why), "%s", why);

    /* Bad input: a 400 naming the field, and Batch never hears of it. */
    json_t *body = NULL, *resp = api(&w, "POST", "/render", NULL, "{\"images\":[]}", &body);
    CHECKF(status_code(resp) == 400, "bad input: %d", status_code(resp));
    CHECK(strstr(sget(json_object_get(body, "error"), "message"), "images"));
    json_decref(resp);
    json_decref(body);
    char req[2048];
    snprintf(req, sizeof req,
             "{\"job_id\":\"e2e-bad\",\"images\":[{\"url\":\"http://127.0.0.1:%d/img0.jpg\"}],"
             "\"settings\":{\"fps\":7}}",
             w.img_port);
    resp = api(&w, "POST", "/render", NULL, req, &body);
    CHECKF(status_code(resp) == 400, "fps 7: %d %s", status_code(resp), sget(resp, "body"));
    json_decref(resp);
    json_decref(body);

    /* The submit: stored in DynamoDB, SubmitJob made, batch_job_id stored,
     * then the 202. */
    char bid[128];
    CHECK(submit_ok(&w, "e2e-1", 2, bid, sizeof bid));
    CHECKF(submits(&w) == 1, "SubmitJob calls: %d (the bad inputs reached Batch?)", submits(&w));
    json_t *jobs = standin(&w, "jobs"), *sj = json_object_get(jobs, bid);
    CHECKF(sj, "Batch does not know %s", bid);
    CHECK(!strcmp(sget(sj, "jobName"), "hc-e2e-1") && !strcmp(sget(sj, "jobQueue"), "q-cpu") &&
          !strcmp(sget(sj, "jobDefinition"), "jd-cpu"));
    json_t *env0 =
        json_array_get(json_object_get(json_object_get(sj, "container"), "environment"), 0);
    CHECK(!strcmp(sget(env0, "name"), "HC_JOB_ID") && !strcmp(sget(env0, "value"), "e2e-1"));
    json_decref(jobs);

    /* The container renders; the status, through the Lambda, is completed. */
    json_t *f = wait_final(&w, "e2e-1", 420);
    CHECKF(f, "e2e-1 not final in time (see %s/batch_api.py.log)", hc_test_tmpdir());
    CHECKF(!strcmp(sget(f, "status"), "completed"), "%s: %s (see %s/batch_api.py.log)",
           sget(f, "status"), sget(json_object_get(f, "error"), "message"), hc_test_tmpdir());
    CHECK(!strcmp(sget(f, "batch_job_id"), bid));
    for (int i = 0; i < 100; i++) { /* the container exits after its final write */
        jobs = standin(&w, "jobs");
        bool done = !strcmp(sget(json_object_get(jobs, bid), "status"), "SUCCEEDED");
        json_decref(jobs);
        if (done) break;
        hc_test_sleep_ms(100);
    }
    jobs = standin(&w, "jobs");
    CHECKF(!strcmp(sget(json_object_get(jobs, bid), "status"), "SUCCEEDED"), "Batch job: %s",
           sget(json_object_get(jobs, bid), "status"));
    json_decref(jobs);

    /* The objects in s3rver's bucket, under the default keys. */
    char path[PATH_MAX + 128];
    struct stat st;
    snprintf(path, sizeof path, "%s/s3/" BUCKET "/renders/e2e-1.mp4._S3rver_object",
             hc_test_tmpdir());
    CHECKF(stat(path, &st) == 0 && st.st_size > 10000, "no MP4 in s3rver at %s", path);
    snprintf(path, sizeof path, "%s/s3/" BUCKET "/renders/e2e-1.jpg._S3rver_object",
             hc_test_tmpdir());
    CHECKF(stat(path, &st) == 0 && st.st_size > 1000, "no poster in s3rver at %s", path);

    /* output_url presigned at read time: plain curl fetches it; ffprobe
     * reads H.264 1280x720, 2 s. */
    const char *url = sget(f, "output_url");
    char want[128];
    snprintf(want, sizeof want, "http://127.0.0.1:%d/" BUCKET "/renders/e2e-1.mp4?", w.s3_port);
    CHECKF(!strncmp(url, want, strlen(want)) && strstr(url, "X-Amz-Signature="), "output_url %s",
           url);
    char mp4[PATH_MAX + 16], cmd[3 * PATH_MAX], *out = NULL;
    snprintf(mp4, sizeof mp4, "%s/got.mp4", hc_test_tmpdir());
    snprintf(cmd, sizeof cmd, "curl -sf -o '%s' '%s'", mp4, url);
    CHECKF(hc_test_run(cmd, NULL) == 0, "curl of the presigned output_url failed");
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width,height "
             "-show_entries format=duration -of default=nw=1 '%s'",
             mp4);
    CHECK(hc_test_run(cmd, &out) == 0);
    CHECKF(strstr(out, "codec_name=h264\nwidth=1280\nheight=720\n"), "ffprobe: %s", out);
    const char *d = strstr(out, "duration=");
    CHECKF(d && fabs(atof(d + 9) - 2.0) < 0.15, "ffprobe: %s", out);
    free(out);
    json_decref(f);

    /* The callback, signed with CALLBACK_SECRET from Secrets Manager. */
    char hooks_url[128], *hooks_text = NULL;
    snprintf(hooks_url, sizeof hooks_url, "http://127.0.0.1:%d/hooks/e2e-1", w.img_port);
    CHECK(hc_test_http("GET", hooks_url, NULL, NULL, &hooks_text, NULL) == 200);
    json_t *hooks = json_loads(hooks_text, 0, NULL);
    free(hooks_text);
    CHECKF(json_array_size(hooks) == 1, "callbacks received: %zu", json_array_size(hooks));
    json_t *h = json_array_get(hooks, 0);
    const char *sig = sget(json_object_get(h, "headers"), "x-hydra-signature");
    const char *hb = sget(h, "body");
    long long t = 0;
    CHECKF(sscanf(sig, "t=%lld,", &t) == 1, "signature header: %s", sig);
    char expect[128];
    hc_callback_signature(SECRET, (int64_t)t, hb, strlen(hb), expect, sizeof expect);
    CHECKF(!strcmp(sig, expect), "signature %s, HMAC-SHA256 of t.body with the secret: %s", sig,
           expect);
    CHECK(strstr(hb, "\"completed\"") && strstr(hb, "e2e-1") && !strstr(hb, SECRET));
    json_decref(hooks);

    /* The worker loaded the one real setting (REPLACE_ME skipped) and
     * logged no secret. */
    snprintf(path, sizeof path, "%s/batch_api.py.log", hc_test_tmpdir());
    char *log = hc_test_read_file(path, NULL);
    CHECKF(log && strstr(log, "1 setting(s) loaded from the secret hydra/e2e"), "worker log: %s",
           log ? log : "(none)");
    CHECK(!strstr(log, SECRET) && !strstr(log, "X-Amz-Signature="));
    free(log);
    snprintf(path, sizeof path, "%s/lambda.log", hc_test_tmpdir());
    log = hc_test_read_file(path, NULL);
    CHECK(log && !strstr(log, "X-Amz-Signature=") && !strstr(log, "Authorization:"));
    free(log);
    CHECK(submits(&w) == 1);
    e2e_stop(&w);
}

HC_TEST_T(aws_e2e_spot_reclaim_of_the_container_completes_once, 600) {
    char why[512];
    if (missing(why, sizeof why)) SKIP(why);
    e2e w = {0};
    CHECKF(e2e_start(&w, why, sizeof why), "%s", why);
    char bid[128];
    CHECK(submit_ok(&w, "spot-1", 20, bid, sizeof bid));
    /* Wait for the render to be under way in the container, then reclaim
     * the instance: the container is killed, attempt 2 starts. */
    double end = hc_test_now_s() + 240;
    bool rendering = false;
    while (!rendering && hc_test_now_s() < end) {
        json_t *s = status_of(&w, "spot-1");
        rendering = !strcmp(sget(s, "current_step"), "rendering") &&
                    json_integer_value(json_object_get(s, "progress")) > 0;
        json_decref(s);
        if (!rendering) hc_test_sleep_ms(300);
    }
    CHECKF(rendering, "never saw the render under way (see %s/batch_api.py.log)", hc_test_tmpdir());
    /* It runs in the CPU image's container, named by the stand-in. */
    char cmd[512], *ps = NULL;
    snprintf(cmd, sizeof cmd,
             "docker ps --no-trunc --filter name=hc-%s-1 --format '{{.Image}} {{.Command}}'", bid);
    CHECK(hc_test_run(cmd, &ps) == 0);
    CHECKF(strstr(ps, "hydra-compose:cpu") && strstr(ps, "worker"), "docker ps: %s", ps);
    free(ps);
    char url[256], *resp = NULL;
    snprintf(url, sizeof url, "%s/_control/reclaim?job=%s", w.batch, bid);
    CHECK(hc_test_http("POST", url, "", NULL, &resp, NULL) == 200);
    free(resp);
    json_t *f = wait_final(&w, "spot-1", 420);
    CHECKF(f, "spot-1 not final in time (see %s/batch_api.py.log)", hc_test_tmpdir());
    CHECKF(!strcmp(sget(f, "status"), "completed"), "%s: %s", sget(f, "status"),
           sget(json_object_get(f, "error"), "message"));
    json_decref(f);
    json_t *jobs = standin(&w, "jobs"), *sj = json_object_get(jobs, bid);
    CHECKF(json_array_size(json_object_get(sj, "attempts")) == 2, "Batch attempts: %zu",
           json_array_size(json_object_get(sj, "attempts")));
    CHECK(!strcmp(sget(json_array_get(json_object_get(sj, "attempts"), 0), "statusReason"),
                  "Host EC2 (instance i-0) terminated."));
    json_decref(jobs);
    CHECK(submits(&w) == 1);
    /* Completed once: one attempt counted in the store, one callback. */
    hc_store *s = NULL;
    hc_err err = {0};
    hc_job job = {0};
    CHECK(hc_store_open("dynamodb:" TABLE, &s, &err) == 0);
    CHECK(hc_store_get(s, "spot-1", &job, &err) == 0);
    hc_store_close(s);
    CHECKF(job.status == HC_JOB_COMPLETED && job.attempts == 1, "status %d, attempts %d",
           (int)job.status, job.attempts);
    hc_job_fini(&job);
    char hooks_url[128], *hooks_text = NULL;
    snprintf(hooks_url, sizeof hooks_url, "http://127.0.0.1:%d/hooks/spot-1", w.img_port);
    CHECK(hc_test_http("GET", hooks_url, NULL, NULL, &hooks_text, NULL) == 200);
    json_t *hooks = json_loads(hooks_text, 0, NULL);
    free(hooks_text);
    CHECKF(json_array_size(hooks) == 1, "callbacks received: %zu", json_array_size(hooks));
    json_decref(hooks);
    e2e_stop(&w);
}
