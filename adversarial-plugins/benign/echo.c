/*
 * echo — benign: returns its input unchanged. The simplest plugin a sandbox must
 * run without interfering (a false positive here breaks every real plugin).
 */
#include "attack.h"

static sbx_status echo(const atk_input *in, atk_out *out)
{
    if (in->len > out->cap) {
        out->len = in->len; /* the size needed, as the ABI asks */
        return SBX_ERR_BUFFER_TOO_SMALL;
    }
    atk_put(out, in->data, in->len);
    return SBX_OK;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_DEFAULT_SHUTDOWN()

sbx_status sbx_plugin_invoke(const char *method, size_t method_len, const uint8_t *input,
                             size_t input_len, uint8_t *output, size_t output_cap,
                             size_t *output_len)
{
    atk_input in = {input, input_len};
    atk_out out;
    sbx_status status;
    if (!atk_method_is(method, method_len, "echo")) {
        *output_len = 0;
        return SBX_ERR_UNKNOWN_METHOD;
    }
    atk_out_init(&out, output, output_cap);
    status = echo(&in, &out);
    *output_len = out.len;
    return status;
}
