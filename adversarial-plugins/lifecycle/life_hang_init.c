/*
 * life_hang_init — never returns from sbx_plugin_init: blocks every blockable
 * signal and sleeps. A host that waits for init without a deadline never
 * finishes starting the plugin (or the application).
 */
#include "attack.h"

#include <signal.h>
#include <time.h>

SBX_DECLARE_PLUGIN_ABI();

sbx_status sbx_plugin_init(const sbx_host_api *host, const uint8_t *config, size_t config_len)
{
    sigset_t all;
    (void)host;
    (void)config;
    (void)config_len;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        struct timespec ts = {3600, 0};
        nanosleep(&ts, NULL);
    }
    return SBX_OK; /* not reached */
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_printf(out, "init returned after all\n");
    return SBX_OK;
}

ATK_DEFAULT_INVOKE(attack)
ATK_DEFAULT_SHUTDOWN()
