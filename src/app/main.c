/* hydra-compose: the command-line entry point; dispatches subcommands and
 * applies the settings every command shares (log level). */
#include "app/app.h"
#include "core/hc_core.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef HC_VERSION
#define HC_VERSION "0.1.0"
#endif

static void usage(FILE *f) {
    fputs(
        "usage: hydra-compose COMMAND [ARGS]\n"
        "\n"
        "commands:\n"
        "  render SPEC.json -o OUT.mp4 [--json] [--quiet]   render one request locally\n"
        "  styles [--json]                                   every vibe, preset, transition, "
        "motion,\n"
        "                                                    grade, filter, overlay, text style, "
        "animation\n"
        "  gallery DIR                                       contact sheets of every effect (PNG)\n"
        "  analyze AUDIO [--start S] [--duration D]          tempo, beats, energy (JSON)\n"
        "  serve [--listen ADDR] [--data-dir DIR] ...        the HTTP job API with its store and "
        "workers\n"
        "  worker JOB_ID                                     run one stored job and exit\n"
        "  jobs list|show ID|cancel ID|retry ID              inspect and manage stored jobs\n"
        "  lambda                                            the job API as an AWS Lambda runtime\n"
        "  version                                           print the version\n"
        "\n"
        "Run `hydra-compose COMMAND --help` for a command's options.\n",
        f);
}

int main(int argc, char **argv) {
    /* Frames, canvases and decode buffers are large and short-lived: give
     * them their own mappings, returned to the system when freed. Without
     * this glibc raises its mmap threshold after the first free and keeps
     * them on the heap, so peak memory grows with the length of the video. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    const char *lvl = getenv("HC_LOG_LEVEL");
    int level = lvl ? hc_log_level_parse(lvl) : -1;
    if (level >= 0) hc_log_set_level((hc_log_level)level);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "render") == 0) return hc_cmd_render(argc - 2, argv + 2);
    if (strcmp(cmd, "styles") == 0) return hc_cmd_styles(argc - 2, argv + 2);
    if (strcmp(cmd, "gallery") == 0) return hc_cmd_gallery(argc - 2, argv + 2);
    if (strcmp(cmd, "analyze") == 0) return hc_cmd_analyze(argc - 2, argv + 2);
    if (strcmp(cmd, "serve") == 0) return hc_cmd_serve(argc - 2, argv + 2);
    if (strcmp(cmd, "worker") == 0) return hc_cmd_worker(argc - 2, argv + 2);
    if (strcmp(cmd, "jobs") == 0) return hc_cmd_jobs(argc - 2, argv + 2);
    if (strcmp(cmd, "lambda") == 0) return hc_cmd_lambda(argc - 2, argv + 2);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("hydra-compose %s\n", HC_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "hydra-compose: unknown command \"%s\"\n", cmd);
    usage(stderr);
    return 2;
}
