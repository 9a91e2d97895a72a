/* The hydra-compose subcommands, wired together by main.c. Each takes the
 * arguments after its name and returns the process exit code. */
#ifndef HC_APP_H
#define HC_APP_H

int hc_cmd_render(int argc, char **argv);
int hc_cmd_gallery(int argc, char **argv);
int hc_cmd_styles(int argc, char **argv);
int hc_cmd_analyze(int argc, char **argv);
int hc_cmd_serve(int argc, char **argv);
int hc_cmd_worker(int argc, char **argv);
int hc_cmd_jobs(int argc, char **argv);
int hc_cmd_lambda(int argc, char **argv);

/* Shared by the service commands (common.c). */
#include "core/hc_core.h"
/* hc_config_load for command `cmd`, message on stderr; returns 0 or exit 2.
 * Also applies the log level. */
int hc_app_load_config(const char *cmd, hc_config *cfg, int argc, char **argv, int *rest);
/* The storage of cfg (HC_STORAGE) as the API serves and signs it: /files
 * links under the public URL, signed with DATA_DIR/url-signing.key when
 * API keys are on; S3 links presigned. Caller closes with
 * hc_storage_close. */
#include "storage/hc_storage.h"
int hc_app_open_storage(const hc_config *cfg, hc_storage **out, hc_err *err);

/* ---- the worker's job run (worker_run.c) -------------------------------
 * Run one claimed job from the store to its final state: render into the
 * storage (cfg->storage), write progress and current_step at least every
 * second, stop within 1 s when the job is canceled in the store (or on
 * SIGTERM), write the final state with hc_store_finish. Returns the exit
 * code (DESIGN.md §12): 0 completed, 2 invalid request or media, 3
 * transient (store unreachable, stopped by SIGTERM), 1 other failure. */
#include "store/hc_store.h"
int hc_worker_run_job(const hc_config *cfg, hc_store *store, const char *job_id);

#endif
