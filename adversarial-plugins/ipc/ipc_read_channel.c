/*
 * ipc_read_channel — reads from the runner's channel during the call, stealing
 * whatever the host sends next (heartbeats, host-call replies, the next request)
 * and returning it as output. The host then waits for answers the runner never
 * saw: it must not hang, and must end the runner at its deadline.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    uint8_t stolen[4096];
    (void)in;
    ssize_t got = read(ATK_CHANNEL_FD, stolen, sizeof stolen);
    if (got <= 0) {
        atk_failed(out, "read from the channel", got < 0 ? errno : EPIPE);
        return SBX_ERR_INTERNAL;
    }
    atk_gained(out, "stole %zd bytes from the channel", got);
    atk_put(out, stolen, (size_t)got);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
