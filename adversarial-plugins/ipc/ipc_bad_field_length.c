/*
 * ipc_bad_field_length — sends a Log frame whose frame length is consistent but
 * whose message field claims 0xffffffff bytes inside a 64-byte body. Every
 * length inside a frame must be checked against what remains of the frame, not
 * only the outer one.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    enum { BODY = 64 };
    uint8_t frame[ATK_FRAME_HEADER_LEN + BODY];
    (void)in;
    memset(frame, 'F', sizeof frame);
    atk_frame_header(frame, ATK_FRAME_HEADER_LEN - 4 + BODY, ATK_KIND_LOG, 0);
    frame[ATK_FRAME_HEADER_LEN] = SBX_LOG_ERROR;
    atk_le32(frame + ATK_FRAME_HEADER_LEN + 1, 0xffffffffu);
    int err = atk_write_all(ATK_CHANNEL_FD, frame, sizeof frame);
    if (err != 0) {
        atk_failed(out, "write to the channel", err);
        return SBX_ERR_INTERNAL;
    }
    atk_gained(out, "sent a Log frame whose message claims 0xffffffff bytes");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
