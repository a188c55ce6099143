/*
 * config_reader — benign: with config granted, reads the configuration value named by its
 * input and answers it; a key that names nothing must answer SBX_ERR_NOT_FOUND. A sandbox
 * must hand a plugin the configuration its policy gives, and nothing for a key it does not.
 */
#include "attack.h"

static sbx_status read_config(const atk_input *in, atk_out *out)
{
    static const char absent[] = "no-such-key";
    uint8_t scratch[16];
    size_t len = 0;
    sbx_status status;
    if (atk_host == NULL || in->len > SBX_MAX_KEY_LEN) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    status = atk_host->config_get(atk_host->ctx, absent, sizeof absent - 1, scratch,
                                  sizeof scratch, &len);
    if (status != SBX_ERR_NOT_FOUND) {
        atk_printf(out, "config_get of a key no policy names: %d", status);
        return SBX_OK;
    }
    status = atk_host->config_get(atk_host->ctx, (const char *)in->data, in->len, out->buf,
                                  out->cap, &len);
    if (status != SBX_OK) {
        atk_printf(out, "config_get: %d", status);
        return SBX_OK;
    }
    if (len > out->cap) {
        atk_printf(out, "config_get claims %zu bytes in a buffer of %zu", len, out->cap);
        return SBX_OK;
    }
    out->len = len;
    return SBX_OK;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE("read", read_config)
ATK_DEFAULT_SHUTDOWN()
