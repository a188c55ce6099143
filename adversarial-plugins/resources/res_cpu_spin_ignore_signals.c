/*
 * res_cpu_spin_ignore_signals — ignores and blocks every catchable signal a
 * supervisor might use to stop it (SIGXCPU of the soft CPU limit, SIGTERM,
 * SIGINT, SIGHUP, SIGALRM, SIGUSR1, SIGUSR2), starts two threads that spin
 * forever and returns at once. The spinning goes on between calls, where no call
 * deadline runs: only a hard CPU limit (or SIGKILL) ends it; a sandbox that asks
 * politely, or that only times calls, never does.
 */
#include "attack.h"

#include <pthread.h>
#include <signal.h>

static void *spin(void *arg)
{
    volatile uint64_t counter = 0;
    (void)arg;
    for (;;) {
        counter++;
    }
    return NULL;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const int signals[] = {SIGXCPU, SIGTERM, SIGINT, SIGHUP, SIGALRM, SIGUSR1, SIGUSR2};
    sigset_t set;
    pthread_attr_t attr;
    int started = 0;
    (void)in;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        signal(signals[i], SIG_IGN);
        sigaddset(&set, signals[i]);
    }
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (int i = 0; i < 2; i++) {
        pthread_t thread;
        if (pthread_create(&thread, &attr, spin, NULL) == 0) {
            started++;
        }
    }
    pthread_attr_destroy(&attr);
    atk_printf(out, "%d threads spinning with catchable signals ignored\n", started);
    return started > 0 ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
