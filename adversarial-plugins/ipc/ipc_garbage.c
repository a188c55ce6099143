/*
 * ipc_garbage — writes 4 KiB of pseudo-random bytes to the runner's channel
 * (descriptor 3) in the middle of a call. The plugin shares the runner's process,
 * so it can write anything the runner could: the host must treat the channel as
 * hostile, detect garbage and end the runner without crashing itself.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    uint8_t noise[4096];
    uint64_t x = 0x9e3779b97f4a7c15ull ^ in->len;
    for (size_t i = 0; i < sizeof noise; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise[i] = (uint8_t)x;
    }
    int err = atk_write_all(ATK_CHANNEL_FD, noise, sizeof noise);
    if (err != 0) {
        atk_failed(out, "write to the channel", err);
        return SBX_ERR_INTERNAL;
    }
    atk_gained(out, "wrote %zu garbage bytes to the channel", sizeof noise);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
