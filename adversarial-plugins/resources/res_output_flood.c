/*
 * res_output_flood — fills the whole output buffer and then claims sixteen times
 * more output than the buffer holds. A host that trusts *output_len copies (or
 * sends) memory beyond the buffer: a heap over-read of the runner, or a huge
 * allocation on the host side.
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
    if (output != NULL) {
        memset(output, 'A', output_cap);
    }
    *output_len = output_cap * 16 + 1;
    return SBX_OK;
}
