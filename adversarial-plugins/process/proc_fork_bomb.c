/*
 * proc_fork_bomb — forks without end: every child forks again, and a failed fork
 * is retried. It never answers. Without a process limit it exhausts the machine's
 * process table and takes every other program down with it.
 */
#include "attack.h"

#include <time.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    (void)out;
    for (;;) {
        if (fork() < 0) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    return SBX_ERR_INTERNAL; /* not reached */
}

ATK_INVOKE_PLUGIN(attack)
