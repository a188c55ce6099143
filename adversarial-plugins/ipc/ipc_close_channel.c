/*
 * ipc_close_channel — closes the runner's channel (descriptor 3) and returns
 * normally. The runner can no longer answer; the host sees the channel end in
 * the middle of a call and must record that, not wait forever.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    if (close(ATK_CHANNEL_FD) != 0) {
        atk_failed(out, "close the channel", errno);
        return SBX_ERR_INTERNAL;
    }
    atk_printf(out, "closed the channel\n");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
