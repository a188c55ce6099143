/*
 * proc_kill_host — sends SIGKILL to the host process, with kill() and, if that
 * is refused, through a pidfd (pidfd_open + pidfd_send_signal, a separate path
 * into the kernel). A plugin that can kill its host turns any bug into a denial
 * of service of the whole application.
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
    if (kill((pid_t)host, SIGKILL) == 0) {
        atk_gained(out, "sent SIGKILL to host %ld", host);
        return SBX_OK;
    }
    atk_failed(out, "kill", errno);
    long pidfd = syscall(SYS_pidfd_open, (pid_t)host, 0);
    if (pidfd < 0) {
        atk_failed(out, "pidfd_open", errno);
        return SBX_ERR_INTERNAL;
    }
    if (syscall(SYS_pidfd_send_signal, (int)pidfd, SIGKILL, NULL, 0) == 0) {
        atk_gained(out, "sent SIGKILL to host %ld through a pidfd", host);
        close((int)pidfd);
        return SBX_OK;
    }
    atk_failed(out, "pidfd_send_signal", errno);
    close((int)pidfd);
    return SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
