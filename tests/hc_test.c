/* The test runner: registration, one forked child per test with a timeout,
 * one line per test, the closing "N passed, N failed[, N skipped]" line. */
#include "hc_test.h"
#include "core/hc_core.h"

#include <curl/curl.h>
#include <jansson.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const char *name;
    hc_test_fn fn;
    int timeout_s;
} test_case;

static test_case tests[1024];
static int n_tests;
static int result_fd = -1; /* child -> parent: 'F' failed, 'S' skipped */
static bool failed_here;
static char tmpdir[PATH_MAX];
static pid_t httpd_pid;

void hc_test_register(const char *name, hc_test_fn fn, int timeout_s) {
    if (n_tests < 1024) tests[n_tests++] = (test_case){name, fn, timeout_s};
}

void hc_test_fail(const char *file, int line, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "    %s:%d: %s\n", file, line, msg);
    failed_here = true;
    if (result_fd >= 0) {
        ssize_t w = write(result_fd, "F", 1);
        (void)w;
    }
}

void hc_test_skip(const char *why) {
    fprintf(stderr, "    skipped: %s\n", why);
    if (result_fd >= 0) {
        ssize_t w = write(result_fd, "S", 1);
        (void)w;
    }
}

bool hc_test_failed(void) {
    return failed_here;
}

static char root[PATH_MAX - 64];

const char *hc_test_root(void) {
    return root;
}

const char *hc_test_bin(void) {
    static char bin[PATH_MAX + 32];
    const char *e = getenv("HC_BIN");
    if (e && *e) return e;
    snprintf(bin, sizeof bin, "%s/build/hydra-compose", root);
    return bin;
}

const char *hc_test_tmpdir(void) {
    return tmpdir;
}

int hc_test_write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

char *hc_test_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *nb = realloc(buf, (cap *= 2) + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    if (!buf) return NULL;
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

int hc_test_run(const char *cmd, char **out) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t cap = 4096, n = 0, r;
    char *buf = malloc(cap + 1);
    while ((r = fread(buf + n, 1, cap - n, p)) > 0) {
        n += r;
        if (n == cap) buf = realloc(buf, (cap *= 2) + 1);
    }
    buf[n] = 0;
    int st = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    if (st == -1) return -1;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    return 128 + WTERMSIG(st);
}

void hc_test_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

double hc_test_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The port a stand-in wrote as "PORT\n" to portfile (polled every 25 ms,
 * tries times), or -1. */
static int wait_port(const char *portfile, int tries) {
    for (int i = 0; i < tries; i++) {
        char *s = hc_test_read_file(portfile, NULL);
        if (s && *s && strchr(s, '\n')) {
            int port = atoi(s);
            free(s);
            return port;
        }
        free(s);
        hc_test_sleep_ms(25);
    }
    return -1;
}

int hc_test_httpd(const char *dir) {
    char portfile[PATH_MAX + 16];
    snprintf(portfile, sizeof portfile, "%s/.httpd-port", tmpdir);
    unlink(portfile);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        char script[PATH_MAX + 32];
        snprintf(script, sizeof script, "%s/tests/data/httpd.py", root);
        execlp("python3", "python3", script, portfile, dir, (char *)NULL);
        _exit(127);
    }
    httpd_pid = pid;
    return wait_port(portfile, 200);
}

int hc_test_s3rver(const char *bucket) {
    char js[PATH_MAX + 64], dir[PATH_MAX + 8], log[PATH_MAX + 16];
    snprintf(js, sizeof js, "%s/tests/emulators/node_modules/s3rver/bin/s3rver.js", root);
    if (access(js, R_OK) != 0) return -2;
    snprintf(dir, sizeof dir, "%s/s3", tmpdir);
    snprintf(log, sizeof log, "%s/s3rver.log", tmpdir);
    mkdir(dir, 0755);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        /* without --silent it prints "S3rver listening on 127.0.0.1:PORT" */
        execlp("node", "node", js, "-a", "127.0.0.1", "-p", "0", "-d", dir, "--configure-bucket",
               bucket, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 300; i++) {
        char *s = hc_test_read_file(log, NULL);
        const char *m = s ? strstr(s, "listening on 127.0.0.1:") : NULL;
        int port = m ? atoi(m + 23) : 0;
        free(s);
        if (port > 0) return port;
        if (waitpid(pid, NULL, WNOHANG) == pid) return -1;
        hc_test_sleep_ms(50);
    }
    return -1;
}

int hc_test_sigv4_verifier(void) {
    char portfile[PATH_MAX + 16], script[PATH_MAX + 48];
    snprintf(portfile, sizeof portfile, "%s/verify.port", tmpdir);
    snprintf(script, sizeof script, "%s/tests/data/sigv4_verify.py", root);
    /* Debian's python3-botocore belongs to the system python */
    const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    unlink(portfile);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        execlp(py, py, script, portfile, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        char *s = hc_test_read_file(portfile, NULL);
        int port = s && strchr(s, '\n') ? atoi(s) : 0;
        free(s);
        if (port > 0) return port;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) && WEXITSTATUS(st) == 3 ? -3 : -1;
        hc_test_sleep_ms(25);
    }
    return -1;
}

int hc_test_make_jpegs(const char *dir, int n, int w, int h) {
    for (int i = 0; i < n; i++) {
        char cmd[PATH_MAX + 256];
        snprintf(cmd, sizeof cmd,
                 "ffmpeg -v error -y -f lavfi -i testsrc2=size=%dx%d:rate=1 -vf hue=h=%d -frames:v "
                 "1 %s/img%d.jpg",
                 w, h, i * 70, dir, i);
        if (hc_test_run(cmd, NULL) != 0) return -1;
    }
    return 0;
}

int hc_test_serve(const char *data_dir, const char *args, char *url, size_t url_len) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "exec %s serve --listen 127.0.0.1:0 --data-dir %s %s 2>>%s/serve-$$.log",
             hc_test_bin(), data_dir, args ? args : "", tmpdir);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[1]);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    /* The one line: "hydra-compose serve: listening on http://HOST:PORT". */
    char line[1024];
    size_t n = 0;
    char c;
    while (n + 1 < sizeof line && read(fds[0], &c, 1) == 1 && c != '\n')
        line[n++] = c;
    line[n] = 0;
    close(fds[0]);
    const char *u = strstr(line, "http://");
    if (!u) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    snprintf(url, url_len, "%s", u);
    return pid;
}

static size_t http_collect(char *data, size_t size, size_t nmemb, void *ud) {
    hc_buf_put(ud, data, size * nmemb);
    return size * nmemb;
}

long hc_test_http(const char *method, const char *url, const char *body, const char *headers,
                  char **resp, char **hdrs) {
    CURL *h = curl_easy_init();
    if (!h) return 0;
    hc_buf rb = {0}, hb = {0};
    struct curl_slist *list = NULL;
    if (headers) {
        char *copy = strdup(headers), *save = NULL;
        for (char *tok = strtok_r(copy, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save))
            list = curl_slist_append(list, tok);
        free(copy);
    }
    if (body && !(headers && strcasestr(headers, "content-type:")))
        list = curl_slist_append(list, "Content-Type: application/json");
    list = curl_slist_append(list, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD")) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &rb);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, http_collect);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hb);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(list);
    curl_easy_cleanup(h);
    if (resp)
        *resp = rb.p ? rb.p : strdup("");
    else
        free(rb.p);
    if (hdrs)
        *hdrs = hb.p ? hb.p : strdup("");
    else
        free(hb.p);
    return status;
}

int hc_test_spawn(const char *cmd) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return (int)pid;
}

int hc_test_py(const char *script, const char *args, int *pid) {
    char portfile[PATH_MAX + 256], cmd[4 * PATH_MAX + 8192];
    snprintf(portfile, sizeof portfile, "%s/.%s-port", tmpdir, script);
    unlink(portfile);
    snprintf(cmd, sizeof cmd, "exec python3 %s/tests/data/%s %s %s 2>>%s/%s.log", root, script,
             portfile, args ? args : "", tmpdir, script);
    int p = hc_test_spawn(cmd);
    if (p < 0) return -1;
    if (pid) *pid = p;
    return wait_port(portfile, 400);
}

static pid_t dynalite_pid;
static int dynalite_stdin = -1;

void hc_test_dynalite_stop(void) {
    if (dynalite_pid <= 0) return;
    close(dynalite_stdin);
    kill(dynalite_pid, SIGTERM);
    waitpid(dynalite_pid, NULL, 0);
    dynalite_pid = 0;
    dynalite_stdin = -1;
}

bool hc_test_dynalite_installed(void) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/tests/emulators/node_modules/dynalite/index.js", root);
    return access(path, R_OK) == 0;
}

int hc_test_dynalite(void) {
    char portfile[PATH_MAX + 32], script[PATH_MAX];
    snprintf(portfile, sizeof portfile, "%s/.dynalite-port", tmpdir);
    snprintf(script, sizeof script, "%s/tests/data/dynalite.js", root);
    unlink(portfile);
    int in[2];
    if (pipe(in) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO);
        close(in[0]);
        close(in[1]);
        execlp("node", "node", script, portfile, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    fcntl(in[1], F_SETFD, FD_CLOEXEC);
    dynalite_pid = pid;
    dynalite_stdin = in[1];
    for (int i = 0; i < 400; i++) {
        char *t = hc_test_read_file(portfile, NULL);
        int port = t ? atoi(t) : 0;
        free(t);
        if (port > 0) {
            char ep[64];
            snprintf(ep, sizeof ep, "http://127.0.0.1:%d", port);
            setenv("AWS_ENDPOINT_URL_DYNAMODB", ep, 1);
            setenv("AWS_REGION", "us-east-1", 1);
            setenv("AWS_ACCESS_KEY_ID", "AKIDTESTDYNALITE", 1);
            setenv("AWS_SECRET_ACCESS_KEY", "dynalite-checks-no-signature", 1);
            unsetenv("AWS_SESSION_TOKEN");
            unsetenv("AWS_PROFILE");
            return port;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) break;
        hc_test_sleep_ms(25);
    }
    hc_test_dynalite_stop();
    return -1;
}

int hc_test_docker_reachable(char *why, size_t len) {
    char *out = NULL;
    int rc = hc_test_run("docker info --format '{{.ServerVersion}}' 2>&1", &out);
    if (rc != 0) {
        /* Its first non-empty line (the format's empty output comes first). */
        const char *m = out ? out + strspn(out, "\n") : "";
        snprintf(why, len, "docker daemon not reachable (`docker info`: %.*s)",
                 (int)strcspn(m, "\n"), m);
    }
    free(out);
    return rc;
}

int hc_test_docker_build(const char *flavours) {
    char cmd[2 * PATH_MAX + 256];
    snprintf(cmd, sizeof cmd, "%s/scripts/docker-build.sh %s >%s/docker-build.log 2>&1", root,
             flavours ? flavours : "", tmpdir);
    return hc_test_run(cmd, NULL);
}

char *hc_test_apigw_event(const char *method, const char *path, const char *query,
                          const char *headers, const char *body, bool b64) {
    json_t *h = headers ? json_loads(headers, 0, NULL) : json_object();
    json_t *ev = json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}, s:s, "
        "s:s, s:I}, s:b}",
        "version", "2.0", "routeKey", "$default", "rawPath", path, "rawQueryString",
        query ? query : "", "headers", h, "requestContext", "accountId", "123456789012", "apiId",
        "abc123", "domainName", "abc123.execute-api.us-east-1.amazonaws.com", "requestId",
        "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "http", "method", method, "path", path, "protocol",
        "HTTP/1.1", "sourceIp", "192.0.2.1", "userAgent", "agent", "stage", "$default", "time",
        "03/Dec/2026:12:00:00 +0000", "timeEpoch", (json_int_t)1796299200000, "isBase64Encoded",
        b64);
    if (body) json_object_set_new(ev, "body", json_string(body));
    char *s = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    return s;
}

json_t *hc_test_lambda_invoke(int port, const char *event) {
    char url[128], *resp = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/test/invoke?wait=60", port);
    long st = hc_test_http("POST", url, event, NULL, &resp, NULL);
    json_t *j = st == 200 && resp ? json_loads(resp, 0, NULL) : NULL;
    free(resp);
    return j;
}

static void rm_rf(const char *path) {
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char sub[PATH_MAX];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            rm_rf(sub);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* The repository root: the nearest ancestor of the runner's directory that
 * holds tests/hc_test.h (the runner lives somewhere under <root>/build*). */
static void find_root(const char *argv0) {
    char exe[PATH_MAX - 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        snprintf(exe, sizeof exe, "%s", argv0);
    else
        exe[n] = 0;
    char *s;
    while ((s = strrchr(exe, '/')) != NULL) {
        *s = 0;
        char probe[PATH_MAX];
        snprintf(probe, sizeof probe, "%s/tests/hc_test.h", exe);
        if (access(probe, R_OK) == 0) break;
    }
    snprintf(root, sizeof root, "%s", exe);
}

int main(int argc, char **argv) {
    find_root(argv[0]);
    /* Tests assert on results; library logs below warnings are noise here. */
    if (!getenv("HC_LOG_LEVEL")) hc_log_set_level(HC_LOG_WARN);
    setenv("no_proxy", "*", 1);
    signal(SIGPIPE, SIG_IGN);
    const char *filter = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0, skipped = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < n_tests; i++) {
        test_case *t = &tests[i];
        if (filter && strncmp(t->name, filter, strlen(filter)) != 0) continue;
        snprintf(tmpdir, sizeof tmpdir, "/tmp/hc-test-%d-%s", (int)getpid(), t->name);
        rm_rf(tmpdir);
        mkdir(tmpdir, 0700);
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) return 1;
        int64_t t0 = 0;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        t0 = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            result_fd = fds[1];
            setpgid(0, 0);
            alarm((unsigned)t->timeout_s);
            t->fn();
            if (httpd_pid > 0) kill(httpd_pid, SIGTERM);
            /* exit, not _exit: LeakSanitizer checks the test's process. */
            exit(0);
        }
        close(fds[1]);
        char verdict = 0, c;
        while (read(fds[0], &c, 1) == 1)
            if (verdict != 'F') verdict = c;
        close(fds[0]);
        int st = 0;
        waitpid(pid, &st, 0);
        kill(-pid, SIGKILL); /* any helper process the test left behind */
        clock_gettime(CLOCK_MONOTONIC, &ts);
        long ms = (long)(ts.tv_sec * 1000LL + ts.tv_nsec / 1000000 - t0);
        const char *status;
        if (verdict == 'F')
            status = "FAIL";
        else if (WIFSIGNALED(st))
            status = WTERMSIG(st) == SIGALRM ? "FAIL (timeout)" : "FAIL (crashed)";
        else if (WEXITSTATUS(st) != 0)
            status = "FAIL (exit status)";
        else if (verdict == 'S')
            status = "skip";
        else
            status = "ok";
        if (status[0] == 'F')
            failed++;
        else if (status[0] == 's')
            skipped++;
        else
            passed++;
        printf("%-4s %-48s %6ld ms\n",
               status[0] == 'o'   ? "ok"
               : status[0] == 's' ? "skip"
                                  : "FAIL",
               t->name, ms);
        if (status[0] == 'F' && strcmp(status, "FAIL")) printf("     %s\n", status);
        if (status[0] != 'F') rm_rf(tmpdir);
    }
    if (skipped)
        printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    else
        printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
