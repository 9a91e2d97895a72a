/* `hydra-compose jobs list|show ID|cancel ID|retry ID|create-table`:
 * operations on the configured job store (HC_STORE), with or without a
 * server running. create-table makes the DynamoDB table of DESIGN.md §11
 * (SQLite makes its own schema on open).
 *
 * A cancel here reaches a running render through the store: its worker's
 * next progress write fails the compare-and-set and it stops (within a
 * second). A retry queues the job again; a running server's executor picks
 * it up on its next look at the queue. With API keys on (HC_API_KEYS),
 * output URLs are signed as the server signs them. */
#include "app/app.h"
#include "core/hc_core.h"
#include "storage/hc_storage.h"
#include "store/hc_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *f) {
    fputs("usage: hydra-compose jobs list [--status S] [--limit N] [--cursor C] [--json]\n"
          "       hydra-compose jobs show ID\n"
          "       hydra-compose jobs cancel ID\n"
          "       hydra-compose jobs retry ID\n"
          "       hydra-compose jobs create-table   (dynamodb:TABLE: the table, index and TTL)\n"
          "\n"
          "Against the configured store (--store / HC_STORE, default sqlite:DATA_DIR/jobs.db).\n"
          "show, cancel and retry print the job's status JSON (as GET /render/status).\n"
          "exit codes: 0 done, 2 bad arguments, 1 unknown job, a conflict or a store failure\n",
          f);
}

/* The links as GET /render/status hands them out (DESIGN.md §12): signed
 * by the storage (the server's /files URLs under the same key when API
 * keys are on; S3 presigned GETs). Without a storage, as stored. */
static char *signed_url(const hc_config *cfg, hc_storage *st, const char *url) {
    char *out = NULL;
    hc_err err = {0};
    if (st && url && hc_storage_sign_url(st, url, cfg->presign_ttl_s, &out, &err) != 0)
        fprintf(stderr, "hydra-compose jobs: warning: link left unsigned: %s\n", err.msg);
    return out;
}

static void print_status(const hc_config *cfg, hc_storage *st, const hc_job *job) {
    char *out = signed_url(cfg, st, job->output_url);
    char *poster = signed_url(cfg, st, job->poster_url);
    char *j = hc_job_status_json(job, out, poster);
    puts(j ? j : "{}");
    free(j);
    free(out);
    free(poster);
}

static int list_jobs(hc_store *store, int argc, char **argv, hc_err *err) {
    hc_store_query q = {.order = HC_STORE_ORDER_NEWEST, .limit = 50};
    bool json = false;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--status") && i + 1 < argc) {
            int st = hc_enum_lookup(hc_job_status_names, argv[++i]);
            if (st < 0) {
                char names[128];
                hc_enum_list(hc_job_status_names, names, sizeof names);
                return hc_err_set(err, HC_EINVAL, "--status: must be one of %s (got \"%s\")", names,
                                  argv[i]);
            }
            q.status_mask |= HC_JOB_MASK(st);
        } else if (!strcmp(argv[i], "--limit") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 1000)
                return hc_err_set(err, HC_EINVAL, "--limit: must be from 1 to 1000 (got \"%s\")",
                                  argv[i]);
            q.limit = (int)n;
        } else if (!strcmp(argv[i], "--cursor") && i + 1 < argc)
            q.cursor = argv[++i];
        else
            return hc_err_set(err, HC_EINVAL, "jobs list: unknown argument %s", argv[i]);
    }
    hc_job_list l = {0};
    int rc = hc_store_list(store, &q, &l, err);
    if (rc) return rc;
    if (json) {
        fputs("{\"jobs\":[", stdout);
        for (int i = 0; i < l.n; i++) {
            char *j = hc_job_status_json(&l.v[i], NULL, NULL);
            printf("%s%s", i ? "," : "", j ? j : "{}");
            free(j);
        }
        char esc[160];
        hc_json_escape(esc, sizeof esc, l.next_cursor);
        if (l.next_cursor[0])
            printf("],\"next_cursor\":\"%s\"}\n", esc);
        else
            printf("],\"next_cursor\":null}\n");
    } else {
        printf("%-28s %-10s %4s %-12s %-24s %s\n", "JOB_ID", "STATUS", "PCT", "STEP", "CREATED",
               "ERROR");
        for (int i = 0; i < l.n; i++) {
            const hc_job *j = &l.v[i];
            char created[40];
            hc_time_rfc3339(created, sizeof created, j->created_us);
            printf("%-28s %-10s %3d%% %-12s %-24s %s\n", j->job_id, hc_job_status_names[j->status],
                   j->progress, j->current_step[0] ? j->current_step : "-", created,
                   j->error_message ? j->error_message : "");
        }
        if (l.next_cursor[0]) printf("(more: --cursor %s)\n", l.next_cursor);
    }
    hc_job_list_fini(&l);
    return 0;
}

int hc_cmd_jobs(int argc, char **argv) {
    hc_config cfg;
    int rest = 0;
    if (hc_app_load_config("jobs", &cfg, argc, argv, &rest)) return 2;
    /* The operator reads the output; logs only for warnings and up. */
    if (!getenv("HC_LOG_LEVEL")) hc_log_set_level(HC_LOG_WARN);
    const char *sub = rest > 0 ? argv[0] : NULL;
    if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        help(sub ? stdout : stderr);
        hc_config_fini(&cfg);
        return sub ? 0 : 2;
    }
    if (!strcmp(sub, "create-table")) {
        hc_err err = {0};
        int rc = 0;
        if (strncmp(cfg.store, "dynamodb:", 9) == 0) {
            rc = hc_store_dynamodb_create_table(cfg.store + 9, &err);
            if (rc)
                fprintf(stderr, "hydra-compose jobs create-table: %s\n", err.msg);
            else
                printf("%s: table ready\n", cfg.store);
        } else {
            printf("%s: nothing to create (the store makes its schema when opened)\n", cfg.store);
        }
        hc_config_fini(&cfg);
        return rc ? 1 : 0;
    }
    bool is_list = !strcmp(sub, "list");
    bool needs_id = !strcmp(sub, "show") || !strcmp(sub, "cancel") || !strcmp(sub, "retry");
    if (!is_list && !needs_id) {
        fprintf(stderr, "hydra-compose jobs: unknown subcommand \"%s\"\n", sub);
        help(stderr);
        hc_config_fini(&cfg);
        return 2;
    }
    if (needs_id && rest != 2) {
        fprintf(stderr, "hydra-compose jobs %s: needs exactly one job id\n", sub);
        hc_config_fini(&cfg);
        return 2;
    }

    hc_err err = {0};
    hc_store *store = NULL;
    hc_job job = {0};
    int rc = hc_store_open(cfg.store, &store, &err);
    if (rc) goto done;
    if (is_list)
        rc = list_jobs(store, rest - 1, argv + 1, &err);
    else if (!strcmp(sub, "show"))
        rc = hc_store_get(store, argv[1], &job, &err);
    else if (!strcmp(sub, "cancel"))
        rc = hc_store_cancel(store, argv[1], &job, &err);
    else
        rc = hc_store_retry(store, argv[1], &job, &err);
    if (!rc && needs_id) {
        hc_storage *storage = NULL;
        if (hc_app_open_storage(&cfg, &storage, &err) != 0) {
            fprintf(stderr, "hydra-compose jobs: warning: URLs left unsigned: %s\n", err.msg);
            hc_err_clear(&err);
        }
        print_status(&cfg, storage, &job);
        hc_storage_close(storage);
    }

done:
    if (rc) {
        if (rc == HC_ENOTFOUND && needs_id && !err.msg[0])
            snprintf(err.msg, sizeof err.msg, "job %s not found", argv[1]);
        fprintf(stderr, "hydra-compose jobs %s: %s\n", sub, err.msg[0] ? err.msg : hc_strerror(rc));
    }
    hc_job_fini(&job);
    hc_store_close(store);
    hc_config_fini(&cfg);
    if (!rc) return 0;
    return rc == HC_EINVAL ? 2 : 1;
}
