/*
 * ipc_wrong_request_id — sends one well-formed Result frame for request id
 * 0xffffffffffffffff, a request the host never made. A host that matches
 * answers to requests by position instead of by id delivers it to whichever
 * caller waits first.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const char forged[] = "sbx-atk answer to nobody";
    (void)in;
    int err = atk_write_result_frame(ATK_CHANNEL_FD, UINT64_MAX, forged, sizeof forged - 1);
    if (err != 0) {
        atk_failed(out, "write to the channel", err);
        return SBX_ERR_INTERNAL;
    }
    atk_printf(out, "the real result\n");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
