/* `hydra-compose serve`: the whole job service on one machine (DESIGN.md
 * §1): the HTTP API, the job store, the local worker pool and the callback
 * notifier, wired together here.
 *
 * Start order: store, the configuration exported for workers (while this
 * is the only thread), notifier, HTTP (so the bound URL is known), then the
 * worker pool (given the public URL for its workers' command line). One line with the URL goes to
 * stdout once all of them run. SIGTERM or SIGINT: stop accepting, let running renders finish until
 * HC_SHUTDOWN_GRACE_S, requeue the rest, exit 0. The HTTP server stops before the renders are
 * waited for: a client polling then sees the connection refused and retries later.
 *
 * Invariant: one server per data directory (an exclusive lock on
 * DATA_DIR/server.lock), so a job found `processing` at start belongs to a
 * dead server or worker and can be recovered. */
#include "app/app.h"
#include "core/hc_core.h"
#include "dispatch/hc_dispatch.h"
#include "http/hc_http.h"
#include "render/hc_render.h"
#include "storage/hc_storage.h"
#include "store/hc_store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
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
    pthread_mutex_t mu; /* guards http against on_final during shutdown */
    hc_http_server *http;
    hc_notifier *notifier;
} serve;

/* From the executor's thread: a job reached a final state. */
static void on_final(void *ud, const char *job_id) {
    serve *s = ud;
    if (s->notifier) hc_notifier_wake(s->notifier);
    pthread_mutex_lock(&s->mu);
    if (s->http) hc_http_job_final(s->http, job_id);
    pthread_mutex_unlock(&s->mu);
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
    hc_storage *storage = NULL;
    hc_executor *exec = NULL;
    serve s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    char path[PATH_MAX + 32], work[PATH_MAX + 32];

    /* Signals go to the main thread only: block them before any thread
     * starts, then wait for them with sigwait. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    snprintf(work, sizeof work, "%s/work", cfg.data_dir);
    if ((rc = hc_mkdirs(cfg.data_dir, &err)) || (rc = hc_mkdirs(work, &err))) goto done;
    /* The storage /files reads from and status links are signed through
     * (workers open their own from HC_STORAGE); refused here when it
     * cannot be opened, not in every job. */
    if ((rc = hc_app_open_storage(&cfg, &storage, &err))) goto done;
    const char *outputs = hc_storage_dir(storage);
    /* /files serves the outputs directory: it must not contain the data
     * directory (the jobs database, the URL-signing key). */
    char out_real[PATH_MAX], data_real[PATH_MAX];
    if (outputs && realpath(outputs, out_real) && realpath(cfg.data_dir, data_real)) {
        size_t n = strlen(out_real);
        if (!strncmp(data_real, out_real, n) && (data_real[n] == 0 || data_real[n] == '/')) {
            rc = hc_err_set(&err, HC_EINVAL,
                            "HC_STORAGE file:%s: must not contain the data directory %s "
                            "(it would serve the jobs database)",
                            outputs, cfg.data_dir);
            goto done;
        }
    }
    snprintf(path, sizeof path, "%s/server.lock", cfg.data_dir);
    lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = hc_err_set(&err, HC_EIO, "%s: another server is using this data directory (%s)", path,
                        strerror(errno));
        goto done;
    }
    if ((rc = hc_store_open(cfg.store, &store, &err))) goto done;

    /* Workers read their configuration from the environment (set now,
     * while this is the only thread) and the public URL from their
     * command line (known once the port is bound). */
    if (hc_config_export(&cfg) != 0) {
        rc = hc_err_set(&err, HC_EIO, "cannot export the configuration to workers");
        goto done;
    }
    if ((rc = hc_notifier_start(&cfg, store, storage, &s.notifier, &err))) goto done;
    hc_http_env henv = {
        .cfg = &cfg,
        .store = store,
        .notifier = s.notifier,
        .storage = storage,
        .validate = hc_render_validate};
    if ((rc = hc_http_start(&henv, &s.http, &err))) goto done;
    if (!cfg.public_url) cfg.public_url = hc_strdup(hc_http_url(s.http));
    hc_executor_env xenv = {
        .cfg = &cfg, .store = store, .self_exe = "/proc/self/exe", .on_final = on_final, .ud = &s};
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
    /* The HTTP server goes first: its handlers use the executor. Renders
     * then finish (or are requeued) with nobody asking. */
    pthread_mutex_lock(&s.mu);
    hc_http_stop(s.http);
    s.http = NULL;
    pthread_mutex_unlock(&s.mu);
    if (exec) hc_executor_close(exec, hc_now_us() + (int64_t)cfg.shutdown_grace_s * 1000000);
    hc_notifier_stop(s.notifier);
    hc_store_close(store);
    hc_storage_close(storage);
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
