/*
 * life_hang_shutdown — works normally, then never returns from
 * sbx_plugin_shutdown. A host that waits for a graceful shutdown without a
 * deadline cannot stop, unload or restart the plugin.
 */
#include "attack.h"

#include <signal.h>
#include <time.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_printf(out, "fine until shutdown\n");
    return SBX_OK;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_DEFAULT_INVOKE(attack)

void sbx_plugin_shutdown(void)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        struct timespec ts = {3600, 0};
        nanosleep(&ts, NULL);
    }
}
