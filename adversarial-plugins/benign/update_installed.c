/*
 * update_installed — the version every update case installs first (1.0.0): its init
 * stores the configuration it is given as the plugin's state, unless a state is
 * stored already (it is started again after a rollback, and must find its own). It
 * answers "attack" with its version and the state (include/update.h).
 */
#include "attack.h"
#include "update.h"

UPD_ANSWER("1.0.0")

SBX_DECLARE_PLUGIN_ABI();

sbx_status sbx_plugin_init(const sbx_host_api *host, const uint8_t *config, size_t config_len)
{
    uint8_t state[UPD_STATE_MAX];
    size_t len = 0;
    atk_host = host;
    if (config_len == 0) {
        return SBX_OK;
    }
    if (host->storage_get(host->ctx, UPD_STATE_KEY, sizeof UPD_STATE_KEY - 1, state,
                          sizeof state, &len) == SBX_ERR_NOT_FOUND) {
        host->storage_put(host->ctx, UPD_STATE_KEY, sizeof UPD_STATE_KEY - 1, config,
                          config_len < UPD_STATE_MAX ? config_len : UPD_STATE_MAX);
    }
    return SBX_OK;
}

ATK_DEFAULT_INVOKE(upd_attack)
ATK_DEFAULT_SHUTDOWN()
