/*
 * crash_output_len_overflow — writes a little output and claims SIZE_MAX bytes.
 * A host that adds a header length to *output_len, or rounds it up, overflows to
 * a small number and then copies far past the buffer.
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
    if (output != NULL && output_cap >= 8) {
        memcpy(output, "overflow", 8);
    }
    *output_len = SIZE_MAX;
    return SBX_OK;
}
