/*
 * update_fails_init — a new version (1.1.0) offered in place of update_installed
 * (package = "update_fails_init") whose init overwrites the plugin's state, as a
 * migration that goes wrong does, and then crashes. A sandbox that rolls back serves
 * the installed version again, with the state it had stored; one that does not leaves
 * nothing serving, or the state overwritten.
 */
#include "attack.h"
#include "update.h"

UPD_ANSWER("1.1.0")

SBX_DECLARE_PLUGIN_ABI();

sbx_status sbx_plugin_init(const sbx_host_api *host, const uint8_t *config, size_t config_len)
{
    (void)config;
    (void)config_len;
    atk_host = host;
    upd_overwrite("overwritten by 1.1.0, whose init then crashed");
    abort();
}

ATK_DEFAULT_INVOKE(upd_attack)
ATK_DEFAULT_SHUTDOWN()
