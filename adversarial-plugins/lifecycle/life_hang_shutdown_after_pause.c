/*
 * life_hang_shutdown_after_pause — life_hang_shutdown in a case that pauses and resumes it
 * between its call and its unload: works normally, then never returns from
 * sbx_plugin_shutdown. A host whose pause clock still runs once the plugin is resumed
 * moves the shutdown's deadline on for ever, and never ends the plugin.
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
