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
    if (atk_host == NULL) {
        return SBX_ERR_INTERNAL;
    }
    sbx_status status = atk_host->config_get(atk_host->ctx, absent, sizeof absent - 1, scratch,
                                             sizeof scratch, &len);
    if (status != SBX_ERR_NOT_FOUND) {
        atk_printf(out, "config_get of a key no policy names: %d", status);
        return SBX_OK;
    }
    if (atk_config_named_by_input(in, (char *)out->buf, out->cap, &len, out) == SBX_OK) {
        atk_take_answer(out, len, "config_get");
    }
    return SBX_OK;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE("read", read_config)
ATK_DEFAULT_SHUTDOWN()
