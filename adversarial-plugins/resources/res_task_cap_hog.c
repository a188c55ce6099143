/*
 * res_task_cap_hog — starts parked threads until pthread_create fails, keeps every
 * one of them, and stays loaded. A cap on a plugin's threads must be that plugin's
 * own: while it holds every task it may have, a neighbour plugin must still be able
 * to start a thread. A sandbox that runs all its plugins under one uid, with
 * RLIMIT_NPROC as the cap, gives them one shared count, and this plugin alone
 * starves every other of threads.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    int err;
    long held;
    (void)in;
    /* Bounded, so that a sandbox without any cap does not take the machine's pids. */
    held = atk_park_threads(100000, &err);
    atk_printf(out, "holding %ld threads; the next one: %s\n", held,
               err ? strerror(err) : "not tried");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
