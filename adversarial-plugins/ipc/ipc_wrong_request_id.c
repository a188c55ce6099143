/*
 * ipc_wrong_request_id — sends one well-formed Result frame for request id
 * 0xffffffffffffffff, a request the host never made. A host that matches
 * answers to requests by position instead of by id delivers it to whichever
 * caller waits first.
 */
#include "attack.h"

/* The request the forged frame claims to answer, and its output (ipc_replayed_request_id
 * names others). */
#ifndef FORGED_REQUEST_ID
#define FORGED_REQUEST_ID UINT64_MAX
#endif
#ifndef FORGED_ANSWER
#define FORGED_ANSWER "sbx-atk answer to nobody"
#endif

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const char forged[] = FORGED_ANSWER;
    (void)in;
    int err = atk_write_result_frame(ATK_CHANNEL_FD, FORGED_REQUEST_ID, forged, sizeof forged - 1);
    if (err != 0) {
        atk_failed(out, "write to the channel", err);
        return SBX_ERR_INTERNAL;
    }
    atk_printf(out, "the real result\n");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
