/* A tiny test runner in the libuv manner: each test is a function registered
 * at load time with HC_TEST(name); the runner forks one child per test with a
 * timeout, prints one line per test and ends on "N passed, N failed".
 *
 * Inside a test: CHECK(cond) fails the test (with file:line and the
 * expression) and returns; SKIP("why") skips it. Helpers for tests live in
 * tests/hc_test.c (paths, temp dirs, running the binary, ffprobe). */
#ifndef HC_TEST_H
#define HC_TEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

typedef void (*hc_test_fn)(void);
void hc_test_register(const char *name, hc_test_fn fn, int timeout_s);
void hc_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void hc_test_skip(const char *why);
bool hc_test_failed(void);

#define HC_TEST_T(name, timeout_s)                                                                 \
    static void test_##name(void);                                                                 \
    __attribute__((constructor)) static void reg_##name(void) {                                    \
        hc_test_register(#name, test_##name, timeout_s);                                           \
    }                                                                                              \
    static void test_##name(void)
#define HC_TEST(name) HC_TEST_T(name, 60)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            hc_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                                  \
            return;                                                                                \
        }                                                                                          \
    } while (0)
#define CHECKF(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            hc_test_fail(__FILE__, __LINE__, __VA_ARGS__);                                         \
            return;                                                                                \
        }                                                                                          \
    } while (0)
#define SKIP(why)                                                                                  \
    do {                                                                                           \
        hc_test_skip(why);                                                                         \
        return;                                                                                    \
    } while (0)

/* ---- helpers ------------------------------------------------------------ */
/* Absolute path of the repository root (from the runner's location). */
const char *hc_test_root(void);
/* Path of the hydra-compose binary (env HC_BIN, else build/hydra-compose). */
const char *hc_test_bin(void);
/* A fresh temporary directory for this test (removed by the runner). */
const char *hc_test_tmpdir(void);
/* Write a file; returns 0 on success. */
int hc_test_write_file(const char *path, const void *data, size_t len);
/* Read a whole file (caller frees); NULL on error. */
char *hc_test_read_file(const char *path, size_t *len);
/* Run a shell command; stdout captured into *out (caller frees, may be
 * NULL); returns the exit status (or 128+signal). */
int hc_test_run(const char *cmd, char **out);
/* Sleep ms milliseconds; seconds on the monotonic clock. */
void hc_test_sleep_ms(int ms);
double hc_test_now_s(void);
/* Start tests/data/httpd.py serving dir on an ephemeral loopback port;
 * returns the port (>0) or -1. Stopped by the runner after the test. */
int hc_test_httpd(const char *dir);

/* n distinct JPEGs dir/img0.jpg.. of w x h (ffmpeg's test source, each a
 * different hue). Returns 0 or -1. */
int hc_test_make_jpegs(const char *dir, int n, int w, int h);

/* Start s3rver (tests/emulators/node_modules, keys S3RVER/S3RVER) on an
 * ephemeral loopback port with bucket `bucket` (data under the test's
 * tmpdir, its log in s3rver.log there). Returns the port, -1 if it did not
 * start, -2 when s3rver is not installed (SKIP). Killed with the test. */
int hc_test_s3rver(const char *bucket);

/* Start tests/data/sigv4_verify.py (a loopback server checking every
 * request's SigV4 signature with botocore; keys S3RVER/S3RVER). Returns the
 * port, -1 if it did not start, -3 without botocore (SKIP). */
int hc_test_sigv4_verifier(void);

/* Start `hydra-compose serve --listen 127.0.0.1:0 --data-dir data_dir ARGS`
 * (args: extra shell words, may be NULL) in the background, its stderr in
 * data_dir/../serve-PID.log; waits for the line with the URL. Returns the
 * server's pid and copies its base URL ("http://127.0.0.1:PORT") into url,
 * or -1 on failure. The runner kills it after the test if still alive. */
int hc_test_serve(const char *data_dir, const char *args, char *url, size_t url_len);

/* One HTTP request with libcurl: method, url, optional body (JSON) and
 * extra headers ("Name: value" lines separated by \n, may be NULL).
 * Returns the HTTP status (0 on a transport error); the response body in
 * *resp (caller frees, may be NULL) and headers in *hdrs (caller frees,
 * may be NULL). */
long hc_test_http(const char *method, const char *url, const char *body, const char *headers,
                  char **resp, char **hdrs);

/* Run `sh -c cmd` in the background; returns its pid or -1 (killed with
 * the test's process group if still running). */
int hc_test_spawn(const char *cmd);

/* Start tests/data/SCRIPT PORTFILE ARGS (python3; ARGS: shell words, may be
 * NULL; stderr into tmpdir/SCRIPT.log), a stand-in that writes "PORT\n" to
 * PORTFILE once it listens. Returns the port or -1; *pid its pid (pid may
 * be NULL). Killed with the test. */
int hc_test_py(const char *script, const char *args, int *pid);

/* dynalite (tests/data/dynalite.js, in memory) on an ephemeral loopback
 * port; points this process's AWS context at it (AWS_ENDPOINT_URL_DYNAMODB,
 * region us-east-1, dummy keys: it checks no signature). Returns the port
 * or -1. It exits when the test process does, or at hc_test_dynalite_stop. */
int hc_test_dynalite(void);
void hc_test_dynalite_stop(void);
bool hc_test_dynalite_installed(void);

/* 0 when the Docker daemon answers; else the reason in why (for SKIP). */
int hc_test_docker_reachable(char *why, size_t len);
/* scripts/docker-build.sh FLAVOURS ("cpu", "cpu gpu"; NULL both): the
 * images from this tree (cached layers when nothing changed), its log in
 * tmpdir/docker-build.log. Returns its exit status. */
int hc_test_docker_build(const char *flavours);

/* An API Gateway HTTP API event (payload 2.0) as API Gateway sends it
 * (lower-case header names; headers: JSON object text or NULL); caller
 * frees. */
char *hc_test_apigw_event(const char *method, const char *path, const char *query,
                          const char *headers, const char *body, bool b64);
/* Queue event at the Lambda Runtime API stand-in (tests/data/
 * lambda_runtime.py) on port and wait for its answer: the stand-in's record
 * ({kind, body, ...}; caller decrefs), NULL on a timeout. */
json_t *hc_test_lambda_invoke(int port, const char *event);

#endif
