/*
 * res_output_huge_need — answers SBX_ERR_BUFFER_TOO_SMALL with a "size needed"
 * of 64 TiB. The ABI invites the host to call again with a bigger buffer; a host
 * that allocates whatever the plugin asks for dies of memory exhaustion, or
 * retries forever. It must cap the size and report an error.
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
    (void)output_cap;
    *output_len = (size_t)1 << 46;
    return SBX_ERR_BUFFER_TOO_SMALL;
}
