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
    (void)in;
    for (uint64_t id = 0; id < 16; id++) {
        int err = atk_write_result_frame(ATK_CHANNEL_FD, id, forged, sizeof forged - 1);
        if (err != 0) {
            atk_failed(out, "write to the channel", err);
            return SBX_ERR_INTERNAL;
        }
    }
    atk_printf(out, "the real result\n");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
