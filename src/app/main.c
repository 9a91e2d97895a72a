/* hydra-compose: the command-line entry point; dispatches subcommands. */
#include "core/hc_core.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    puts("hydra-compose");
    return 0;
}
