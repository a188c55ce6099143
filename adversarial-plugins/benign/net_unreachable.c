/*
 * net_unreachable — benign: with config and net granted, sends a request through
 * net_request to the allowlisted destination its configuration names under its input (the
 * key). Nothing listens there in the suite, so the host's own connection fails: the call
 * must answer an error, never SBX_OK with bytes no destination sent.
 */
#include "attack.h"

static sbx_status reach(const atk_input *in, atk_out *out)
{
    static const char request[] = "anyone there?";
    char dest[256];
    uint8_t answer[64];
    size_t dest_len = 0, got = 0;
    if (atk_config_named_by_input(in, dest, sizeof dest, &dest_len, out) != SBX_OK) {
        return SBX_OK;
    }
    sbx_status status = atk_host->net_request(atk_host->ctx, dest, dest_len, (const uint8_t *)request,
                                   sizeof request - 1, answer, sizeof answer, &got);
    if (status == SBX_OK) {
        atk_printf(out, "answered SBX_OK with %zu bytes", got);
    } else {
        atk_printf(out, "not reached");
    }
    return SBX_OK;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE("reach", reach)
ATK_DEFAULT_SHUTDOWN()
