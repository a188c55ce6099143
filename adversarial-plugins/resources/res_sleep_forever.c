/*
 * res_sleep_forever — blocks every blockable signal and sleeps forever, using no
 * CPU at all. A CPU limit never fires: only a wall-clock deadline on the call
 * stops it (and SIGKILL, which cannot be blocked).
 */
#include "attack.h"

#include <signal.h>
#include <time.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    sigset_t all;
    (void)in;
    (void)out;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        struct timespec ts = {3600, 0};
        nanosleep(&ts, NULL);
    }
    return SBX_ERR_INTERNAL; /* not reached */
}

ATK_INVOKE_PLUGIN(attack)
