/*
 * leak_stale_output — claims the whole output buffer without writing a byte, so
 * the host returns whatever the buffer held before: earlier answers, or data of
 * other callers if the host reuses one buffer across callers or plugins. A host
 * must hand each call a buffer that holds nothing but this plugin's own data.
 */
#include "attack.h"

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_DEFAULT_SHUTDOWN()

sbx_status sbx_plugin_invoke(const char *method, size_t method_len, const uint8_t *input,
                             size_t input_len, uint8_t *output, size_t output_cap,
                             size_t *output_len)
{
    (void)method;
    (void)method_len;
    (void)input;
    (void)input_len;
    (void)output;
    *output_len = output_cap;
    return SBX_OK;
}
