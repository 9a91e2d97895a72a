/* `hydra-compose lambda`: the job API as an AWS Lambda custom runtime
 * (DESIGN.md §11). The Runtime API loop of cloud/ (AWS_LAMBDA_RUNTIME_API)
 * hands each event here:
 *   - API Gateway HTTP API events (payload 2.0) go through hc_api_apigw,
 *     the same handlers `serve` runs (routes, keys, CORS, validation);
 *   - scheduled EventBridge events ({"source":"aws.events",
 *     "detail-type":"Scheduled Event"}) run hc_lambda_on_schedule: the
 *     periodic work that no thread can do in an environment frozen between
 *     invocations;
 *   - anything else is an invocation error (/error).
 * The store and the executor come from the configuration as in serve
 * (HC_STORE, HC_EXECUTOR); a submit runs one executor pass before it is
 * answered (submit_sync: with aws-batch the SubmitJob is made and the
 * batch_job_id stored before the 202, as the process may be frozen right
 * after it). A
 * failure before the loop (configuration, store, storage) is reported to
 * /init/error and the process exits (Lambda then starts a new one).
 *
 * Invariant: a 2xx to POST /render means the job is in the store, as in
 * serve; an event never gets two answers. */
#include "app/app.h"
#include "cloud/hc_cloud.h"
#include "core/hc_core.h"
#include "dispatch/hc_dispatch.h"
#include "http/hc_http.h"
#include "render/hc_render.h"
#include "store/hc_store.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define COMP "lambda"

static void help(FILE *f, const hc_config *cfg) {
    fputs("usage: hydra-compose lambda [FLAGS]\n"
          "\n"
          "The job API as an AWS Lambda custom runtime (the image's entry point, or a zip's\n"
          "bootstrap): reads events from the Lambda Runtime API at AWS_LAMBDA_RUNTIME_API.\n"
          "API Gateway HTTP API events (payload 2.0) are served by the routes of `serve`;\n"
          "scheduled EventBridge events run the periodic work (pending callbacks).\n"
          "\n",
          f);
    if (cfg) hc_config_help(f, cfg);
}

typedef struct lambda_app lambda_app;
struct lambda_app {
    hc_config cfg;
    hc_store *store;
    hc_storage *storage;
    hc_executor *exec;
    hc_api *api;
    /* The scheduled event's work; hc_lambda_on_schedule unless a test or
     * another executor puts its own here. */
    int (*on_schedule)(lambda_app *app, const hc_lambda_invocation *inv, hc_buf *out, hc_err *err);
};

/* The seam for the periodic work of a scheduled event: one pass of the
 * executor's reconciler (queued jobs submitted, stale jobs asked about,
 * attempts, the GPU->CPU move; a no-op for the local executor), then one
 * pass of the callback notifier (deliveries due now, retries rescheduled
 * in the store). Stops starting callbacks a few seconds before the
 * invocation's deadline. */
static int hc_lambda_on_schedule(lambda_app *app, const hc_lambda_invocation *inv, hc_buf *out,
                                 hc_err *err) {
    int64_t deadline_us = inv->deadline_ms ? inv->deadline_ms * 1000 - 2000000 : 0;
    int64_t t0 = hc_now_us();
    hc_executor_reconcile(app->exec);
    int rc = hc_notifier_run_once(&app->cfg, app->store, app->storage, deadline_us, err);
    if (rc) return rc;
    hc_buf_printf(out, "{\"scheduled\":true,\"callbacks\":\"done\",\"dur_ms\":%.3f}",
                  (double)(hc_now_us() - t0) / 1000.0);
    return 0;
}

static bool scheduled_event(const hc_buf *event) {
    json_t *root = json_loadb(event->p ? event->p : "", event->n, 0, NULL);
    const char *src = json_string_value(json_object_get(root, "source"));
    const char *type = json_string_value(json_object_get(root, "detail-type"));
    bool yes = src && type && !strcmp(src, "aws.events") && !strcmp(type, "Scheduled Event");
    json_decref(root);
    return yes;
}

static int handle_event(void *ud, const hc_lambda_invocation *inv, hc_buf *out, char *error_type,
                        size_t error_type_len, hc_err *err) {
    lambda_app *app = ud;
    hc_err aerr = {0};
    int rc = hc_api_apigw(app->api, inv->event.p ? inv->event.p : "", inv->event.n, out, &aerr);
    if (rc != HC_EUNSUPPORTED) {
        if (rc) {
            snprintf(error_type, error_type_len, "InvalidEvent");
            return hc_err_set(err, rc, "%s", aerr.msg);
        }
        return 0;
    }
    if (scheduled_event(&inv->event)) {
        HC_INFO(COMP, "scheduled event");
        return app->on_schedule(app, inv, out, err);
    }
    snprintf(error_type, error_type_len, "InvalidEvent");
    return hc_err_set(err, HC_EUNSUPPORTED,
                      "event: neither an API Gateway HTTP API (payload 2.0) event nor a "
                      "scheduled EventBridge event");
}

/* From the executor's thread: a job reached a final state. */
static void on_final(void *ud, const char *job_id) {
    lambda_app *app = ud;
    hc_api_job_final(app->api, job_id);
}

int hc_cmd_lambda(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            hc_config cfg = {0};
            int rest = 0;
            hc_err e = {0};
            bool ok = hc_config_load(&cfg, 0, argv, &rest, &e) == 0;
            help(stdout, ok ? &cfg : NULL);
            hc_config_fini(&cfg);
            return 0;
        }
    signal(SIGPIPE, SIG_IGN);
    hc_err err = {0};
    hc_lambda *rt = NULL;
    if (hc_lambda_open(getenv("AWS_LAMBDA_RUNTIME_API"), &rt, &err) != 0) {
        fprintf(stderr, "hydra-compose lambda: %s\n", err.msg);
        return 2;
    }
    lambda_app app = {.on_schedule = hc_lambda_on_schedule};
    int rc = 0, rest = 0, lock_fd = -1;
    char path[PATH_MAX + 32];

    /* ---- init: every failure here goes to /init/error ---- */
    if ((rc = hc_config_load(&app.cfg, argc, argv, &rest, &err))) goto init_failed;
    hc_log_set_level(
        (hc_log_level)hc_log_level_parse(app.cfg.log_level ? app.cfg.log_level : "info"));
    if (rest > 0) {
        rc = hc_err_set(&err, HC_EINVAL, "lambda: unknown argument %s", argv[0]);
        goto init_failed;
    }
    if ((rc = hc_mkdirs(app.cfg.data_dir, &err))) goto init_failed;
    if ((rc = hc_app_open_storage(&app.cfg, &app.storage, &err))) goto init_failed;
    /* One runtime per data directory, as one server: jobs found
     * `processing` at start can then be recovered by the local executor. */
    snprintf(path, sizeof path, "%s/server.lock", app.cfg.data_dir);
    lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = hc_err_set(&err, HC_EIO, "%s: another server is using this data directory (%s)", path,
                        strerror(errno));
        goto init_failed;
    }
    if ((rc = hc_store_open(app.cfg.store, &app.store, &err))) goto init_failed;
    if (hc_config_export(&app.cfg) != 0) {
        rc = hc_err_set(&err, HC_EIO, "cannot export the configuration to workers");
        goto init_failed;
    }
    hc_http_env henv = {.cfg = &app.cfg,
                        .store = app.store,
                        .storage = app.storage,
                        .validate = hc_render_validate,
                        .submit_sync = true};
    if ((rc = hc_api_open(&henv, &app.api, &err))) goto init_failed;
    hc_executor_env xenv = {.cfg = &app.cfg,
                            .store = app.store,
                            .self_exe = "/proc/self/exe",
                            .on_final = on_final,
                            .ud = &app};
    if ((rc = hc_executor_open(app.cfg.executor, &xenv, &app.exec, &err))) goto init_failed;
    hc_api_set_executor(app.api, app.exec);
    HC_INFO(COMP, "ready (store %s, executor %s)", app.cfg.store, app.cfg.executor);

    /* ---- the loop ---- */
    rc = hc_lambda_run(rt, handle_event, &app, NULL, &err);
    if (rc) {
        fprintf(stderr, "hydra-compose lambda: %s\n", err.msg);
        HC_ERROR(COMP, "%s", err.msg);
    }
    goto done;

init_failed: {
    const char *msg = err.msg[0] ? err.msg : hc_strerror(rc);
    fprintf(stderr, "hydra-compose lambda: %s\n", msg);
    HC_ERROR(COMP, "init: %s", msg);
    hc_err ierr = {0};
    if (hc_lambda_init_error(rt, "Runtime.InitError", msg, &ierr) != 0)
        fprintf(stderr, "hydra-compose lambda: reporting the init error: %s\n", ierr.msg);
}
done:
    if (app.exec) hc_executor_close(app.exec, hc_now_us() + 2000000);
    hc_api_close(app.api);
    hc_store_close(app.store);
    hc_storage_close(app.storage);
    if (lock_fd >= 0) close(lock_fd);
    hc_config_fini(&app.cfg);
    hc_lambda_close(rt);
    return rc ? hc_err_exit_code(rc) : 0;
}
