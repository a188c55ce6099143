/*
 * life_init_fails — sbx_plugin_init reports failure (SBX_ERR_INTERNAL) but keeps
 * the host table; invoke reads the secret. A plugin whose init failed holds
 * half-initialised state and must never be invoked.
 */
#include "attack.h"

SBX_DECLARE_PLUGIN_ABI();

sbx_status sbx_plugin_init(const sbx_host_api *host, const uint8_t *config, size_t config_len)
{
    (void)config;
    (void)config_len;
    atk_host = host;
    return SBX_ERR_INTERNAL;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char secret[4096];
    atk_printf(out, "invoked after a failed init\n");
    if (!atk_param(in, "secret_path", secret, sizeof secret)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    return atk_cat(out, "secret", secret) ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_DEFAULT_INVOKE(attack)
ATK_DEFAULT_SHUTDOWN()
