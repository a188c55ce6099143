/*
 * res_task_cap_hog — starts parked threads until pthread_create fails, keeps every
 * one of them, and stays loaded. A cap on a plugin's threads must be that plugin's
 * own: while it holds every task it may have, a neighbour plugin must still be able
 * to start a thread. A sandbox that runs all its plugins under one uid, with
 * RLIMIT_NPROC as the cap, gives them one shared count, and this plugin alone
 * starves every other of threads.
 */
#include "attack.h"

#include <pthread.h>

static void *park(void *arg)
{
    (void)arg;
    for (;;) {
        pause();
    }
    return NULL;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    pthread_attr_t attr;
    long started = 0;
    int err = 0;
    (void)in;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* Bounded, so that a sandbox without any cap does not take the machine's pids. */
    while (started < 100000) {
        pthread_t thread;
        err = pthread_create(&thread, &attr, park, NULL);
        if (err != 0) {
            break;
        }
        started++;
    }
    pthread_attr_destroy(&attr);
    atk_printf(out, "holding %ld threads; the next one: %s\n", started,
               err ? strerror(err) : "not tried");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
