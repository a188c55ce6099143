/*
 * net_user — benign: with config and net granted, reads from its configuration the
 * destination named by its input (the key), sends that destination its input through
 * net_request and answers what came back. The suite's destination is a service that echoes,
 * allowlisted by the policy: a sandbox must let a plugin reach what it was granted.
 */
#include "attack.h"

static sbx_status use_net(const atk_input *in, atk_out *out)
{
    char dest[256];
    size_t dest_len = 0, got = 0;
    if (atk_config_named_by_input(in, dest, sizeof dest, &dest_len, out) != SBX_OK) {
        return SBX_OK;
    }
    sbx_status status = atk_host->net_request(atk_host->ctx, dest, dest_len, in->data, in->len,
                                              out->buf, out->cap, &got);
    if (status != SBX_OK) {
        int shown = (int)(dest_len < sizeof dest ? dest_len : sizeof dest);
        atk_printf(out, "net_request to %.*s: %d", shown, dest, status);
        return SBX_OK;
    }
    atk_take_answer(out, got, "net_request");
    return SBX_OK;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE("fetch", use_net)
ATK_DEFAULT_SHUTDOWN()
