/*
 * proc_thread_bomb — starts threads with small stacks until pthread_create
 * fails, each parked forever, then reports how many it got. Threads are
 * processes to the kernel: without a thread limit this exhausts the pid space
 * and the memory for kernel stacks.
 */
#include "attack.h"

#include <limits.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    int err;
    long started;
    (void)in;
    started = atk_park_threads(LONG_MAX, &err);
    atk_printf(out, "started %ld threads before: %s\n", started, strerror(err));
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
