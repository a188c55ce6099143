/*
 * load_ctor_fork — a constructor forks a child that sleeps for ten minutes, so a
 * process of the plugin exists before the host has even seen the plugin load.
 */
#include "attack.h"

#include <time.h>

__attribute__((constructor)) static void early(void)
{
    pid_t child = fork();
    if (child == 0) {
        struct timespec ts = {600, 0};
        nanosleep(&ts, NULL);
        _exit(0);
    }
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_printf(out, "loaded\n");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
