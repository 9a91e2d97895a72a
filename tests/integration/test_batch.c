/* The aws-batch executor and the worker as the Batch entry point, end to
 * end: the real `serve --executor aws-batch` (SQLite store, file storage)
 * against tests/data/batch_api.py, a stand-in of the Batch API that runs
 * each submitted job by spawning the real `hydra-compose worker` with
 * HC_JOB_ID, AWS_BATCH_JOB_ID and AWS_BATCH_JOB_ATTEMPT in its environment,
 * and can lose jobs, stall a queue (no capacity) or reclaim a running
 * attempt (spot). Secrets come from tests/data/secrets_api.py. The stand-in's
 * shapes are checked with botocore as an independent client. */
#include "hc_test.h"

#include "dispatch/hc_dispatch.h"
#include "store/hc_store.h"

#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *SMALL = "{\"target_duration\":2,\"resolution\":\"720p\",\"quality\":\"draft\"}";

static void stop_pid(int pid) {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static json_t *get_json(const char *url, long *status) {
    char *resp = NULL;
    long st = hc_test_http("GET", url, NULL, NULL, &resp, NULL);
    if (status) *status = st;
    json_t *j = resp ? json_loads(resp, 0, NULL) : NULL;
    free(resp);
    return j;
}

static const char *sget(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* The test's world: images, the Batch stand-in, the server. */
typedef struct world {
    char data[PATH_MAX - 64], store[PATH_MAX + 16], pubfile[PATH_MAX];
    int img_port, batch_port, batch_pid, serve_pid;
    char batch[128], url[256];
} world;

/* The environment every process of the test shares (server, stand-in,
 * workers): store, storage, AWS endpoint and fake keys, queues. */
static void world_env(world *w, const char *queues) {
    snprintf(w->data, sizeof w->data, "%s/data", hc_test_tmpdir());
    mkdir(w->data, 0755);
    snprintf(w->store, sizeof w->store, "sqlite:%s/jobs.db", w->data);
    snprintf(w->pubfile, sizeof w->pubfile, "%s/public-url", hc_test_tmpdir());
    char storage[PATH_MAX + 16];
    snprintf(storage, sizeof storage, "file:%s/outputs", w->data);
    setenv("HC_DATA_DIR", w->data, 1);
    setenv("HC_STORE", w->store, 1);
    setenv("HC_STORAGE", storage, 1);
    setenv("HC_URL_ALLOW", "127.0.0.1", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDHCTEST", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "hc-test-secret-key", 1);
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_PROFILE");
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    if (strstr(queues, "gpu")) {
        setenv("HC_BATCH_QUEUE_GPU", "q-gpu", 1);
        setenv("HC_BATCH_JOBDEF_GPU", "jd-gpu", 1);
    } else {
        unsetenv("HC_BATCH_QUEUE_GPU");
        unsetenv("HC_BATCH_JOBDEF_GPU");
    }
    setenv("HC_BATCH_QUEUE_CPU", "q-cpu", 1);
    setenv("HC_BATCH_JOBDEF_CPU", "jd-cpu", 1);
    setenv("USE_NVENC", "0", 1);
}

/* Images, the stand-in (extra: its flags), then the server. */
static bool world_start(world *w, const char *queues, const char *standin_args,
                        const char *serve_args) {
    world_env(w, queues);
    char imgs[PATH_MAX];
    snprintf(imgs, sizeof imgs, "%s/img", hc_test_tmpdir());
    mkdir(imgs, 0755);
    if (hc_test_make_jpegs(imgs, 3, 320, 240) != 0) return false;
    w->img_port = hc_test_httpd(imgs);
    if (w->img_port <= 0) return false;
    char args[8192];
    snprintf(args, sizeof args,
             "--run \"sh -c 'exec %s worker --public-url \\\"\\$(cat %s)\\\"'\" %s", hc_test_bin(),
             w->pubfile, standin_args ? standin_args : "");
    w->batch_port = hc_test_py("batch_api.py", args, &w->batch_pid);
    if (w->batch_port <= 0) return false;
    snprintf(w->batch, sizeof w->batch, "http://127.0.0.1:%d", w->batch_port);
    setenv("AWS_ENDPOINT_URL_BATCH", w->batch, 1);
    char sargs[1024];
    snprintf(sargs, sizeof sargs, "--executor aws-batch --url-allow 127.0.0.1 %s",
             serve_args ? serve_args : "");
    w->serve_pid = hc_test_serve(w->data, sargs, w->url, sizeof w->url);
    if (w->serve_pid <= 0) return false;
    return hc_test_write_file(w->pubfile, w->url, strlen(w->url)) == 0;
}

static void world_stop(world *w) {
    stop_pid(w->serve_pid);
    stop_pid(w->batch_pid);
}

static void request_json(char *buf, size_t len, const world *w, const char *id,
                         const char *settings) {
    snprintf(buf, len,
             "{\"job_id\":\"%s\",\"images\":[{\"url\":\"http://127.0.0.1:%d/img0.jpg\"},"
             "{\"url\":\"http://127.0.0.1:%d/img1.jpg\"},{\"url\":\"http://127.0.0.1:%d/"
             "img2.jpg\"}],\"settings\":%s}",
             id, w->img_port, w->img_port, w->img_port, settings);
}

static long submit(const world *w, const char *id, const char *settings) {
    char body[2048], url[512];
    request_json(body, sizeof body, w, id, settings);
    snprintf(url, sizeof url, "%s/render", w->url);
    return hc_test_http("POST", url, body, NULL, NULL, NULL);
}

static json_t *status_of(const world *w, const char *id) {
    char url[512];
    snprintf(url, sizeof url, "%s/render/status?job_id=%s", w->url, id);
    return get_json(url, NULL);
}

static json_t *wait_status(const world *w, const char *id, const char *want, double timeout_s) {
    double end = hc_test_now_s() + timeout_s;
    while (hc_test_now_s() < end) {
        json_t *j = status_of(w, id);
        const char *st = sget(j, "status");
        bool final = !strcmp(st, "completed") || !strcmp(st, "failed") || !strcmp(st, "canceled");
        if (want ? !strcmp(st, want) : final) return j;
        json_decref(j);
        hc_test_sleep_ms(100);
    }
    return NULL;
}

/* The stand-in's jobs (object by jobId) and its operation log. */
static json_t *standin(const world *w, const char *what) {
    char url[256];
    snprintf(url, sizeof url, "%s/_control/%s", w->batch, what);
    return get_json(url, NULL);
}

/* How many /v1 operations op the stand-in saw. */
static int ops(const world *w, const char *op) {
    json_t *log = standin(w, "log");
    int n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(log, i, e) n += !strcmp(sget(e, "op"), op);
    json_decref(log);
    return n;
}

/* The stand-in's job whose HC_JOB_ID is id and whose queue is queue (NULL
 * any): a new reference, or NULL. */
static json_t *standin_job(const world *w, const char *id, const char *queue) {
    json_t *jobs = standin(w, "jobs"), *found = NULL;
    const char *k;
    json_t *j;
    json_object_foreach(jobs, k, j) {
        json_t *env = json_object_get(json_object_get(j, "container"), "environment");
        size_t i;
        json_t *e;
        bool mine = false;
        json_array_foreach(env, i, e) mine |=
            !strcmp(sget(e, "name"), "HC_JOB_ID") && !strcmp(sget(e, "value"), id);
        if (mine && (!queue || !strcmp(sget(j, "jobQueue"), queue))) {
            found = json_incref(j);
            break;
        }
    }
    json_decref(jobs);
    return found;
}

/* standin_job, waiting up to 5 s for its status to be want (the worker
 * writes the final state before it exits). */
static json_t *standin_job_in(const world *w, const char *id, const char *queue, const char *want) {
    json_t *j = NULL;
    for (int i = 0; i < 100; i++) {
        json_decref(j);
        j = standin_job(w, id, queue);
        if (j && !strcmp(sget(j, "status"), want)) break;
        hc_test_sleep_ms(50);
    }
    return j;
}

static bool stored(const world *w, const char *id, hc_job *job) {
    hc_store *s = NULL;
    hc_err err = {0};
    if (hc_store_open(w->store, &s, &err) != 0) return false;
    bool ok = hc_store_get(s, id, job, &err) == 0;
    hc_store_close(s);
    return ok;
}

/* ---- the stand-in itself -------------------------------------------------- */

HC_TEST_T(batch_standin_shapes_checked_with_botocore, 60) {
    if (hc_test_run("python3 -c 'import botocore' 2>/dev/null", NULL) != 0)
        SKIP("python3-botocore is not installed");
    int pid = 0;
    int port = hc_test_py("batch_api.py", "--run true", &pid);
    CHECK(port > 0);
    char cmd[PATH_MAX + 128], *out = NULL;
    snprintf(cmd, sizeof cmd, "python3 %s/tests/data/batch_api_check.py http://127.0.0.1:%d",
             hc_test_root(), port);
    int rc = hc_test_run(cmd, &out);
    stop_pid(pid);
    CHECKF(rc == 0, "botocore check failed (%d): %s", rc, out ? out : "");
    CHECKF(out && strstr(out, "ok"), "%s", out ? out : "");
    free(out);
}

HC_TEST(executor_batch_job_name_follows_batch_rules) {
    char name[129];
    hc_sched_job_name("test-001", name, sizeof name);
    CHECK(!strcmp(name, "hc-test-001"));
    hc_sched_job_name("a.b c/d:é", name, sizeof name);
    CHECKF(!strcmp(name, "hc-a_b_c_d___"), "%s", name);
    char longid[300];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = 0;
    hc_sched_job_name(longid, name, sizeof name);
    CHECK(strlen(name) == 128);
}

/* ---- through the real server ------------------------------------------------ */

HC_TEST_T(batch_serve_jobs_complete_through_batch_workers, 300) {
    world w = {0};
    CHECK(world_start(&w, "cpu", NULL, NULL));
    CHECK(submit(&w, "bj-1", SMALL) == 202);
    CHECK(submit(&w, "bj-2", SMALL) == 202);
    json_t *a = wait_status(&w, "bj-1", NULL, 180), *b = wait_status(&w, "bj-2", NULL, 180);
    CHECK(a && b);
    CHECKF(!strcmp(sget(a, "status"), "completed"), "bj-1 %s: %s", sget(a, "status"),
           sget(json_object_get(a, "error"), "message"));
    CHECK(!strcmp(sget(b, "status"), "completed"));
    json_t *sj = standin_job_in(&w, "bj-1", "q-cpu", "SUCCEEDED");
    CHECK(sj);
    /* batch_job_id is the Batch jobId; the job ran as hc-<id> on its queue
     * with its definition, and the override carried only HC_JOB_ID. */
    CHECKF(!strcmp(sget(a, "batch_job_id"), sget(sj, "jobId")), "%s vs %s", sget(a, "batch_job_id"),
           sget(sj, "jobId"));
    CHECK(!strcmp(sget(sj, "jobName"), "hc-bj-1"));
    CHECK(!strcmp(sget(sj, "jobDefinition"), "jd-cpu"));
    CHECK(!strcmp(sget(sj, "status"), "SUCCEEDED"));
    json_t *env = json_object_get(json_object_get(sj, "container"), "environment");
    CHECK(json_array_size(env) == 1);
    CHECKF(!strncmp(sget(a, "output_url"), w.url, strlen(w.url)), "%s", sget(a, "output_url"));
    char out[PATH_MAX + 64];
    snprintf(out, sizeof out, "%s/outputs/renders/bj-1.mp4", w.data);
    struct stat st;
    CHECK(stat(out, &st) == 0 && st.st_size > 1000);
    json_decref(sj);
    json_decref(a);
    json_decref(b);
    world_stop(&w);
}

HC_TEST_T(batch_bad_input_never_reaches_batch, 120) {
    world w = {0};
    CHECK(world_start(&w, "cpu", NULL, NULL));
    char url[512];
    snprintf(url, sizeof url, "%s/render", w.url);
    CHECK(hc_test_http("POST", url, "{\"images\":[]}", NULL, NULL, NULL) == 400);
    CHECK(submit(&w, "bad-1", "{\"fps\":7}") == 400);
    CHECK(submit(&w, "bad-2", "{\"ai_effects\":[\"no_such_effect\"]}") == 400);
    hc_test_sleep_ms(1500);
    CHECK(ops(&w, "submitjob") == 0);
    world_stop(&w);
}

HC_TEST_T(batch_delete_terminates_the_batch_job, 120) {
    world w = {0};
    /* The CPU queue has no capacity: the job waits in RUNNABLE. */
    CHECK(world_start(&w, "cpu", "--stall-queue q-cpu", NULL));
    CHECK(submit(&w, "del-1", SMALL) == 202);
    json_t *p = wait_status(&w, "del-1", "processing", 30);
    CHECK(p);
    const char *bid = sget(p, "batch_job_id");
    CHECK(bid[0]);
    char url[512];
    snprintf(url, sizeof url, "%s/render/del-1", w.url);
    long st = hc_test_http("DELETE", url, NULL, NULL, NULL, NULL);
    CHECKF(st == 200 || st == 202, "DELETE: %ld", st);
    json_t *sj = NULL;
    for (int i = 0; i < 50; i++) {
        json_decref(sj);
        sj = standin_job(&w, "del-1", NULL);
        if (sj && json_is_true(json_object_get(sj, "terminated"))) break;
        hc_test_sleep_ms(100);
    }
    CHECK(sj && json_is_true(json_object_get(sj, "terminated")));
    CHECK(!strcmp(sget(sj, "jobId"), bid));
    json_t *c = status_of(&w, "del-1");
    CHECK(!strcmp(sget(c, "status"), "canceled"));
    json_decref(c);
    json_decref(sj);
    json_decref(p);
    world_stop(&w);
}

HC_TEST_T(batch_lost_job_is_retried_then_failed, 180) {
    world w = {0};
    CHECK(world_start(&w, "cpu", "--lose", "--max-attempts 2"));
    CHECK(submit(&w, "lost-1", SMALL) == 202);
    json_t *f = wait_status(&w, "lost-1", NULL, 120);
    CHECK(f);
    CHECKF(!strcmp(sget(f, "status"), "failed"), "%s", sget(f, "status"));
    const char *msg = sget(json_object_get(f, "error"), "message");
    CHECKF(strstr(msg, "vanished") && strstr(msg, "after 2 attempts"), "%s", msg);
    CHECK(ops(&w, "submitjob") == 2); /* one submission per attempt */
    json_decref(f);
    world_stop(&w);
}

HC_TEST_T(batch_auto_moves_from_gpu_queue_to_cpu_queue, 240) {
    world w = {0};
    setenv("HC_GPU_WAIT_S", "2", 1);
    /* The GPU pool never gets capacity. */
    bool ok = world_start(&w, "gpu+cpu", "--stall-queue q-gpu", NULL);
    unsetenv("HC_GPU_WAIT_S");
    CHECK(ok);
    CHECK(submit(&w, "auto-1",
                 "{\"target_duration\":2,\"resolution\":\"720p\",\"quality\":"
                 "\"draft\",\"hardware\":\"auto\"}") == 202);
    CHECK(submit(&w, "gpu-1",
                 "{\"target_duration\":2,\"resolution\":\"720p\",\"quality\":"
                 "\"draft\",\"hardware\":\"gpu\"}") == 202);
    json_t *a = wait_status(&w, "auto-1", NULL, 180);
    CHECK(a);
    CHECKF(!strcmp(sget(a, "status"), "completed"), "%s: %s", sget(a, "status"),
           sget(json_object_get(a, "error"), "message"));
    json_t *g = standin_job(&w, "auto-1", "q-gpu");
    json_t *c = standin_job_in(&w, "auto-1", "q-cpu", "SUCCEEDED");
    CHECK(g && c);
    CHECK(json_is_true(json_object_get(g, "terminated"))); /* the GPU submission canceled */
    CHECK(!strcmp(sget(c, "status"), "SUCCEEDED"));
    CHECK(!strcmp(sget(a, "batch_job_id"), sget(c, "jobId")));
    /* The move is not an attempt. */
    hc_job job = {0};
    CHECK(stored(&w, "auto-1", &job));
    CHECK(job.attempts == 1);
    hc_job_fini(&job);
    /* hardware gpu waits for the GPU queue: never moved. */
    json_t *gs = status_of(&w, "gpu-1");
    CHECK(!strcmp(sget(gs, "status"), "processing"));
    json_t *gc = standin_job(&w, "gpu-1", "q-cpu");
    CHECK(gc == NULL);
    json_decref(gs);
    json_decref(g);
    json_decref(c);
    json_decref(a);
    world_stop(&w);
}

HC_TEST_T(batch_spot_reclaim_mid_render_completes_once, 300) {
    world w = {0};
    CHECK(world_start(&w, "cpu", NULL, NULL));
    CHECK(submit(&w, "spot-1", "{\"target_duration\":20,\"quality\":\"draft\"}") == 202);
    /* Wait for the render to be under way, then reclaim the instance. */
    double end = hc_test_now_s() + 120;
    bool rendering = false;
    while (!rendering && hc_test_now_s() < end) {
        json_t *s = status_of(&w, "spot-1");
        rendering = !strcmp(sget(s, "current_step"), "rendering") &&
                    json_integer_value(json_object_get(s, "progress")) > 0;
        json_decref(s);
        if (!rendering) hc_test_sleep_ms(100);
    }
    CHECK(rendering);
    json_t *sj = standin_job(&w, "spot-1", NULL);
    CHECK(sj);
    char url[512], *resp = NULL;
    snprintf(url, sizeof url, "%s/_control/reclaim?job=%s", w.batch, sget(sj, "jobId"));
    CHECK(hc_test_http("POST", url, "", NULL, &resp, NULL) == 200);
    free(resp);
    json_t *f = wait_status(&w, "spot-1", NULL, 240);
    CHECK(f);
    CHECKF(!strcmp(sget(f, "status"), "completed"), "%s: %s", sget(f, "status"),
           sget(json_object_get(f, "error"), "message"));
    json_decref(sj);
    sj = standin_job(&w, "spot-1", NULL);
    CHECK(sj);
    CHECK(json_array_size(json_object_get(sj, "attempts")) == 2);
    CHECK(ops(&w, "submitjob") == 1);
    hc_job job = {0};
    CHECK(stored(&w, "spot-1", &job));
    CHECK(job.status == HC_JOB_COMPLETED && job.attempts == 1);
    hc_job_fini(&job);
    json_decref(sj);
    json_decref(f);
    world_stop(&w);
}

/* ---- the worker as the Batch entry point ---------------------------------------- */

/* Run the worker with extra environment words; returns its exit status,
 * stderr into *log (caller frees). */
static int run_worker(const char *env, char **log) {
    char cmd[8192], path[PATH_MAX];
    snprintf(path, sizeof path, "%s/worker-%d.log", hc_test_tmpdir(), rand());
    snprintf(cmd, sizeof cmd, "env %s %s worker 2>%s", env, hc_test_bin(), path);
    int rc = hc_test_run(cmd, NULL);
    if (log) *log = hc_test_read_file(path, NULL);
    return rc;
}

HC_TEST_T(batch_late_or_duplicate_worker_changes_nothing, 300) {
    world w = {0};
    CHECK(world_start(&w, "cpu", NULL, NULL));
    CHECK(submit(&w, "late-1", SMALL) == 202);
    json_t *a = wait_status(&w, "late-1", NULL, 180);
    CHECK(a && !strcmp(sget(a, "status"), "completed"));
    hc_job before = {0}, after = {0};
    CHECK(stored(&w, "late-1", &before));
    char out[PATH_MAX + 64];
    snprintf(out, sizeof out, "%s/outputs/renders/late-1.mp4", w.data);
    struct stat s1, s2;
    CHECK(stat(out, &s1) == 0);
    /* Batch runs the same job again (a late retry), and a stray worker of
     * another Batch job names it too. */
    char env[512];
    snprintf(env, sizeof env, "HC_JOB_ID=late-1 AWS_BATCH_JOB_ID=%s AWS_BATCH_JOB_ATTEMPT=2",
             before.batch_job_id);
    CHECK(run_worker(env, NULL) == 0);
    CHECK(run_worker("HC_JOB_ID=late-1 AWS_BATCH_JOB_ID=someone-else", NULL) == 0);
    CHECK(stored(&w, "late-1", &after));
    CHECK(after.status == HC_JOB_COMPLETED && after.updated_us == before.updated_us &&
          after.finished_us == before.finished_us && after.attempts == before.attempts);
    CHECK(stat(out, &s2) == 0 && s2.st_mtim.tv_sec == s1.st_mtim.tv_sec &&
          s2.st_mtim.tv_nsec == s1.st_mtim.tv_nsec);
    hc_job_fini(&before);
    hc_job_fini(&after);
    json_decref(a);
    world_stop(&w);
}

HC_TEST_T(batch_worker_from_parameters_with_secrets_and_signed_callback, 300) {
    world w = {0};
    world_env(&w, "cpu");
    char imgs[PATH_MAX];
    snprintf(imgs, sizeof imgs, "%s/img", hc_test_tmpdir());
    mkdir(imgs, 0755);
    CHECK(hc_test_make_jpegs(imgs, 3, 320, 240) == 0);
    w.img_port = hc_test_httpd(imgs);
    CHECK(w.img_port > 0);
    char secrets[PATH_MAX];
    snprintf(secrets, sizeof secrets, "%s/secrets.json", hc_test_tmpdir());
    const char *sj = "{\"hydra/prod\":\"{\\\"CALLBACK_SECRET\\\":\\\"cb-s3cr3t-value\\\","
                     "\\\"OPENAI_API_KEY\\\":\\\"REPLACE_ME\\\"}\"}";
    CHECK(hc_test_write_file(secrets, sj, strlen(sj)) == 0);
    int spid = 0;
    int sport = hc_test_py("secrets_api.py", secrets, &spid);
    CHECK(sport > 0);
    char body[2048], env[8192];
    snprintf(body, sizeof body,
             "{\"job_id\":\"param-1\",\"images\":[{\"url\":\"http://127.0.0.1:%d/img0.jpg\"},"
             "{\"url\":\"http://127.0.0.1:%d/img1.jpg\"}],\"settings\":%s,"
             "\"callback_url\":\"http://127.0.0.1:%d/callback/param\"}",
             w.img_port, w.img_port, SMALL, w.img_port);
    /* The whole request as one shell word. */
    char quoted[4096];
    size_t o = 0;
    quoted[o++] = '\'';
    for (const char *p = body; *p && o < sizeof quoted - 8; p++) {
        if (*p == '\'') {
            memcpy(quoted + o, "'\\''", 4);
            o += 4;
        } else {
            quoted[o++] = *p;
        }
    }
    quoted[o++] = '\'';
    quoted[o] = 0;
    snprintf(env, sizeof env,
             "-u HC_JOB_ID -u CALLBACK_SECRET -u OPENAI_API_KEY "
             "AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:%d SECRETS_NAME=hydra/prod "
             "AWS_BATCH_JOB_ID=b-param-1 AWS_BATCH_JOB_ATTEMPT=1 BATCH_JOB_PARAMETERS=%s",
             sport, quoted);
    char *log = NULL;
    int rc = run_worker(env, &log);
    CHECKF(rc == 0, "worker exit %d: %s", rc, log ? log : "");
    CHECKF(log && !strstr(log, "cb-s3cr3t-value"), "the secret was logged");
    hc_job job = {0};
    CHECK(stored(&w, "param-1", &job));
    CHECK(job.status == HC_JOB_COMPLETED);
    CHECK(!strcmp(job.batch_job_id, "b-param-1"));
    CHECK(job.cb_state == HC_CB_DELIVERED);
    hc_job_fini(&job);
    /* The callback, signed with the secret's CALLBACK_SECRET. */
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hooks/param", w.img_port);
    json_t *hooks = get_json(url, NULL);
    CHECK(json_array_size(hooks) == 1);
    json_t *h = json_array_get(hooks, 0);
    const char *sig = sget(json_object_get(h, "headers"), "x-hydra-signature");
    const char *hb = sget(h, "body");
    long long t = 0;
    CHECK(sscanf(sig, "t=%lld,", &t) == 1);
    char want[128];
    hc_callback_signature("cb-s3cr3t-value", (int64_t)t, hb, strlen(hb), want, sizeof want);
    CHECKF(!strcmp(sig, want), "%s vs %s", sig, want);
    CHECK(!strstr(hb, "cb-s3cr3t-value"));
    json_decref(hooks);
    free(log);
    /* Bad parameters are exit 2 and store nothing; an unknown secret is 1. */
    rc = run_worker("-u HC_JOB_ID -u SECRETS_NAME BATCH_JOB_PARAMETERS='{\"images\":[]}'", NULL);
    CHECK(rc == 2);
    snprintf(env, sizeof env,
             "AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:%d SECRETS_NAME=nope "
             "HC_JOB_ID=param-1",
             sport);
    CHECK(run_worker(env, NULL) == 1);
    stop_pid(spid);
}

HC_TEST_T(batch_worker_exit_codes_transient_is_3, 120) {
    world w = {0};
    world_env(&w, "cpu");
    /* The store unreachable: worth another attempt. */
    CHECK(run_worker("HC_JOB_ID=x HC_STORE=sqlite:/nonexistent/dir/jobs.db", NULL) == 3);
    /* No job named at all: a usage error. */
    CHECK(run_worker("-u HC_JOB_ID -u BATCH_JOB_PARAMETERS", NULL) == 2);
}
