/* The hydra-compose subcommands, wired together by main.c. Each takes the
 * arguments after its name and returns the process exit code. */
#ifndef HC_APP_H
#define HC_APP_H

int hc_cmd_render(int argc, char **argv);
int hc_cmd_gallery(int argc, char **argv);
int hc_cmd_styles(int argc, char **argv);
int hc_cmd_analyze(int argc, char **argv);

#endif
