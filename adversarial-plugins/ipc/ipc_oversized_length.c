/*
 * ipc_oversized_length — sends a Result frame header whose length field claims
 * almost 4 GiB, followed by 64 bytes. A host that allocates the announced length
 * before reading dies of memory exhaustion; one that reads until it has it
 * waits forever. The length must be checked against a maximum first.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    uint8_t frame[ATK_FRAME_HEADER_LEN + 64];
    (void)in;
    memset(frame, 'O', sizeof frame);
    atk_frame_header(frame, 0xfffffff0u, ATK_KIND_RESULT, 1);
    int err = atk_write_all(ATK_CHANNEL_FD, frame, sizeof frame);
    if (err != 0) {
        atk_failed(out, "write to the channel", err);
        return SBX_ERR_INTERNAL;
    }
    atk_gained(out, "sent a frame announcing 0xfffffff0 bytes");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
