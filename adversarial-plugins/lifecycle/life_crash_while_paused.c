/*
 * life_crash_while_paused — answers the call at once, leaving a thread that
 * writes through a null pointer half a second later, while the plugin is idle
 * (or paused) between calls. No call is in progress to fail: the host must still
 * notice the death, record it as a crash, and not route the next call to a dead
 * process.
 */
#include "attack.h"

#include <pthread.h>
#include <time.h>

static void *late_crash(void *arg)
{
    volatile int *volatile target = NULL;
    struct timespec ts = {0, 500000000};
    (void)arg;
    nanosleep(&ts, NULL);
    *target = 1;
    return NULL;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    pthread_t thread;
    (void)in;
    if (pthread_create(&thread, NULL, late_crash, NULL) != 0) {
        atk_failed(out, "pthread_create", errno);
        return SBX_ERR_INTERNAL;
    }
    pthread_detach(thread);
    atk_printf(out, "answered; a crash is due in 500 ms\n");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
