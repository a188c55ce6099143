/*
 * ipc_log_frame_flood — writes 100000 well-formed Log frames of 1 KiB straight
 * to the channel, bypassing host->log and whatever limits the runner applies
 * there. The host must bound what it keeps (and how long it spends) however the
 * records arrive.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    enum { MESSAGE = 1024, BODY = 1 + 4 + MESSAGE };
    static uint8_t frame[ATK_FRAME_HEADER_LEN + BODY];
    long sent = 0;
    (void)in;
    atk_frame_header(frame, ATK_FRAME_HEADER_LEN - 4 + BODY, ATK_KIND_LOG, 0);
    frame[ATK_FRAME_HEADER_LEN] = SBX_LOG_INFO;
    atk_le32(frame + ATK_FRAME_HEADER_LEN + 1, MESSAGE);
    memset(frame + ATK_FRAME_HEADER_LEN + 5, 'F', MESSAGE);
    for (; sent < 100000; sent++) {
        if (atk_write_all(ATK_CHANNEL_FD, frame, sizeof frame) != 0) {
            atk_failed(out, "write to the channel", errno);
            break;
        }
    }
    atk_printf(out, "wrote %ld Log frames\n", sent);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
