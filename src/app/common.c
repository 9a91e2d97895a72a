/* Helpers shared by the service commands (serve, worker, jobs): loading
 * the configuration with one error format, and the directories they use. */
#include "app/app.h"
#include "core/hc_core.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int hc_app_load_config(const char *cmd, hc_config *cfg, int argc, char **argv, int *rest) {
    hc_err err = {0};
    if (hc_config_load(cfg, argc, argv, rest, &err) != 0) {
        fprintf(stderr, "hydra-compose %s: %s\n", cmd, err.msg);
        return 2;
    }
    hc_log_set_level((hc_log_level)hc_log_level_parse(cfg->log_level ? cfg->log_level : "info"));
    return 0;
}

int hc_app_open_storage(const hc_config *cfg, hc_storage **out, hc_err *err) {
    char secret[65] = "";
    *out = NULL;
    if (cfg->api_keys && cfg->api_keys[strspn(cfg->api_keys, " ,\t")]) {
        int rc = hc_urlsign_key_load(cfg->data_dir, secret, err);
        if (rc) return rc;
    }
    hc_storage_env env = {.public_url = cfg->public_url, .sign_secret = secret};
    int rc = hc_storage_open(cfg->storage, &env, out, err);
    memset(secret, 0, sizeof secret);
    return rc;
}
