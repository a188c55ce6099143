/*
 * storage_user — benign: stores its input under the key "last" through the host's
 * storage service, reads it back and returns what it read. Exercises a granted
 * capability end to end; a sandbox must let it work.
 */
#include "attack.h"

static sbx_status roundtrip(const atk_input *in, atk_out *out)
{
    static const char key[] = "last";
    size_t got = 0;
    sbx_status status;
    if (atk_host == NULL) {
        return SBX_ERR_INTERNAL;
    }
    status = atk_host->storage_put(atk_host->ctx, key, sizeof key - 1, in->data, in->len);
    if (status != SBX_OK) {
        return status;
    }
    status = atk_host->storage_get(atk_host->ctx, key, sizeof key - 1, out->buf, out->cap, &got);
    out->len = got;
    if (status == SBX_OK && got > out->cap) {
        return SBX_ERR_INTERNAL; /* the host broke the out-buffer rule */
    }
    return status;
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
    if (!atk_method_is(method, method_len, "roundtrip")) {
        *output_len = 0;
        return SBX_ERR_UNKNOWN_METHOD;
    }
    atk_out_init(&out, output, output_cap);
    status = roundtrip(&in, &out);
    *output_len = out.len;
    return status;
}
