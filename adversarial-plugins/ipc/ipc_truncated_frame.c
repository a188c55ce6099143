/*
 * ipc_truncated_frame — sends the first 26 bytes of a Log frame that announces
 * 76, then returns normally. The runner's own Result frame follows on the
 * channel and is swallowed as the rest of the truncated frame: a host that does
 * not validate what it reassembled desynchronises and misreads every later frame.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    uint8_t frame[ATK_FRAME_HEADER_LEN + 10];
    (void)in;
    memset(frame, 'T', sizeof frame);
    atk_frame_header(frame, ATK_FRAME_HEADER_LEN - 4 + 64, ATK_KIND_LOG, 0);
    frame[ATK_FRAME_HEADER_LEN] = SBX_LOG_INFO;
    atk_le32(frame + ATK_FRAME_HEADER_LEN + 1, 59);
    int err = atk_write_all(ATK_CHANNEL_FD, frame, sizeof frame);
    if (err != 0) {
        atk_failed(out, "write to the channel", err);
        return SBX_ERR_INTERNAL;
    }
    atk_printf(out, "left a truncated frame on the channel\n");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
