/* The TypeScript client (clients/typescript) against the real server: start
 * `hydra-compose serve` on an ephemeral loopback port with one worker, run
 * the client's `npm test` (build, type-check, unit tests, then the
 * integration tests, which get the server's URL in HC_URL), stop the server
 * with SIGTERM.
 *
 * Skipped when node/npm are missing or the client's dependencies are not
 * installed (`npm ci --prefix clients/typescript`). */
#include "hc_test.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The last `max` bytes of s (for failure messages). */
static const char *tail(const char *s, size_t max) {
    if (!s) return "";
    size_t n = strlen(s);
    return n > max ? s + n - max : s;
}

/* waitpid with a deadline; returns the wait status, or -1 when the process
 * is still running after timeout_ms (then it is killed). */
static int wait_exit(int pid, int timeout_ms) {
    int st = 0;
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        if (waitpid(pid, &st, WNOHANG) == pid) return st;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

HC_TEST_T(client_typescript_against_real_server, 240) {
    const char *root = hc_test_root();
    char cmd[8192], path[4096];
    if (hc_test_run("command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1", NULL) != 0)
        SKIP("node or npm not found (Node 18+ is needed for clients/typescript)");
    if (hc_test_run("node -e 'process.exit(+process.versions.node.split(\".\")[0] >= 18 ? 0 : 1)'",
                    NULL) != 0)
        SKIP("node is older than 18");
    snprintf(path, sizeof path, "%s/clients/typescript/node_modules/typescript/package.json", root);
    if (access(path, R_OK) != 0)
        SKIP("clients/typescript/node_modules is absent: run `npm ci --prefix clients/typescript`");

    char data[4096], url[256];
    snprintf(data, sizeof data, "%s/data", hc_test_tmpdir());
    int pid = hc_test_serve(data, "--url-allow 127.0.0.1 --workers 1", url, sizeof url);
    CHECKF(pid > 0, "hydra-compose serve did not print its URL (log in %s)", hc_test_tmpdir());

    /* npm test = build + type-check + node --test (unit, webhook, back-off,
     * integration). Output to a file: the TAP stream is long. */
    char log[4096];
    snprintf(log, sizeof log, "%s/npm-test.log", hc_test_tmpdir());
    snprintf(cmd, sizeof cmd, "cd '%s/clients/typescript' && HC_URL='%s' npm test >'%s' 2>&1", root,
             url, log);
    int rc = hc_test_run(cmd, NULL);
    char *out = hc_test_read_file(log, NULL);

    kill(pid, SIGTERM);
    int st = wait_exit(pid, 30000);

    if (rc != 0) {
        /* The failing tests' lines are near "not ok"; the summary at the end. */
        const char *first_fail = out ? strstr(out, "not ok") : NULL;
        fprintf(stderr, "    --- npm test output (first failure) ---\n%.4000s\n",
                first_fail ? first_fail : "");
        fprintf(stderr, "    --- npm test output (end) ---\n%s\n", tail(out, 1500));
    } else if (out && !strstr(out, "# fail 0") && !strstr(out, "\xe2\x84\xb9 fail 0")) {
        /* node --test's summary: "# fail 0" with the TAP reporter (the
         * default off a terminal in older Node releases), "ℹ fail 0" with
         * the spec reporter. */
        rc = -1;
        fprintf(stderr, "    npm test exited 0 without a \"fail 0\" summary:\n%s\n",
                tail(out, 1500));
    }
    /* The integration tests must have run, not been skipped (the skip
     * reason appears with either reporter). */
    bool skipped = out && strstr(out, "HC_URL is not set");
    free(out);
    CHECKF(rc == 0, "npm test failed (exit %d); full log: %s", rc, log);
    CHECKF(!skipped, "the integration tests were skipped although HC_URL was set");
    CHECKF(st != -1, "the server did not exit within 30 s of SIGTERM");
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the server ended with status 0x%x after SIGTERM",
           st);
}
