/*
 * output_fill — benign: its method `fill` answers with its whole output buffer, every byte
 * used (a repeating alphabet). A plugin may return as much as the host gives it room for,
 * so the room the host gives is the bound: no more than the policy's output bound.
 */
#include "attack.h"

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_DEFAULT_SHUTDOWN()

sbx_status sbx_plugin_invoke(const char *method, size_t method_len, const uint8_t *input,
                             size_t input_len, uint8_t *output, size_t output_cap,
                             size_t *output_len)
{
    size_t i;
    (void)input;
    (void)input_len;
    if (!atk_method_is(method, method_len, "fill")) {
        *output_len = 0;
        return SBX_ERR_UNKNOWN_METHOD;
    }
    for (i = 0; i < output_cap; i++) {
        output[i] = (uint8_t)('a' + i % 26);
    }
    *output_len = output_cap;
    return SBX_OK;
}
