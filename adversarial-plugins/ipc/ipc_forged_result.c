/*
 * ipc_forged_result — sends well-formed Result frames carrying "sbx-atk forged
 * result" for request ids 0 to 15, one of which is the call in progress. The
 * real Result then arrives as a duplicate. A host must refuse a second answer to
 * a request (and answers to requests it never made), and must not have handed
 * the forged output to its caller as if the call had produced it.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const char forged[] = "sbx-atk forged result";
    enum { BODY = 4 + sizeof forged - 1 };
    uint8_t frame[ATK_FRAME_HEADER_LEN + BODY];
    (void)in;
    for (uint64_t id = 0; id < 16; id++) {
        atk_frame_header(frame, ATK_FRAME_HEADER_LEN - 4 + BODY, ATK_KIND_RESULT, id);
        atk_le32(frame + ATK_FRAME_HEADER_LEN, sizeof forged - 1);
        memcpy(frame + ATK_FRAME_HEADER_LEN + 4, forged, sizeof forged - 1);
        int err = atk_write_all(ATK_CHANNEL_FD, frame, sizeof frame);
        if (err != 0) {
            atk_failed(out, "write to the channel", err);
            return SBX_ERR_INTERNAL;
        }
    }
    atk_printf(out, "the real result\n");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
