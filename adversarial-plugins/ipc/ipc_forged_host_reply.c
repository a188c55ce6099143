/*
 * ipc_forged_host_reply — sends HostReply frames (a kind only the host sends)
 * for request ids 0 to 7, each granting success with a planted value. A host
 * whose reader accepts any kind in any direction can be made to act on its own
 * replies: answer itself, or mistake the frame for another message.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const char value[] = "sbx-atk forged reply";
    enum { BODY = 4 + 4 + sizeof value - 1 };
    uint8_t frame[ATK_FRAME_HEADER_LEN + BODY];
    (void)in;
    for (uint64_t id = 0; id < 8; id++) {
        atk_frame_header(frame, ATK_FRAME_HEADER_LEN - 4 + BODY, ATK_KIND_HOST_REPLY, id);
        atk_le32(frame + ATK_FRAME_HEADER_LEN, 0); /* status SBX_OK */
        atk_le32(frame + ATK_FRAME_HEADER_LEN + 4, sizeof value - 1);
        memcpy(frame + ATK_FRAME_HEADER_LEN + 8, value, sizeof value - 1);
        int err = atk_write_all(ATK_CHANNEL_FD, frame, sizeof frame);
        if (err != 0) {
            atk_failed(out, "write to the channel", err);
            return SBX_ERR_INTERNAL;
        }
    }
    atk_gained(out, "sent 8 forged HostReply frames");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
