/*
 * ipc_negative_length — sends a frame whose length field is 0x80000000: negative
 * when a host reads it as a signed 32-bit number, which slips past a "len > max"
 * check and then becomes a huge size_t or a negative offset.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    uint8_t frame[ATK_FRAME_HEADER_LEN + 32];
    (void)in;
    memset(frame, 'N', sizeof frame);
    atk_frame_header(frame, 0x80000000u, ATK_KIND_RESULT, 1);
    int err = atk_write_all(ATK_CHANNEL_FD, frame, sizeof frame);
    if (err != 0) {
        atk_failed(out, "write to the channel", err);
        return SBX_ERR_INTERNAL;
    }
    atk_gained(out, "sent a frame with length 0x80000000");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
