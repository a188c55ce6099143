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
    enum { BODY = 4 + sizeof forged - 1 };
    uint8_t frame[ATK_FRAME_HEADER_LEN + BODY];
    (void)in;
    atk_frame_header(frame, ATK_FRAME_HEADER_LEN - 4 + BODY, ATK_KIND_RESULT, UINT64_MAX);
    atk_le32(frame + ATK_FRAME_HEADER_LEN, sizeof forged - 1);
    memcpy(frame + ATK_FRAME_HEADER_LEN + 4, forged, sizeof forged - 1);
    int err = atk_write_all(ATK_CHANNEL_FD, frame, sizeof frame);
    if (err != 0) {
        atk_failed(out, "write to the channel", err);
        return SBX_ERR_INTERNAL;
    }
    atk_printf(out, "the real result\n");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
