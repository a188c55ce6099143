/*
 * output_fill — benign: its method `fill` answers with its whole output buffer, every byte
 * used (a repeating alphabet). A plugin may return as much as the host gives it room for,
 * so the room the host gives is the bound: no more than the policy's output bound.
 */
#include "attack.h"

static sbx_status fill(const atk_input *in, atk_out *out)
{
    (void)in;
    for (out->len = 0; out->len < out->cap; out->len++) {
        out->buf[out->len] = (uint8_t)('a' + out->len % 26);
    }
    return SBX_OK;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE("fill", fill)
ATK_DEFAULT_SHUTDOWN()
