/*
 * ipc_short_length — sends a frame whose length field (3) is shorter than the
 * rest of a frame header (12 bytes). A host that subtracts the header size from
 * the length without checking underflows to a huge body length, or reads the
 * header fields out of the next frame.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    uint8_t frame[ATK_FRAME_HEADER_LEN];
    (void)in;
    atk_frame_header(frame, 3, ATK_KIND_RESULT, 1);
    int err = atk_write_all(ATK_CHANNEL_FD, frame, sizeof frame);
    if (err != 0) {
        atk_failed(out, "write to the channel", err);
        return SBX_ERR_INTERNAL;
    }
    atk_gained(out, "sent a frame with length 3");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
