/* End-to-end tests of `hydra-compose serve`: the real binary on an
 * ephemeral loopback port, real worker processes, a SQLite store in the
 * test's directory, images from a local HTTP server. The lifecycle, the
 * seed guide's own example, cancel, restart recovery after kill -9 of the
 * server and of a worker, 1000 concurrent submits, graceful shutdown, the
 * `jobs` command against the same store. */
#include "hc_test.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* n JPEGs img0.jpg.. of w x h in dir, served by a local HTTP server;
 * returns its port. */
static int serve_images(const char *dir, int n, int w, int h) {
    mkdir(dir, 0755);
    if (hc_test_make_jpegs(dir, n, w, h) != 0) return -1;
    return hc_test_httpd(dir);
}

typedef struct srv {
    int pid;
    char url[256];
    char data[1024];
} srv;

static bool start(srv *s, const char *args) {
    if (!s->data[0]) snprintf(s->data, sizeof s->data, "%s/data", hc_test_tmpdir());
    char all[2048];
    snprintf(all, sizeof all, "--url-allow 127.0.0.1 %s", args ? args : "");
    s->pid = hc_test_serve(s->data, all, s->url, sizeof s->url);
    return s->pid > 0;
}

static int stop(srv *s, int sig) {
    int st = 0;
    kill(s->pid, sig);
    waitpid(s->pid, &st, 0);
    s->pid = -1;
    return st;
}

/* Parsed JSON of a request to the server (NULL on a transport error or
 * non-JSON); *status gets the HTTP status. */
static json_t *call(const srv *s, const char *method, const char *path, const char *body,
                    long *status) {
    char url[2048], *resp = NULL;
    snprintf(url, sizeof url, "%s%s", s->url, path);
    long st = hc_test_http(method, url, body, NULL, &resp, NULL);
    if (status) *status = st;
    json_t *j = resp ? json_loads(resp, 0, NULL) : NULL;
    free(resp);
    return j;
}

static const char *sget(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

static json_t *status_of(const srv *s, const char *id) {
    char path[512];
    snprintf(path, sizeof path, "/render/status?job_id=%s", id);
    return call(s, "GET", path, NULL, NULL);
}

/* Poll until the job's status is `want` (or any final one when want is
 * NULL); returns the last status JSON (caller decrefs) or NULL on timeout. */
static json_t *wait_status(const srv *s, const char *id, const char *want, double timeout_s) {
    double t_end = hc_test_now_s() + timeout_s;
    while (hc_test_now_s() < t_end) {
        json_t *j = status_of(s, id);
        const char *st = sget(j, "status");
        bool final = !strcmp(st, "completed") || !strcmp(st, "failed") || !strcmp(st, "canceled");
        if (want ? !strcmp(st, want) : final) return j;
        json_decref(j);
        hc_test_sleep_ms(100);
    }
    return NULL;
}

/* A request body for n images of the local server. */
static void request_json(char *buf, size_t len, const char *id, int port, int n,
                         const char *settings) {
    int o = snprintf(buf, len, "{\"job_id\":\"%s\",\"images\":[", id);
    for (int i = 0; i < n; i++)
        o += snprintf(buf + o, len - (size_t)o, "%s{\"url\":\"http://127.0.0.1:%d/img%d.jpg\"}",
                      i ? "," : "", port, i);
    snprintf(buf + o, len - (size_t)o, "],\"settings\":%s}", settings);
}

static const char *SMALL = "{\"target_duration\":2,\"resolution\":\"720p\",\"quality\":\"draft\"}";
/* Long enough to catch it running: a 1080p render of 40 s. */
static const char *LONG = "{\"target_duration\":40,\"quality\":\"draft\"}";

static int worker_pid(json_t *st) {
    const char *b = sget(st, "batch_job_id");
    return !strncmp(b, "local-", 6) ? atoi(b + 6) : -1;
}

static bool alive(int pid) {
    char path[64], *stat;
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    stat = hc_test_read_file(path, NULL);
    if (!stat) return false;
    /* A zombie is dead already, only not reaped yet. */
    const char *p = strrchr(stat, ')');
    bool zombie = p && p[1] == ' ' && p[2] == 'Z';
    free(stat);
    return !zombie;
}

/* Live (not zombie) processes whose parent is pid. */
static int children_of(int pid) {
    DIR *d = opendir("/proc");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int child = atoi(e->d_name);
        if (child <= 0) continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/stat", child);
        char *st = hc_test_read_file(path, NULL);
        const char *p = st ? strrchr(st, ')') : NULL;
        char state = 0;
        int ppid = 0;
        if (p && sscanf(p + 1, " %c %d", &state, &ppid) == 2 && ppid == pid && state != 'Z') n++;
        free(st);
    }
    closedir(d);
    return n;
}

HC_TEST_T(serve_seed_example_as_written, 600) {
    int port = serve_images(hc_test_tmpdir(), 1, 1200, 1600);
    CHECK(port > 0);
    srv s = {0};
    CHECK(start(&s, "--workers 1"));
    /* The seed guide's request, word for word, with a reachable image. */
    char body[1024];
    snprintf(body, sizeof body,
             "{\"job_id\": \"test-001\", \"images\": [{\"url\": "
             "\"http://127.0.0.1:%d/img0.jpg\"}], \"settings\": {\"vibe\": \"Pop\", "
             "\"aspect_ratio\": \"9:16\", \"target_duration\": 15}}",
             port);
    long code = 0;
    json_t *j = call(&s, "POST", "/render", body, &code);
    CHECKF(code == 202, "POST /render: HTTP %ld", code);
    CHECK(!strcmp(sget(j, "job_id"), "test-001"));
    CHECK(!strcmp(sget(j, "status"), "queued") || !strcmp(sget(j, "status"), "processing"));
    json_decref(j);

    /* Progress is real: it rises through several values while rendering. */
    int seen[101] = {0}, distinct = 0, last = -1;
    bool monotonic = true, saw_rendering = false;
    double t_end = hc_test_now_s() + 500;
    json_t *fin = NULL;
    while (hc_test_now_s() < t_end) {
        j = status_of(&s, "test-001");
        const char *st = sget(j, "status");
        int p = (int)json_integer_value(json_object_get(j, "progress"));
        if (!strcmp(st, "processing")) {
            if (p >= 0 && p <= 100 && !seen[p]++) distinct++;
            if (p < last) monotonic = false;
            last = p;
            if (!strcmp(sget(j, "current_step"), "rendering")) saw_rendering = true;
        }
        if (!strcmp(st, "completed") || !strcmp(st, "failed")) {
            fin = j;
            break;
        }
        json_decref(j);
        hc_test_sleep_ms(200);
    }
    CHECK(fin);
    CHECKF(!strcmp(sget(fin, "status"), "completed"), "status %s: %s", sget(fin, "status"),
           json_dumps(json_object_get(fin, "error"), 0));
    CHECKF(distinct >= 3, "only %d distinct progress values", distinct);
    CHECK(monotonic);
    CHECK(saw_rendering);
    CHECK(json_integer_value(json_object_get(fin, "progress")) == 100);
    CHECK(json_integer_value(json_object_get(fin, "attempts")) == 1);
    CHECK(fabs(json_number_value(json_object_get(fin, "duration_s")) - 15.0) < 0.05);
    CHECK(!strcmp(sget(fin, "encoder"), "libx264"));
    CHECK(sget(fin, "created_at")[0] && sget(fin, "started_at")[0] && sget(fin, "finished_at")[0]);

    /* The output and poster are served, with the right types. */
    char *hdrs = NULL;
    long st = hc_test_http("HEAD", sget(fin, "output_url"), NULL, NULL, NULL, &hdrs);
    CHECKF(st == 200, "HEAD %s: %ld", sget(fin, "output_url"), st);
    CHECK(strcasestr(hdrs, "content-type: video/mp4"));
    free(hdrs);
    st = hc_test_http("HEAD", sget(fin, "poster_url"), NULL, NULL, NULL, &hdrs);
    CHECK(st == 200 && strcasestr(hdrs, "content-type: image/jpeg"));
    free(hdrs);
    char path[2048];
    snprintf(path, sizeof path, "%s/outputs/renders/test-001.mp4", s.data);
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -select_streams v -show_entries stream=width,height -of csv=p=0 %s",
             path);
    CHECK(hc_test_run(cmd, &out) == 0);
    CHECKF(!strncmp(out, "1080,1920", 9), "ffprobe: %s", out);
    free(out);
    /* The same status under the other route. */
    json_t *alt = call(&s, "GET", "/render/test-001", NULL, &code);
    CHECK(code == 200 &&
          json_equal(json_object_get(alt, "output_url"), json_object_get(fin, "output_url")));
    json_decref(alt);
    json_decref(fin);
    /* Nothing queued: no worker process idles. */
    double t0 = hc_test_now_s();
    while (children_of(s.pid) != 0 && hc_test_now_s() - t0 < 2)
        hc_test_sleep_ms(50);
    CHECKF(children_of(s.pid) == 0, "%d worker processes idle", children_of(s.pid));
    CHECK(WIFEXITED(stop(&s, SIGTERM)));
}

HC_TEST_T(serve_idempotent_job_id_and_conflict, 120) {
    int port = serve_images(hc_test_tmpdir(), 2, 320, 240);
    CHECK(port > 0);
    srv s = {0};
    CHECK(start(&s, "--workers 0"));
    char a[2048], b[2048];
    request_json(a, sizeof a, "same-1", port, 2, SMALL);
    request_json(b, sizeof b, "same-1", port, 1, SMALL);
    long c1, c2, c3;
    json_t *j1 = call(&s, "POST", "/render", a, &c1);
    /* The same body with other spacing is the same request. */
    char a2[2100];
    snprintf(a2, sizeof a2, "  %s\n", a);
    json_t *j2 = call(&s, "POST", "/render", a2, &c2);
    json_t *j3 = call(&s, "POST", "/render", b, &c3);
    CHECKF(c1 == 202 && c2 == 200 && c3 == 409, "codes %ld %ld %ld", c1, c2, c3);
    CHECK(!strcmp(sget(j2, "job_id"), "same-1"));
    json_t *err = json_object_get(j3, "error");
    CHECK(!strcmp(sget(err, "code"), "CONFLICT"));
    CHECK(strstr(sget(err, "message"), "same-1"));
    json_decref(j1);
    json_decref(j2);
    json_decref(j3);
    /* Without job_id each submit is a new job with a generated id. */
    request_json(a, sizeof a, "x", port, 1, SMALL);
    char *noid = strstr(a, "\"images\"");
    char body[2048];
    snprintf(body, sizeof body, "{%s", noid);
    json_t *g1 = call(&s, "POST", "/render", body, &c1);
    json_t *g2 = call(&s, "POST", "/render", body, &c2);
    CHECK(c1 == 202 && c2 == 202);
    CHECK(!strncmp(sget(g1, "job_id"), "render-", 7));
    CHECK(strcmp(sget(g1, "job_id"), sget(g2, "job_id")) != 0);
    json_decref(g1);
    json_decref(g2);
    stop(&s, SIGTERM);
}

HC_TEST_T(serve_cancel_stops_the_worker_within_a_second, 300) {
    int port = serve_images(hc_test_tmpdir(), 3, 1600, 1200);
    CHECK(port > 0);
    srv s = {0};
    CHECK(start(&s, "--workers 1"));
    char body[2048];
    request_json(body, sizeof body, "long-1", port, 3, LONG);
    long code;
    json_decref(call(&s, "POST", "/render", body, &code));
    CHECK(code == 202);
    /* Running, with frames encoded. */
    json_t *j = NULL;
    for (double t_end = hc_test_now_s() + 120; hc_test_now_s() < t_end; hc_test_sleep_ms(100)) {
        json_decref(j);
        j = status_of(&s, "long-1");
        if (!strcmp(sget(j, "status"), "processing") &&
            json_integer_value(json_object_get(j, "progress")) > 0)
            break;
    }
    CHECK(!strcmp(sget(j, "status"), "processing"));
    int wpid = worker_pid(j);
    json_decref(j);
    CHECKF(wpid > 0 && alive(wpid), "worker pid %d", wpid);
    double t0 = hc_test_now_s();
    j = call(&s, "DELETE", "/render/long-1", NULL, &code);
    CHECKF(code == 200, "DELETE: %ld", code);
    CHECK(!strcmp(sget(j, "status"), "canceled"));
    json_decref(j);
    while (alive(wpid) && hc_test_now_s() - t0 < 5)
        hc_test_sleep_ms(20);
    double took = hc_test_now_s() - t0;
    CHECKF(took < 1.0, "worker still running %.2f s after DELETE", took);
    /* Canceled stays canceled, and leaves no output. */
    hc_test_sleep_ms(500);
    j = status_of(&s, "long-1");
    CHECK(!strcmp(sget(j, "status"), "canceled"));
    json_decref(j);
    char path[2048];
    snprintf(path, sizeof path, "%s/outputs/renders/long-1.mp4", s.data);
    CHECK(access(path, F_OK) != 0);
    /* A second DELETE is a conflict: the job is final. */
    json_decref(call(&s, "DELETE", "/render/long-1", NULL, &code));
    CHECK(code == 409);
    stop(&s, SIGTERM);
}

HC_TEST_T(serve_recovers_after_kill_9_of_server_and_worker, 600) {
    int port = serve_images(hc_test_tmpdir(), 2, 640, 480);
    CHECK(port > 0);
    srv s = {0};
    CHECK(start(&s, "--workers 1"));
    char body[2048];
    request_json(body, sizeof body, "crash-1", port, 2,
                 "{\"target_duration\":20,\"resolution\":\"720p\",\"quality\":\"draft\"}");
    long code;
    json_decref(call(&s, "POST", "/render", body, &code));
    CHECK(code == 202);
    request_json(body, sizeof body, "queued-1", port, 2, SMALL);
    json_decref(call(&s, "POST", "/render", body, &code));
    CHECK(code == 202);
    json_t *j = wait_status(&s, "crash-1", "processing", 60);
    CHECK(j);
    int wpid = worker_pid(j);
    json_decref(j);

    /* kill -9 the server: its worker goes with it; nothing is lost. */
    stop(&s, SIGKILL);
    for (double t0 = hc_test_now_s(); wpid > 0 && alive(wpid) && hc_test_now_s() - t0 < 5;)
        hc_test_sleep_ms(20);
    CHECK(!alive(wpid));
    CHECK(start(&s, "--workers 1"));
    j = wait_status(&s, "crash-1", "processing", 60);
    CHECK(j);
    CHECKF(json_integer_value(json_object_get(j, "attempts")) == 2, "attempts %lld",
           (long long)json_integer_value(json_object_get(j, "attempts")));
    wpid = worker_pid(j);
    json_decref(j);

    /* kill -9 the worker: the job is tried again. */
    CHECK(wpid > 0 && kill(wpid, SIGKILL) == 0);
    j = wait_status(&s, "crash-1", NULL, 300);
    CHECK(j);
    CHECKF(!strcmp(sget(j, "status"), "completed"), "status %s", sget(j, "status"));
    CHECK(json_integer_value(json_object_get(j, "attempts")) == 3);
    json_decref(j);
    j = wait_status(&s, "queued-1", "completed", 120);
    CHECK(j);
    CHECK(json_integer_value(json_object_get(j, "attempts")) == 1);
    json_decref(j);
    stop(&s, SIGTERM);
}

HC_TEST_T(serve_fails_a_job_after_max_attempts, 300) {
    int port = serve_images(hc_test_tmpdir(), 2, 640, 480);
    CHECK(port > 0);
    srv s = {0};
    CHECK(start(&s, "--workers 1 --max-attempts 2"));
    char body[2048];
    request_json(body, sizeof body, "doomed", port, 2, LONG);
    long code;
    json_decref(call(&s, "POST", "/render", body, &code));
    for (int attempt = 1; attempt <= 2; attempt++) {
        json_t *j = NULL;
        for (double t_end = hc_test_now_s() + 60; hc_test_now_s() < t_end; hc_test_sleep_ms(50)) {
            json_decref(j);
            j = status_of(&s, "doomed");
            if (!strcmp(sget(j, "status"), "processing") &&
                json_integer_value(json_object_get(j, "attempts")) == attempt && worker_pid(j) > 0)
                break;
        }
        CHECKF(j && json_integer_value(json_object_get(j, "attempts")) == attempt,
               "attempt %d never started", attempt);
        kill(worker_pid(j), SIGKILL);
        json_decref(j);
    }
    json_t *j = wait_status(&s, "doomed", NULL, 30);
    CHECK(j);
    CHECK(!strcmp(sget(j, "status"), "failed"));
    const char *msg = sget(json_object_get(j, "error"), "message");
    CHECKF(strstr(msg, "attempt") || strstr(msg, "signal"), "error: %s", msg);
    json_decref(j);
    stop(&s, SIGTERM);
}

typedef struct burst {
    const srv *s;
    int port, first, n, ok;
} burst;

static void *submit_burst(void *arg) {
    burst *b = arg;
    for (int i = b->first; i < b->first + b->n; i++) {
        char id[32], body[1024];
        snprintf(id, sizeof id, "bulk-%04d", i);
        request_json(body, sizeof body, id, b->port, 1, SMALL);
        long code = 0;
        char url[512], *resp = NULL;
        snprintf(url, sizeof url, "%s/render", b->s->url);
        code = hc_test_http("POST", url, body, NULL, &resp, NULL);
        free(resp);
        if (code == 202) b->ok++;
    }
    return NULL;
}

HC_TEST_T(serve_thousand_concurrent_submits_none_lost, 300) {
    srv s = {0};
    CHECK(start(&s, "--workers 0"));
    enum { THREADS = 50, EACH = 20 };
    pthread_t th[THREADS];
    burst b[THREADS];
    for (int i = 0; i < THREADS; i++) {
        b[i] = (burst){.s = &s, .port = 9, .first = i * EACH, .n = EACH};
        pthread_create(&th[i], NULL, submit_burst, &b[i]);
    }
    int ok = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        ok += b[i].ok;
    }
    CHECKF(ok == THREADS * EACH, "%d of %d accepted", ok, THREADS * EACH);
    /* Every accepted job is stored, even across kill -9. */
    stop(&s, SIGKILL);
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "HC_DATA_DIR=%s %s jobs list --status queued --limit 1000 --json",
             s.data, hc_test_bin());
    CHECK(hc_test_run(cmd, &out) == 0);
    json_t *j = json_loads(out, 0, NULL);
    free(out);
    CHECK(j);
    CHECKF(json_array_size(json_object_get(j, "jobs")) == THREADS * EACH, "%zu jobs listed",
           json_array_size(json_object_get(j, "jobs")));
    json_decref(j);
}

HC_TEST_T(serve_sigterm_lets_the_render_finish_and_keeps_the_queue, 300) {
    int port = serve_images(hc_test_tmpdir(), 2, 640, 480);
    CHECK(port > 0);
    srv s = {0};
    CHECK(start(&s, "--workers 1 --shutdown-grace 120"));
    char body[2048];
    request_json(body, sizeof body, "finishing", port, 2,
                 "{\"target_duration\":6,\"resolution\":\"720p\",\"quality\":\"draft\"}");
    long code;
    json_decref(call(&s, "POST", "/render", body, &code));
    request_json(body, sizeof body, "waiting", port, 2, SMALL);
    json_decref(call(&s, "POST", "/render", body, &code));
    json_t *j = wait_status(&s, "finishing", "processing", 60);
    CHECK(j);
    json_decref(j);
    int st = stop(&s, SIGTERM);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "HC_DATA_DIR=%s %s jobs show finishing", s.data, hc_test_bin());
    CHECK(hc_test_run(cmd, &out) == 0);
    j = json_loads(out, 0, NULL);
    free(out);
    CHECKF(!strcmp(sget(j, "status"), "completed"), "finishing: %s", sget(j, "status"));
    json_decref(j);
    snprintf(cmd, sizeof cmd, "HC_DATA_DIR=%s %s jobs show waiting", s.data, hc_test_bin());
    CHECK(hc_test_run(cmd, &out) == 0);
    j = json_loads(out, 0, NULL);
    free(out);
    CHECKF(!strcmp(sget(j, "status"), "queued"), "waiting: %s", sget(j, "status"));
    json_decref(j);
}

HC_TEST_T(serve_jobs_command_lists_cancels_and_retries, 300) {
    int port = serve_images(hc_test_tmpdir(), 2, 320, 240);
    CHECK(port > 0);
    srv s = {0};
    CHECK(start(&s, "--workers 1"));
    char body[2048];
    request_json(body, sizeof body, "op-1", port, 2, SMALL);
    long code;
    json_decref(call(&s, "POST", "/render", body, &code));
    json_t *j = wait_status(&s, "op-1", "completed", 120);
    CHECK(j);
    json_decref(j);
    /* cancel from the command line: a final job cannot be canceled. */
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "HC_DATA_DIR=%s %s jobs cancel op-1 2>&1", s.data, hc_test_bin());
    CHECK(hc_test_run(cmd, &out) == 1);
    free(out);
    snprintf(cmd, sizeof cmd, "HC_DATA_DIR=%s %s jobs show nope 2>&1", s.data, hc_test_bin());
    CHECK(hc_test_run(cmd, &out) == 1);
    CHECK(strstr(out, "nope"));
    free(out);
    /* retry a canceled job: the running server picks it up and renders it. */
    request_json(body, sizeof body, "op-2", port, 2, LONG);
    json_decref(call(&s, "POST", "/render", body, &code));
    j = wait_status(&s, "op-2", "processing", 60);
    CHECK(j);
    int wpid = worker_pid(j);
    json_decref(j);
    snprintf(cmd, sizeof cmd, "HC_DATA_DIR=%s %s jobs cancel op-2", s.data, hc_test_bin());
    CHECK(hc_test_run(cmd, &out) == 0);
    j = json_loads(out, 0, NULL);
    free(out);
    CHECK(!strcmp(sget(j, "status"), "canceled"));
    json_decref(j);
    /* The worker notices through the store. */
    double t0 = hc_test_now_s();
    while (alive(wpid) && hc_test_now_s() - t0 < 5)
        hc_test_sleep_ms(20);
    CHECKF(!alive(wpid), "worker alive %.1f s after jobs cancel", hc_test_now_s() - t0);
    snprintf(cmd, sizeof cmd, "HC_DATA_DIR=%s %s jobs list --json", s.data, hc_test_bin());
    CHECK(hc_test_run(cmd, &out) == 0);
    j = json_loads(out, 0, NULL);
    free(out);
    CHECK(json_array_size(json_object_get(j, "jobs")) == 2);
    /* Newest first. */
    CHECK(!strcmp(sget(json_array_get(json_object_get(j, "jobs"), 0), "job_id"), "op-2"));
    json_decref(j);
    /* A retry with a short job body is not possible (the request is
     * stored); retry op-1 instead after canceling nothing: completed jobs
     * cannot be retried. */
    snprintf(cmd, sizeof cmd, "HC_DATA_DIR=%s %s jobs retry op-1 2>&1", s.data, hc_test_bin());
    CHECK(hc_test_run(cmd, &out) == 1);
    free(out);
    snprintf(cmd, sizeof cmd, "HC_DATA_DIR=%s %s jobs retry op-2", s.data, hc_test_bin());
    CHECK(hc_test_run(cmd, &out) == 0);
    free(out);
    j = wait_status(&s, "op-2", "processing", 30);
    CHECK(j);
    json_decref(j);
    stop(&s, SIGTERM);
}

HC_TEST_T(serve_job_timeout_fails_the_job, 300) {
    int port = serve_images(hc_test_tmpdir(), 2, 640, 480);
    CHECK(port > 0);
    srv s = {0};
    CHECK(start(&s, "--workers 1 --job-timeout 2"));
    char body[2048];
    request_json(body, sizeof body, "slowpoke", port, 2, LONG);
    long code;
    json_decref(call(&s, "POST", "/render", body, &code));
    json_t *j = wait_status(&s, "slowpoke", NULL, 60);
    CHECK(j);
    CHECK(!strcmp(sget(j, "status"), "failed"));
    CHECKF(!strcmp(sget(json_object_get(j, "error"), "code"), "TIMEOUT"), "error %s",
           sget(json_object_get(j, "error"), "code"));
    json_decref(j);
    /* The killed worker's work directory (downloads, the partial MP4) is
     * removed, and nothing half-uploaded is left in the storage. */
    char path[2048];
    snprintf(path, sizeof path, "%s/work/job-slowpoke", s.data);
    for (double t0 = hc_test_now_s(); access(path, F_OK) == 0 && hc_test_now_s() - t0 < 2;)
        hc_test_sleep_ms(50);
    CHECK(access(path, F_OK) != 0);
    snprintf(path, sizeof path, "%s/outputs/renders/slowpoke.mp4.part", s.data);
    CHECK(access(path, F_OK) != 0);
    snprintf(path, sizeof path, "%s/outputs/renders/slowpoke.mp4", s.data);
    CHECK(access(path, F_OK) != 0);
    stop(&s, SIGTERM);
}

HC_TEST(serve_help_lists_every_setting) {
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s serve --help", hc_test_bin());
    CHECK(hc_test_run(cmd, &out) == 0);
    static const char *const names[] = {
        "HC_LISTEN",        "--listen",      "HC_DATA_DIR",         "--data-dir",
        "HC_STORE",         "--store",       "HC_STORAGE",          "--storage",
        "HC_EXECUTOR",      "--executor",    "HC_WORKERS",          "--workers",
        "HC_API_KEYS",      "--api-keys",    "HC_PUBLIC_URL",       "--public-url",
        "HC_URL_ALLOW",     "--url-allow",   "HC_MAX_ATTEMPTS",     "--max-attempts",
        "HC_JOB_TIMEOUT_S", "--job-timeout", "CALLBACK_SECRET",     "USE_NVENC",
        "HC_LOG_LEVEL",     "--log-level",   "DYNAMODB_JOBS_TABLE", "AWS_S3_BUCKET"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECKF(strstr(out, names[i]), "serve --help lacks %s", names[i]);
    free(out);
    /* A secret is never printed. */
    snprintf(cmd, sizeof cmd, "HC_API_KEYS=k-very-secret CALLBACK_SECRET=s3cr3t %s serve --help",
             hc_test_bin());
    CHECK(hc_test_run(cmd, &out) == 0);
    CHECK(!strstr(out, "k-very-secret") && !strstr(out, "s3cr3t"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s serve --workers many 2>&1", hc_test_bin());
    CHECK(hc_test_run(cmd, &out) == 2);
    CHECK(strstr(out, "--workers"));
    free(out);
}

/* What the callback receiver `name` of the local server got (a JSON array,
 * caller decrefs), once it holds n deliveries or timeout_s passed. */
static json_t *wait_hooks(int port, const char *name, size_t n, double timeout_s) {
    json_t *hooks = NULL;
    for (double t_end = hc_test_now_s() + timeout_s; hc_test_now_s() < t_end;
         hc_test_sleep_ms(50)) {
        char url[256], *resp = NULL;
        snprintf(url, sizeof url, "http://127.0.0.1:%d/hooks/%s", port, name);
        hc_test_http("GET", url, NULL, NULL, &resp, NULL);
        json_decref(hooks);
        hooks = json_loads(resp, 0, NULL);
        free(resp);
        if (json_array_size(hooks) >= n) break;
    }
    return hooks;
}

HC_TEST_T(serve_callback_follows_the_stored_state_and_is_signed, 300) {
    int port = serve_images(hc_test_tmpdir(), 2, 320, 240);
    CHECK(port > 0);
    srv s = {0};
    /* The receiver fails once: the retry carries the same delivery id. */
    CHECK(start(&s, "--workers 1 --callback-backoff-ms 200"));
    char body[2048], settings[512];
    snprintf(settings, sizeof settings,
             "%s,\"callback_url\":\"http://127.0.0.1:%d/hook/1/cb\","
             "\"callback_secret\":\"whsec_e2e\",\"metadata\":{\"user\":42}",
             SMALL, port);
    request_json(body, sizeof body, "cb-1", port, 2, settings);
    long code;
    json_t *j = call(&s, "POST", "/render", body, &code);
    CHECKF(code == 202, "POST: %ld %s", code, sget(json_object_get(j, "error"), "message"));
    /* The status JSON never shows the secret or the callback URL. */
    char *text = json_dumps(j, 0);
    CHECK(!strstr(text, "whsec_e2e") && !strstr(text, "/hook/"));
    free(text);
    json_decref(j);
    json_t *hooks = wait_hooks(port, "cb", 2, 120);
    CHECKF(json_array_size(hooks) == 2, "%zu deliveries", json_array_size(hooks));
    json_t *first = json_array_get(hooks, 0), *second = json_array_get(hooks, 1);
    json_t *h1 = json_object_get(first, "headers"), *h2 = json_object_get(second, "headers");
    CHECK(!strcmp(sget(h2, "x-hydra-event"), "render.completed"));
    CHECK(sget(h2, "x-hydra-delivery")[0]);
    CHECK(!strcmp(sget(h1, "x-hydra-delivery"), sget(h2, "x-hydra-delivery")));
    const char *raw = sget(second, "body");
    CHECK(!strstr(raw, "whsec_e2e"));
    json_t *cb = json_loads(raw, 0, NULL);
    CHECK(!strcmp(sget(cb, "status"), "completed") && !strcmp(sget(cb, "job_id"), "cb-1"));
    CHECK(json_integer_value(json_object_get(json_object_get(cb, "metadata"), "user")) == 42);
    /* Stored before sent: the status already says what the callback says. */
    json_t *st = status_of(&s, "cb-1");
    CHECK(!strcmp(sget(st, "status"), "completed"));
    CHECK(json_equal(json_object_get(st, "output_url"), json_object_get(cb, "output_url")));
    json_decref(st);
    json_decref(cb);
    /* Verify "t=UNIX,v1=HEX" independently with openssl. */
    const char *sig = sget(h2, "x-hydra-signature");
    long t = 0;
    char hex[65] = "";
    CHECKF(sscanf(sig, "t=%ld,v1=%64[0-9a-f]", &t, hex) == 2, "signature header %s", sig);
    char path[1024], cmd[2048], *out = NULL;
    snprintf(path, sizeof path, "%s/signed.txt", hc_test_tmpdir());
    FILE *f = fopen(path, "wb");
    CHECK(f);
    fprintf(f, "%ld.%s", t, raw);
    fclose(f);
    snprintf(cmd, sizeof cmd, "openssl dgst -sha256 -hmac whsec_e2e -r %s", path);
    CHECK(hc_test_run(cmd, &out) == 0);
    CHECKF(!strncmp(out, hex, 64), "openssl %s vs header %s", out, hex);
    free(out);
    json_decref(hooks);
    stop(&s, SIGTERM);
}

HC_TEST_T(serve_cancel_during_download_and_dashed_ids, 300) {
    int port = serve_images(hc_test_tmpdir(), 2, 320, 240);
    CHECK(port > 0);
    srv s = {0};
    CHECK(start(&s, "--workers 1"));
    /* /slow/ answers after 5 s: the worker is inside the download. */
    char body[2048];
    snprintf(body, sizeof body,
             "{\"job_id\":\"slow-1\",\"images\":[{\"url\":\"http://127.0.0.1:%d/slow/img0.jpg\"}],"
             "\"settings\":%s}",
             port, SMALL);
    long code;
    json_decref(call(&s, "POST", "/render", body, &code));
    CHECK(code == 202);
    json_t *j = wait_status(&s, "slow-1", "processing", 30);
    CHECK(j);
    int wpid = worker_pid(j);
    json_decref(j);
    CHECK(wpid > 0);
    hc_test_sleep_ms(300);
    double t0 = hc_test_now_s();
    json_decref(call(&s, "DELETE", "/render/slow-1", NULL, &code));
    CHECK(code == 200);
    while (alive(wpid) && hc_test_now_s() - t0 < 5)
        hc_test_sleep_ms(20);
    CHECKF(hc_test_now_s() - t0 < 1.0, "worker alive %.2f s after DELETE", hc_test_now_s() - t0);
    /* A job id may start with '-': the worker is not confused by it. */
    request_json(body, sizeof body, "-dash-1", port, 2, SMALL);
    json_decref(call(&s, "POST", "/render", body, &code));
    CHECK(code == 202);
    j = wait_status(&s, "-dash-1", NULL, 120);
    CHECK(j);
    CHECKF(!strcmp(sget(j, "status"), "completed"), "status %s: %s", sget(j, "status"),
           sget(json_object_get(j, "error"), "message"));
    json_decref(j);
    stop(&s, SIGTERM);
}

HC_TEST(serve_refuses_outputs_over_the_data_dir) {
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s serve --data-dir %s/d --storage file:%s 2>&1", hc_test_bin(),
             hc_test_tmpdir(), hc_test_tmpdir());
    CHECK(hc_test_run(cmd, &out) == 2);
    CHECKF(strstr(out, "must not contain the data directory"), "%s", out);
    free(out);
    /* Storage that cannot be opened is refused at start, not per job. */
    snprintf(cmd, sizeof cmd, "%s serve --data-dir %s/d --storage gs://bucket/p 2>&1",
             hc_test_bin(), hc_test_tmpdir());
    CHECK(hc_test_run(cmd, &out) == 2);
    CHECKF(strstr(out, "HC_STORAGE \"gs://bucket/p\": unknown storage"), "%s", out);
    free(out);
}

HC_TEST_T(serve_runs_higher_priority_first_then_fifo, 300) {
    int port = serve_images(hc_test_tmpdir(), 2, 320, 240);
    CHECK(port > 0);
    srv s = {0};
    CHECK(start(&s, "--workers 1"));
    char body[2048];
    long code;
    request_json(body, sizeof body, "blocker", port, 2, LONG);
    json_decref(call(&s, "POST", "/render", body, &code));
    json_t *j = wait_status(&s, "blocker", "processing", 60);
    CHECK(j);
    json_decref(j);
    /* Queued behind it: two ordinary jobs, then an urgent one. */
    const char *ids[] = {"low-1", "low-2", "urgent"};
    for (int i = 0; i < 3; i++) {
        request_json(body, sizeof body, ids[i], port, 2, SMALL);
        if (i == 2) {
            size_t n = strlen(body);
            snprintf(body + n - 1, sizeof body - n + 1, ",\"priority\":10}");
        }
        json_decref(call(&s, "POST", "/render", body, &code));
        CHECKF(code == 202, "%s: %ld", ids[i], code);
    }
    json_decref(call(&s, "DELETE", "/render/blocker", NULL, &code));
    for (int i = 0; i < 3; i++) {
        j = wait_status(&s, ids[i], "completed", 120);
        CHECK(j);
        json_decref(j);
    }
    /* Started in the order urgent, low-1, low-2. */
    char started[3][40];
    for (int i = 0; i < 3; i++) {
        j = status_of(&s, ids[i]);
        snprintf(started[i], sizeof started[i], "%s", sget(j, "started_at"));
        json_decref(j);
    }
    CHECKF(strcmp(started[2], started[0]) < 0 && strcmp(started[0], started[1]) < 0,
           "started: low-1 %s, low-2 %s, urgent %s", started[0], started[1], started[2]);
    stop(&s, SIGTERM);
}

HC_TEST_T(serve_api_keys_sign_output_urls_for_status_and_jobs_show, 300) {
    int port = serve_images(hc_test_tmpdir(), 2, 320, 240);
    CHECK(port > 0);
    srv s = {0};
    CHECK(start(&s, "--workers 1 --api-keys k-one,k-two"));
    char body[2048], url[512], *resp = NULL;
    request_json(body, sizeof body, "keyed", port, 2, SMALL);
    snprintf(url, sizeof url, "%s/render", s.url);
    CHECK(hc_test_http("POST", url, body, NULL, &resp, NULL) == 401);
    free(resp);
    CHECK(hc_test_http("POST", url, body, "X-Api-Key: k-two", &resp, NULL) == 202);
    free(resp);
    snprintf(url, sizeof url, "%s/render/status?job_id=keyed", s.url);
    json_t *j = NULL;
    for (double t_end = hc_test_now_s() + 120; hc_test_now_s() < t_end; hc_test_sleep_ms(100)) {
        hc_test_http("GET", url, NULL, "Authorization: Bearer k-one", &resp, NULL);
        json_decref(j);
        j = json_loads(resp, 0, NULL);
        free(resp);
        if (!strcmp(sget(j, "status"), "completed")) break;
    }
    CHECK(!strcmp(sget(j, "status"), "completed"));
    /* The status's URL opens without a key; the bare URL does not. */
    const char *signed_out = sget(j, "output_url");
    CHECKF(strstr(signed_out, "?exp=") && strstr(signed_out, "&sig="), "%s", signed_out);
    CHECK(hc_test_http("HEAD", signed_out, NULL, NULL, NULL, NULL) == 200);
    char bare[512];
    snprintf(bare, sizeof bare, "%.*s", (int)(strchr(signed_out, '?') - signed_out), signed_out);
    CHECK(hc_test_http("HEAD", bare, NULL, NULL, NULL, NULL) == 401);
    /* jobs show signs the same way. */
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "HC_API_KEYS=k-one HC_DATA_DIR=%s %s jobs show keyed", s.data,
             hc_test_bin());
    CHECK(hc_test_run(cmd, &out) == 0);
    json_t *shown = json_loads(out, 0, NULL);
    free(out);
    const char *cli_url = sget(shown, "output_url");
    CHECKF(strstr(cli_url, "&sig="), "jobs show: %s", cli_url);
    CHECK(hc_test_http("HEAD", cli_url, NULL, NULL, NULL, NULL) == 200);
    json_decref(shown);
    json_decref(j);
    stop(&s, SIGTERM);
}

HC_TEST_T(serve_cancel_of_a_queued_job_calls_back_and_counts, 120) {
    int port = hc_test_httpd(hc_test_tmpdir());
    CHECK(port > 0);
    srv s = {0};
    CHECK(start(&s, "--workers 0"));
    char body[2048], settings[512];
    snprintf(settings, sizeof settings,
             "%s,\"callback_url\":\"http://127.0.0.1:%d/callback/q\",\"callback_secret\":\"x\"",
             SMALL, port);
    request_json(body, sizeof body, "queued-cancel", port, 1, settings);
    long code;
    json_decref(call(&s, "POST", "/render", body, &code));
    CHECK(code == 202);
    json_decref(call(&s, "DELETE", "/render/queued-cancel", NULL, &code));
    CHECK(code == 200);
    json_t *hooks = wait_hooks(port, "q", 1, 20);
    CHECK(json_array_size(hooks) == 1);
    json_t *h = json_object_get(json_array_get(hooks, 0), "headers");
    CHECK(!strcmp(sget(h, "x-hydra-event"), "render.canceled"));
    json_decref(hooks);
    char url[512], *text = NULL;
    snprintf(url, sizeof url, "%s/metrics", s.url);
    CHECK(hc_test_http("GET", url, NULL, NULL, &text, NULL) == 200);
    CHECKF(strstr(text, "hydra_jobs_finished_total{status=\"canceled\"} 1"), "%s", text);
    free(text);
    stop(&s, SIGTERM);
}

/* A request of the original engine names a bucket; the file storage has
 * none: the video goes to s3_key under the outputs (warned about in the
 * status), served by /files, and the stored URL is the plain /files URL. */
HC_TEST_T(serve_file_storage_keeps_s3_key_and_warns_of_the_bucket, 300) {
    int port = serve_images(hc_test_tmpdir(), 2, 320, 240);
    CHECK(port > 0);
    srv s = {0};
    CHECK(start(&s, "--workers 1"));
    char body[2048];
    int o = snprintf(body, sizeof body,
                     "{\"job_id\":\"bk-1\",\"output\":{\"s3_bucket\":\"my-bucket\",\"s3_key\":"
                     "\"custom/dir/out.mp4\"},\"images\":[");
    for (int i = 0; i < 2; i++)
        o += snprintf(body + o, sizeof body - (size_t)o,
                      "%s{\"url\":\"http://127.0.0.1:%d/img%d.jpg\"}", i ? "," : "", port, i);
    snprintf(body + o, sizeof body - (size_t)o, "],\"settings\":%s}", SMALL);
    long code;
    json_decref(call(&s, "POST", "/render", body, &code));
    CHECK(code == 202);
    json_t *j = wait_status(&s, "bk-1", NULL, 120);
    CHECK(j);
    CHECKF(!strcmp(sget(j, "status"), "completed"), "status %s: %s", sget(j, "status"),
           sget(json_object_get(j, "error"), "message"));
    char want[512];
    snprintf(want, sizeof want, "%s/files/custom/dir/out.mp4", s.url);
    CHECKF(!strcmp(sget(j, "output_url"), want), "output_url %s", sget(j, "output_url"));
    snprintf(want, sizeof want, "%s/files/custom/dir/out.jpg", s.url);
    CHECKF(!strcmp(sget(j, "poster_url"), want), "poster_url %s", sget(j, "poster_url"));
    char *w = json_dumps(json_object_get(j, "warnings"), 0);
    CHECKF(w && strstr(w, "output.s3_bucket") && strstr(w, "my-bucket"), "warnings %s", w);
    free(w);
    json_decref(j);
    char path[2048];
    snprintf(path, sizeof path, "%s/outputs/custom/dir/out.mp4", s.data);
    CHECK(access(path, R_OK) == 0);
    snprintf(path, sizeof path, "%s/outputs/custom/dir/out.jpg", s.data);
    CHECK(access(path, R_OK) == 0);
    char url[1024], *resp = NULL;
    snprintf(url, sizeof url, "%s/files/custom/dir/out.mp4", s.url);
    CHECK(hc_test_http("GET", url, NULL, "Range: bytes=4-7", &resp, NULL) == 206);
    CHECKF(resp && !memcmp(resp, "ftyp", 4), "not an MP4: %.8s", resp ? resp : "");
    free(resp);
    stop(&s, SIGTERM);
}
