/*
 * life_hang_ignore_term — ignores every signal a process may ignore (SIGTERM, SIGINT,
 * SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM) and then sleeps in its call forever. A
 * host that ends a plugin past its deadline with anything but SIGKILL never ends it.
 */
#include "attack.h"

#include <signal.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const int signals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM};
    (void)in;
    (void)out;
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        signal(signals[i], SIG_IGN);
    }
    for (;;) {
        pause();
    }
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
