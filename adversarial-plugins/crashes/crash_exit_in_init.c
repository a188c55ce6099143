/*
 * crash_exit_in_init — calls exit(3) inside sbx_plugin_init. exit() runs the
 * process's atexit handlers and ends it: under no isolation the host application
 * simply disappears. A sandbox must record a runner that exits mid-call as a
 * crash, never as success.
 */
#include "attack.h"

SBX_DECLARE_PLUGIN_ABI();

sbx_status sbx_plugin_init(const sbx_host_api *host, const uint8_t *config, size_t config_len)
{
    (void)host;
    (void)config;
    (void)config_len;
    exit(3);
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_printf(out, "init returned\n");
    return SBX_OK;
}

ATK_DEFAULT_INVOKE(attack)
ATK_DEFAULT_SHUTDOWN()
