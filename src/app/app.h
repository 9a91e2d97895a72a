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

#endif
