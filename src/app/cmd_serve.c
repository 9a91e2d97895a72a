/* `hydra-compose serve`: the whole job service on one machine (DESIGN.md
 * §1): the HTTP API, the job store, the local worker pool and the callback
 * notifier, wired together here.
 *
 * Start order: store, HTTP (so the bound URL is known), then the worker
 * pool (its workers inherit the exported configuration, public URL
 * included), then the notifier. One line with the URL goes to stdout once
 * all of them run. SIGTERM or SIGINT: stop accepting, let running renders
 * finish until HC_SHUTDOWN_GRACE_S, requeue the rest, exit 0.
 *
 * Invariant: one server per data directory (an exclusive lock on
 * DATA_DIR/server.lock), so a job found `processing` at start belongs to a
 * dead server or worker and can be recovered. */
#include "app/app.h"
#include "core/hc_core.h"
#include "dispatch/hc_dispatch.h"
#include "http/hc_http.h"
#include "store/hc_store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static void help(FILE *f, const hc_config *cfg) {
    fputs("usage: hydra-compose serve [FLAGS]\n"
          "\n"
          "The HTTP job API (POST /render, GET /render/status?job_id=, GET|DELETE /render/ID,\n"
          "GET /jobs, /healthz, /metrics, /files/KEY) with its SQLite job store, local worker\n"
          "processes and signed completion callbacks. Prints one line with the URL once ready.\n"
          "SIGTERM: stop accepting, let renders finish (up to --shutdown-grace), exit.\n"
          "\n",
          f);
    hc_config_help(f, cfg);
}

typedef struct serve {
    hc_http_server *http;
    hc_notifier *notifier;
} serve;

static void on_final(void *ud, const char *job_id) {
    serve *s = ud;
    (void)job_id;
    if (s->notifier) hc_notifier_wake(s->notifier);
    hc_http_job_final(s->http, job_id);
}

int hc_cmd_serve(int argc, char **argv) {
    hc_config cfg;
    int rest = 0;
    if (hc_app_load_config("serve", &cfg, argc, argv, &rest)) return 2;
    for (int i = 0; i < rest; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            help(stdout, &cfg);
            hc_config_fini(&cfg);
            return 0;
        }
        fprintf(stderr, "hydra-compose serve: unknown argument %s\n", argv[i]);
        help(stderr, &cfg);
        hc_config_fini(&cfg);
        return 2;
    }

    hc_err err = {0};
    int rc = 0, lock_fd = -1;
    hc_store *store = NULL;
    hc_executor *exec = NULL;
    serve s = {0};
    char path[PATH_MAX + 32], work[PATH_MAX + 32];
    const char *outputs = hc_app_storage_dir(&cfg);

    /* Signals go to the main thread only: block them before any thread
     * starts, then wait for them with sigwait. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    snprintf(work, sizeof work, "%s/work", cfg.data_dir);
    if ((rc = hc_mkdirs(cfg.data_dir, &err)) || (rc = hc_mkdirs(work, &err)) ||
        (outputs && (rc = hc_mkdirs(outputs, &err))))
        goto done;
    snprintf(path, sizeof path, "%s/server.lock", cfg.data_dir);
    lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = hc_err_set(&err, HC_EIO, "%s: another server is using this data directory (%s)", path,
                        strerror(errno));
        goto done;
    }
    if ((rc = hc_store_open(cfg.store, &store, &err))) goto done;

    hc_http_env henv = {.cfg = &cfg, .store = store, .outputs_dir = outputs};
    if ((rc = hc_http_start(&henv, &s.http, &err))) goto done;
    if (!cfg.public_url) cfg.public_url = hc_strdup(hc_http_url(s.http));
    /* Workers read their configuration from the environment. */
    if (hc_config_export(&cfg) != 0) {
        rc = hc_err_set(&err, HC_EIO, "cannot export the configuration to workers");
        goto done;
    }
    if ((rc = hc_notifier_start(&cfg, store, &s.notifier, &err))) goto done;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        rc = hc_err_set(&err, HC_EIO, "/proc/self/exe: %s", strerror(errno));
        goto done;
    }
    self[n] = 0;
    hc_executor_env xenv = {
        .cfg = &cfg, .store = store, .self_exe = self, .on_final = on_final, .ud = &s};
    if ((rc = hc_executor_open(cfg.executor, &xenv, &exec, &err))) goto done;
    hc_http_set_executor(s.http, exec);

    HC_INFO("serve", "listening on %s (data %s, store %s, %d workers)", hc_http_url(s.http),
            cfg.data_dir, cfg.store, cfg.workers);
    printf("hydra-compose serve: listening on %s\n", hc_http_url(s.http));
    fflush(stdout);

    int sig = 0;
    sigwait(&sigs, &sig);
    HC_INFO("serve", "signal %d: no new requests; renders may finish for %d s", sig,
            cfg.shutdown_grace_s);
    hc_http_quiesce(s.http);

done:
    if (exec) hc_executor_close(exec, hc_now_us() + (int64_t)cfg.shutdown_grace_s * 1000000);
    hc_notifier_stop(s.notifier);
    hc_http_stop(s.http);
    hc_store_close(store);
    if (lock_fd >= 0) close(lock_fd);
    if (rc) {
        fprintf(stderr, "hydra-compose serve: %s\n", err.msg[0] ? err.msg : hc_strerror(rc));
        HC_ERROR("serve", "%s", err.msg[0] ? err.msg : hc_strerror(rc));
    } else {
        HC_INFO("serve", "stopped");
    }
    hc_config_fini(&cfg);
    return rc ? hc_err_exit_code(rc) : 0;
}
