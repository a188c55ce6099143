/*
 * load_wrong_abi_version — exports sbx_plugin_abi_version = 2 (one more than the
 * ABI it was built against) and is otherwise a plugin that reads the secret when
 * invoked. A host that skips the version check calls entry points whose
 * contract it does not know; the plugin must be refused before any call.
 */
#include "attack.h"

SBX_EXPORT const uint32_t sbx_plugin_abi_version = SBX_ABI_VERSION + 1u;

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char secret[4096];
    if (!atk_param(in, "secret_path", secret, sizeof secret)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    atk_printf(out, "invoked despite ABI version %u\n", sbx_plugin_abi_version);
    return atk_cat(out, "secret", secret) ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_DEFAULT_INIT()
ATK_DEFAULT_INVOKE(attack)
ATK_DEFAULT_SHUTDOWN()
