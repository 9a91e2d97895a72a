/* `hydra-compose worker JOB_ID`: run one job from the configured store to
 * its final state and exit (DESIGN.md §1, §12). The local executor spawns
 * it per job; operators may run it by hand on a job they claimed. Exit 0
 * when the job completed, 2 when its request or media is unusable, 1 for
 * any other failure (including a cancel). Configuration comes from the
 * same environment variables and flags as `serve` (hc_config_load). */
#include "app/app.h"
#include "core/hc_core.h"
#include "dispatch/hc_dispatch.h"
#include "store/hc_store.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static void help(FILE *f) {
    fputs("usage: hydra-compose worker [--store SPEC] [--storage SPEC] [--data-dir DIR]\n"
          "                            [--public-url URL] [--url-allow LIST] ... [--] JOB_ID\n"
          "\n"
          "Run the job JOB_ID, already claimed (processing) in the store, to its final\n"
          "state: render into the storage, write progress every 500 ms, stop when the\n"
          "job is canceled in the store or on SIGTERM. Settings as for `serve`\n"
          "(environment or flags; see `hydra-compose serve --help`).\n"
          "\n"
          "exit codes: 0 completed, 2 invalid request or unusable media, 1 other failure\n",
          f);
}

int hc_cmd_worker(int argc, char **argv) {
    /* --help anywhere before "--" (after it, everything is the job id). */
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            help(stdout);
            return 0;
        }
    hc_config cfg;
    hc_err err = {0};
    int rest = 0;
    if (hc_app_load_config("worker", &cfg, argc, argv, &rest)) return 2;
    /* "worker JOB_ID" or "worker -- JOB_ID" (ids may start with '-'). */
    bool dashed = rest == 2 && strcmp(argv[0], "--") == 0;
    if (!dashed && (rest != 1 || argv[0][0] == '-')) {
        if (rest == 0)
            fprintf(stderr, "hydra-compose worker: which job? (JOB_ID)\n");
        else
            fprintf(stderr, "hydra-compose worker: unexpected argument %s\n",
                    argv[0][0] == '-' ? argv[0] : argv[1]);
        help(stderr);
        hc_config_fini(&cfg);
        return 2;
    }
    const char *job_id = argv[dashed ? 1 : 0];
    hc_store *store = NULL;
    int rc = hc_store_open(cfg.store, &store, &err);
    if (rc != 0) {
        hc_log_set_job(job_id);
        HC_ERROR("worker", "cannot open the job store %s: %s", cfg.store, err.msg);
        hc_log_set_job(NULL);
        hc_config_fini(&cfg);
        return 1;
    }
    int code = hc_worker_run_job(&cfg, store, job_id);
    hc_store_close(store);
    hc_config_fini(&cfg);
    return code;
}
