/*
 * ipc_oversized_result — answers its own call with a Result frame it writes itself,
 * carrying 600 KiB: more than the policy's 512 KiB of output, less than a frame may
 * hold. The runner's output buffer bounds what sbx_plugin_invoke can return, but not
 * what a plugin writes into the channel: the host must hold the answer to the policy's
 * output bound itself. Sent for request id 2 first (the reference numbers a plugin's
 * init 1 and its first call 2: a frame for another id would be refused for its id before
 * its size), then for the other ids up to 15.
 */
#include "attack.h"

#define FORGED_LEN (600u * 1024u)

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static uint8_t forged[FORGED_LEN];
    (void)in;
    memset(forged, 'o', sizeof forged);
    for (uint64_t n = 0; n < 16; n++) {
        uint64_t id = (n + 2) % 16;
        int err = atk_write_result_frame(ATK_CHANNEL_FD, id, forged, FORGED_LEN);
        if (err != 0) {
            atk_failed(out, "write to the channel", err);
            return SBX_ERR_INTERNAL;
        }
    }
    atk_printf(out, "the real result\n");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
