/* Tests of src/dispatch: the slot choice table, the executor registry, and
 * the local executor end to end in-process (a SQLite store in the test's
 * temp dir, real `hydra-compose worker` processes rendering two small
 * images served by tests/data/httpd.py): completion with the MP4 and
 * poster in the file storage, progress written while rendering, cancel
 * stopping the worker within a second, a SIGKILLed worker requeued and
 * completed on attempt 2, max attempts, the job timeout, recovery of jobs
 * left processing, and shutdown putting running jobs back uncounted.
 * Plus the worker command alone: an unclaimed job, a bad request, and the
 * private-address guard. */
#include "core/hc_core.h"
#include "dispatch/hc_dispatch.h"
#include "hc_test.h"
#include "jobs/hc_jobs.h"
#include "store/hc_store.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- pick_slot -------------------------------------------------------------- */

HC_TEST(dispatch_pick_slot_table) {
    static const struct {
        hc_hardware hw;
        int gpu_slots, gpu_free, cpu_free, want;
    } t[] = {
        /* auto: a free GPU first, else a CPU slot */
        {HC_HW_AUTO, 1, 1, 1, 1},
        {HC_HW_AUTO, 1, 0, 1, 0},
        {HC_HW_AUTO, 1, 0, 0, -1},
        {HC_HW_AUTO, 0, 0, 2, 0},
        {HC_HW_AUTO, 2, 1, 0, 1},
        /* gpu: waits for a GPU where there are any, else runs on the CPU */
        {HC_HW_GPU, 1, 1, 1, 1},
        {HC_HW_GPU, 1, 0, 1, -1},
        {HC_HW_GPU, 0, 0, 1, 0},
        {HC_HW_GPU, 0, 0, 0, -1},
        /* cpu: never a GPU slot */
        {HC_HW_CPU, 1, 1, 1, 0},
        {HC_HW_CPU, 1, 1, 0, -1},
        {HC_HW_CPU, 0, 0, 3, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int got = hc_dispatch_pick_slot(t[i].hw, t[i].gpu_slots, t[i].gpu_free, t[i].cpu_free);
        CHECKF(got == t[i].want, "row %zu (%s, slots %d, gpu free %d, cpu free %d): got %d", i,
               hc_hardware_names[t[i].hw], t[i].gpu_slots, t[i].gpu_free, t[i].cpu_free, got);
    }
}

HC_TEST(dispatch_executor_registry) {
    CHECK(hc_executor_find("local") == &hc_executor_local);
    CHECK(hc_executor_find("nope") == NULL);
    CHECK(hc_executor_find(NULL) == NULL);
    hc_config cfg = {0};
    hc_store *store = NULL;
    hc_err err = {0};
    CHECK(hc_store_open("mem:", &store, &err) == 0);
    hc_executor_env env = {.cfg = &cfg, .store = store, .self_exe = "/bin/false"};
    hc_executor *x = NULL;
    CHECK(hc_executor_open("slurmish", &env, &x, &err) == HC_EINVAL && !x);
    CHECKF(strstr(err.msg, "HC_EXECUTOR") && strstr(err.msg, "local"), "%s", err.msg);
    hc_executor_close(NULL, 0);
    hc_executor_wake(NULL);
    CHECK(hc_executor_stop(NULL, "x") == HC_ENOTFOUND);
    hc_store_close(store);
}

/* ---- the local executor ------------------------------------------------------ */

typedef struct ex {
    hc_config cfg; /* strings point into this struct or at literals */
    hc_store *store;
    int port;
    char data[512], store_spec[600], storage[620], outputs[600];
    pthread_mutex_t mu;
    int n_final;
    char finals[16][HC_MAX_JOB_ID_LEN + 1];
} ex;

static void on_final(void *ud, const char *job_id) {
    ex *e = ud;
    pthread_mutex_lock(&e->mu);
    if (e->n_final < 16) snprintf(e->finals[e->n_final], sizeof e->finals[0], "%s", job_id);
    e->n_final++;
    pthread_mutex_unlock(&e->mu);
}

static int finals_of(ex *e, const char *job_id) {
    int n = 0;
    pthread_mutex_lock(&e->mu);
    for (int i = 0; i < e->n_final && i < 16; i++)
        n += strcmp(e->finals[i], job_id) == 0;
    pthread_mutex_unlock(&e->mu);
    return n;
}

/* Does the binary under test have the worker command (main.c wires it)? */
static bool have_worker(void) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "%s worker --help >/dev/null 2>&1", hc_test_bin());
    return hc_test_run(cmd, NULL) == 0;
}

/* Two small photos on a test server, a SQLite store and file storage under
 * the temp dir, and the environment a worker process loads its
 * configuration from (as `serve` exports it). */
static int ex_setup(ex *e, int workers) {
    memset(e, 0, sizeof *e);
    pthread_mutex_init(&e->mu, NULL);
    setenv("no_proxy", "*", 1);
    setenv("NO_PROXY", "*", 1);
    const char *tmp = hc_test_tmpdir();
    char www[512], cmd[1400];
    snprintf(www, sizeof www, "%s/www", tmp);
    mkdir(www, 0700);
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd,
                 "ffmpeg -v error -y -f lavfi -i testsrc2=size=320x240:rate=1 -vf hue=h=%d "
                 "-frames:v 1 %s/%c.jpg",
                 i * 90, www, 'a' + i);
        if (hc_test_run(cmd, NULL) != 0) return -1;
    }
    e->port = hc_test_httpd(www);
    if (e->port <= 0) return -1;
    snprintf(e->data, sizeof e->data, "%s/data", tmp);
    mkdir(e->data, 0700);
    snprintf(e->store_spec, sizeof e->store_spec, "sqlite:%s/jobs.db", e->data);
    snprintf(e->outputs, sizeof e->outputs, "%s/outputs", e->data);
    snprintf(e->storage, sizeof e->storage, "file:%s", e->outputs);
    e->cfg.listen = "127.0.0.1:0";
    e->cfg.data_dir = e->data;
    e->cfg.store = e->store_spec;
    e->cfg.storage = e->storage;
    e->cfg.executor = "local";
    e->cfg.workers = workers;
    e->cfg.gpu_slots = 0;
    e->cfg.public_url = "http://files.test";
    e->cfg.url_allow = "127.0.0.1";
    e->cfg.max_attempts = 3;
    e->cfg.job_timeout_s = 900;
    setenv("HC_DATA_DIR", e->data, 1);
    setenv("HC_STORE", e->store_spec, 1);
    setenv("HC_STORAGE", e->storage, 1);
    setenv("HC_PUBLIC_URL", e->cfg.public_url, 1);
    setenv("HC_URL_ALLOW", e->cfg.url_allow, 1);
    if (!getenv("HC_LOG_LEVEL")) setenv("HC_LOG_LEVEL", "warn", 1);
    hc_err err = {0};
    if (hc_store_open(e->store_spec, &e->store, &err) != 0) {
        fprintf(stderr, "    store: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* Queue a job rendering the two photos for duration_s at 720p, draft. */
static int submit(ex *e, const char *job_id, double duration_s) {
    char json[1024];
    snprintf(json, sizeof json,
             "{\"job_id\":\"%s\",\"images\":[\"http://127.0.0.1:%d/a.jpg\","
             "\"http://127.0.0.1:%d/b.jpg\"],\"settings\":{\"target_duration\":%g,"
             "\"resolution\":\"720p\",\"quality\":\"draft\",\"hardware\":\"cpu\"}}",
             job_id, e->port, e->port, duration_s);
    hc_request_opts ro = {.allow_local_files = false};
    hc_request *req = NULL;
    hc_err err = {0};
    int rc = hc_request_parse(json, strlen(json), &ro, &req, &err);
    hc_job job = {0};
    if (rc == 0) {
        hc_job_from_request(&job, req);
        rc = hc_store_create(e->store, &job, NULL, &err);
    }
    if (rc != 0) fprintf(stderr, "    submit: %s\n", err.msg);
    hc_job_fini(&job);
    hc_request_free(req);
    return rc;
}

static hc_executor *ex_open(ex *e) {
    hc_executor_env env = {.cfg = &e->cfg,
                           .store = e->store,
                           .self_exe = hc_test_bin(),
                           .on_final = on_final,
                           .ud = e};
    hc_executor *x = NULL;
    hc_err err = {0};
    if (hc_executor_open("local", &env, &x, &err) != 0) fprintf(stderr, "    open: %s\n", err.msg);
    return x;
}

/* Poll until the job's status is in mask (and, if min_progress > 0, its
 * progress reached it); *job receives the last read (caller finis). */
static bool wait_job(ex *e, const char *job_id, unsigned mask, int min_progress, int timeout_ms,
                     hc_job *job) {
    for (int t = 0; t <= timeout_ms; t += 20) {
        hc_job_fini(job);
        hc_err err = {0};
        if (hc_store_get(e->store, job_id, job, &err) == 0 && (mask & HC_JOB_MASK(job->status)) &&
            job->progress >= min_progress)
            return true;
        hc_test_sleep_ms(20);
    }
    fprintf(stderr, "    %s: still %s (progress %d, %s)\n", job_id,
            hc_job_status_names[job->status], job->progress,
            job->error_message ? job->error_message : "");
    return false;
}

static pid_t worker_pid(const hc_job *job) {
    int pid = 0;
    return sscanf(job->batch_job_id, "local-%d", &pid) == 1 ? (pid_t)pid : 0;
}

/* Is the process gone (not even a zombie of ours)? */
static bool gone_within(pid_t pid, int timeout_ms) {
    for (int t = 0; t <= timeout_ms; t += 10) {
        if (kill(pid, 0) != 0 && errno == ESRCH) return true;
        hc_test_sleep_ms(10);
    }
    return false;
}

static bool file_nonempty(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && st.st_size > 0;
}

HC_TEST_T(dispatch_local_end_to_end, 180) {
    if (!have_worker()) SKIP("hydra-compose has no worker command");
    ex e;
    CHECK(ex_setup(&e, 1) == 0);
    CHECK(submit(&e, "e2e-1", 1) == 0);
    hc_executor *x = ex_open(&e);
    CHECK(x);
    hc_executor_wake(x);
    hc_job job = {0};
    CHECK(wait_job(&e, "e2e-1", HC_JOB_MASK_FINAL, 0, 120000, &job));
    CHECKF(job.status == HC_JOB_COMPLETED, "%s: %s", hc_job_status_names[job.status],
           job.error_message ? job.error_message : "");
    CHECK(job.attempts == 1);
    CHECK(worker_pid(&job) > 0);
    CHECK(job.progress == 100);
    CHECKF(strcmp(job.output_url, "http://files.test/files/renders/e2e-1.mp4") == 0, "%s",
           job.output_url);
    CHECKF(strcmp(job.poster_url, "http://files.test/files/renders/e2e-1.jpg") == 0, "%s",
           job.poster_url);
    CHECK(job.duration_s > 0.9 && job.duration_s < 1.1);
    CHECK(job.render_s > 0);
    CHECKF(strcmp(job.encoder, "libx264") == 0, "%s", job.encoder); /* a CPU slot: USE_NVENC=0 */
    CHECK(job.finished_us >= job.started_us && job.started_us > 0);
    char path[800];
    snprintf(path, sizeof path, "%s/renders/e2e-1.mp4", e.outputs);
    CHECK(file_nonempty(path));
    snprintf(path, sizeof path, "%s/renders/e2e-1.jpg", e.outputs);
    CHECK(file_nonempty(path));
    /* The work directory is gone; on_final came once. */
    snprintf(path, sizeof path, "%s/work/job-e2e-1", e.data);
    CHECK(access(path, F_OK) != 0);
    for (int t = 0; t < 100 && finals_of(&e, "e2e-1") == 0; t++)
        hc_test_sleep_ms(20);
    CHECK(finals_of(&e, "e2e-1") == 1);
    hc_executor_stats st;
    hc_executor_stats_get(x, &st);
    CHECK(st.cpu_slots == 1 && st.gpu_slots == 0 && st.cpu_running == 0);
    hc_executor_close(x, hc_now_us() + 5000000);
    hc_job_fini(&job);
    hc_store_close(e.store);
}

HC_TEST_T(dispatch_local_cancel_running, 120) {
    if (!have_worker()) SKIP("hydra-compose has no worker command");
    ex e;
    CHECK(ex_setup(&e, 1) == 0);
    CHECK(submit(&e, "long-1", 120) == 0);
    hc_executor *x = ex_open(&e);
    CHECK(x);
    hc_job job = {0};
    /* Progress is written while it renders. */
    CHECK(wait_job(&e, "long-1", HC_JOB_MASK(HC_JOB_PROCESSING), 1, 60000, &job));
    CHECKF(strcmp(job.current_step, "rendering") == 0, "%s", job.current_step);
    CHECK(job.frames_total > 0 && job.frames_done > 0);
    pid_t pid = worker_pid(&job);
    CHECK(pid > 0);
    hc_executor_stats st;
    hc_executor_stats_get(x, &st);
    CHECK(st.cpu_running == 1);

    hc_err err = {0};
    hc_job_fini(&job);
    CHECK(hc_store_cancel(e.store, "long-1", &job, &err) == 0);
    int64_t t0 = hc_now_us();
    CHECK(hc_executor_stop(x, "long-1") == 0);
    CHECK(gone_within(pid, 1000));
    CHECKF(hc_now_us() - t0 < 1000000, "%lld ms", (long long)(hc_now_us() - t0) / 1000);
    CHECK(hc_executor_stop(x, "long-1") == HC_ENOTFOUND);
    hc_job_fini(&job);
    CHECK(wait_job(&e, "long-1", HC_JOB_MASK_FINAL, 0, 1000, &job));
    CHECK(job.status == HC_JOB_CANCELED);
    for (int t = 0; t < 100 && finals_of(&e, "long-1") == 0; t++)
        hc_test_sleep_ms(20);
    CHECK(finals_of(&e, "long-1") == 1);
    char path[800];
    snprintf(path, sizeof path, "%s/renders/long-1.mp4", e.outputs);
    CHECK(access(path, F_OK) != 0);
    hc_executor_close(x, hc_now_us() + 5000000);
    hc_job_fini(&job);
    hc_store_close(e.store);
}

HC_TEST_T(dispatch_local_killed_worker_requeued, 180) {
    if (!have_worker()) SKIP("hydra-compose has no worker command");
    ex e;
    CHECK(ex_setup(&e, 1) == 0);
    CHECK(submit(&e, "kill-1", 1) == 0);
    hc_executor *x = ex_open(&e);
    CHECK(x);
    hc_job job = {0};
    CHECK(wait_job(&e, "kill-1", HC_JOB_MASK(HC_JOB_PROCESSING), 0, 30000, &job));
    pid_t pid = worker_pid(&job);
    CHECK(pid > 0);
    CHECK(kill(pid, SIGKILL) == 0);
    hc_job_fini(&job);
    CHECK(wait_job(&e, "kill-1", HC_JOB_MASK_FINAL, 0, 120000, &job));
    CHECKF(job.status == HC_JOB_COMPLETED, "%s: %s", hc_job_status_names[job.status],
           job.error_message ? job.error_message : "");
    CHECK(job.attempts == 2);
    CHECK(worker_pid(&job) != pid);
    hc_executor_close(x, hc_now_us() + 5000000);
    hc_job_fini(&job);
    hc_store_close(e.store);
}

HC_TEST_T(dispatch_local_max_attempts_fails, 120) {
    if (!have_worker()) SKIP("hydra-compose has no worker command");
    ex e;
    CHECK(ex_setup(&e, 1) == 0);
    e.cfg.max_attempts = 1;
    CHECK(submit(&e, "kill-2", 60) == 0);
    hc_executor *x = ex_open(&e);
    CHECK(x);
    hc_job job = {0};
    CHECK(wait_job(&e, "kill-2", HC_JOB_MASK(HC_JOB_PROCESSING), 0, 30000, &job));
    pid_t pid = worker_pid(&job);
    CHECK(pid > 0 && kill(pid, SIGKILL) == 0);
    hc_job_fini(&job);
    CHECK(wait_job(&e, "kill-2", HC_JOB_MASK_FINAL, 0, 5000, &job));
    CHECK(job.status == HC_JOB_FAILED);
    CHECK(job.attempts == 1);
    CHECKF(job.error_message && strstr(job.error_message, "worker killed by signal 9") &&
               strstr(job.error_message, "after 1 attempt"),
           "%s", job.error_message ? job.error_message : "(null)");
    for (int t = 0; t < 100 && finals_of(&e, "kill-2") == 0; t++)
        hc_test_sleep_ms(20);
    CHECK(finals_of(&e, "kill-2") == 1);
    hc_executor_close(x, hc_now_us() + 5000000);
    hc_job_fini(&job);
    hc_store_close(e.store);
}

HC_TEST_T(dispatch_local_timeout, 120) {
    if (!have_worker()) SKIP("hydra-compose has no worker command");
    ex e;
    CHECK(ex_setup(&e, 1) == 0);
    e.cfg.job_timeout_s = 1;
    CHECK(submit(&e, "slow-1", 120) == 0);
    hc_executor *x = ex_open(&e);
    CHECK(x);
    hc_job job = {0};
    CHECK(wait_job(&e, "slow-1", HC_JOB_MASK(HC_JOB_PROCESSING), 0, 30000, &job));
    pid_t pid = worker_pid(&job);
    hc_job_fini(&job);
    CHECK(wait_job(&e, "slow-1", HC_JOB_MASK_FINAL, 0, 5000, &job));
    CHECK(job.status == HC_JOB_FAILED);
    CHECKF(strcmp(job.error_code, "TIMEOUT") == 0, "%s", job.error_code);
    CHECKF(job.error_message &&
               strcmp(job.error_message, "render exceeded HC_JOB_TIMEOUT_S=1 s") == 0,
           "%s", job.error_message ? job.error_message : "(null)");
    CHECK(gone_within(pid, 1000));
    hc_executor_close(x, hc_now_us() + 5000000);
    hc_job_fini(&job);
    hc_store_close(e.store);
}

/* Jobs left processing by a dead server: requeued (attempt counted) or,
 * at max_attempts, failed with the reason. No worker runs (workers 0). */
HC_TEST(dispatch_local_recovers_on_open) {
    ex e;
    CHECK(ex_setup(&e, 0) == 0);
    e.cfg.max_attempts = 2;
    CHECK(submit(&e, "left-1", 1) == 0);
    CHECK(submit(&e, "left-2", 1) == 0);
    hc_err err = {0};
    hc_job job = {0};
    CHECK(hc_store_get(e.store, "left-1", &job, &err) == 0);
    CHECK(hc_store_claim(e.store, &job, "local-999999", &err) == 0);
    hc_job_fini(&job);
    CHECK(hc_store_get(e.store, "left-2", &job, &err) == 0);
    job.attempts = 1; /* its second try */
    CHECK(hc_store_put(e.store, &job, HC_JOB_MASK(HC_JOB_QUEUED), &err) == 0);
    CHECK(hc_store_claim(e.store, &job, "local-999998", &err) == 0);
    CHECK(job.attempts == 2);
    hc_job_fini(&job);

    hc_executor *x = ex_open(&e);
    CHECK(x);
    CHECK(hc_store_get(e.store, "left-1", &job, &err) == 0);
    CHECK(job.status == HC_JOB_QUEUED && job.attempts == 1);
    hc_job_fini(&job);
    CHECK(hc_store_get(e.store, "left-2", &job, &err) == 0);
    CHECK(job.status == HC_JOB_FAILED);
    CHECKF(job.error_message && strstr(job.error_message, "worker died (server restarted)"), "%s",
           job.error_message ? job.error_message : "(null)");
    CHECK(finals_of(&e, "left-2") == 1);
    hc_test_sleep_ms(300); /* no slot: nothing starts */
    hc_job_fini(&job);
    CHECK(hc_store_get(e.store, "left-1", &job, &err) == 0);
    CHECK(job.status == HC_JOB_QUEUED);
    hc_executor_close(x, hc_now_us());
    hc_job_fini(&job);
    hc_store_close(e.store);
}

/* Shutdown past the grace period: the running job goes back to the queue
 * and the attempt is not counted. */
HC_TEST_T(dispatch_local_close_puts_back, 120) {
    if (!have_worker()) SKIP("hydra-compose has no worker command");
    ex e;
    CHECK(ex_setup(&e, 1) == 0);
    CHECK(submit(&e, "stay-1", 120) == 0);
    hc_executor *x = ex_open(&e);
    CHECK(x);
    hc_job job = {0};
    CHECK(wait_job(&e, "stay-1", HC_JOB_MASK(HC_JOB_PROCESSING), 1, 60000, &job));
    pid_t pid = worker_pid(&job);
    int64_t t0 = hc_now_us();
    hc_executor_close(x, hc_now_us() + 200000);
    CHECKF(hc_now_us() - t0 < 3000000, "close took %lld ms", (long long)(hc_now_us() - t0) / 1000);
    CHECK(gone_within(pid, 100));
    hc_job_fini(&job);
    hc_err err = {0};
    CHECK(hc_store_get(e.store, "stay-1", &job, &err) == 0);
    CHECKF(job.status == HC_JOB_QUEUED, "%s", hc_job_status_names[job.status]);
    CHECK(job.attempts == 0); /* released, not counted (hc_store_release) */
    CHECK(job.attempt == 1);  /* the stopped run's token is spent */
    CHECK(job.batch_job_id[0] == 0);
    hc_job_fini(&job);
    hc_store_close(e.store);
}

/* ---- the worker command alone ------------------------------------------------ */

static int run_worker(const char *job_id, char **out) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "%s worker %s 2>&1", hc_test_bin(), job_id);
    return hc_test_run(cmd, out);
}

HC_TEST(dispatch_worker_refuses_unclaimed) {
    if (!have_worker()) SKIP("hydra-compose has no worker command");
    ex e;
    CHECK(ex_setup(&e, 0) == 0);
    CHECK(submit(&e, "free-1", 1) == 0);
    char *out = NULL;
    int st = run_worker("free-1", &out);
    CHECKF(st == 1 && strstr(out, "not processing"), "exit %d: %s", st, out);
    free(out);
    hc_job job = {0};
    hc_err err = {0};
    CHECK(hc_store_get(e.store, "free-1", &job, &err) == 0);
    CHECK(job.status == HC_JOB_QUEUED);
    hc_job_fini(&job);
    st = run_worker("no-such-job", &out);
    CHECKF(st == 1, "exit %d: %s", st, out);
    free(out);
    st = run_worker("", &out);
    CHECKF(st == 2, "exit %d: %s", st, out);
    free(out);
    hc_store_close(e.store);
}

/* A request that no longer validates (stored by an older version, say)
 * fails the job with the validator's message: exit 2. */
HC_TEST(dispatch_worker_bad_request_fails_job) {
    if (!have_worker()) SKIP("hydra-compose has no worker command");
    ex e;
    CHECK(ex_setup(&e, 0) == 0);
    hc_job job = {0};
    snprintf(job.job_id, sizeof job.job_id, "bad-1");
    job.status = HC_JOB_QUEUED;
    job.request = strdup("{\"job_id\":\"bad-1\",\"images\":[]}");
    job.output_key = strdup("renders/bad-1.mp4");
    job.created_us = hc_wall_us();
    hc_err err = {0};
    CHECK(hc_store_create(e.store, &job, NULL, &err) == 0);
    CHECK(hc_store_claim(e.store, &job, "test", &err) == 0);
    hc_job_fini(&job);
    char *out = NULL;
    int st = run_worker("bad-1", &out);
    CHECKF(st == 2, "exit %d: %s", st, out);
    free(out);
    CHECK(hc_store_get(e.store, "bad-1", &job, &err) == 0);
    CHECK(job.status == HC_JOB_FAILED);
    CHECKF(strcmp(job.error_code, "INVAL") == 0 && strstr(job.error_message, "images"), "%s %s",
           job.error_code, job.error_message);
    hc_job_fini(&job);
    hc_store_close(e.store);
}

HC_TEST(dispatch_worker_refuses_private_address) {
    if (!have_worker()) SKIP("hydra-compose has no worker command");
    ex e;
    CHECK(ex_setup(&e, 0) == 0);
    unsetenv("HC_URL_ALLOW"); /* the server's default: no exemption */
    CHECK(submit(&e, "ssrf-1", 1) == 0);
    hc_job job = {0};
    hc_err err = {0};
    CHECK(hc_store_get(e.store, "ssrf-1", &job, &err) == 0);
    CHECK(hc_store_claim(e.store, &job, "test", &err) == 0);
    hc_job_fini(&job);
    char *out = NULL;
    int st = run_worker("ssrf-1", &out);
    CHECKF(st == 2, "exit %d: %s", st, out);
    free(out);
    CHECK(hc_store_get(e.store, "ssrf-1", &job, &err) == 0);
    CHECK(job.status == HC_JOB_FAILED);
    CHECKF(strcmp(job.error_code, "INVAL") == 0 &&
               strstr(job.error_message, "images[0].url: address 127.0.0.1 is loopback; set "
                                         "HC_URL_ALLOW to allow it"),
           "%s %s", job.error_code, job.error_message);
    hc_job_fini(&job);
    hc_store_close(e.store);
}
