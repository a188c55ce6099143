/*
 * crash_cpp_exception_in_init — lets a std::out_of_range from std::vector::at
 * escape sbx_plugin_init: a configuration parser that forgot its try/catch.
 * The host must record the crash at init and never invoke the plugin.
 */
#include <stdexcept>
#include <vector>

#include "attack.h"

SBX_DECLARE_PLUGIN_ABI();

sbx_status sbx_plugin_init(const sbx_host_api *host, const uint8_t *config, size_t config_len)
{
    atk_host = host;
    const std::vector<uint8_t> settings(config, config + config_len);
    return settings.at(config_len + 1) == 0 ? SBX_OK : SBX_ERR_INVALID_ARGUMENT;
}

namespace {

sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_printf(out, "invoked after a failed init\n");
    return SBX_OK;
}

} // namespace

ATK_DEFAULT_INVOKE(attack)
ATK_DEFAULT_SHUTDOWN()
