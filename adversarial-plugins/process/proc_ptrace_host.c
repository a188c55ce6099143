/*
 * proc_ptrace_host — attaches to the host process with ptrace, reads its
 * registers and a word of its memory, and detaches. A tracer owns its tracee:
 * it can read every secret in it and make it run any code. Attaching also stops
 * the host (SIGSTOP) while traced.
 */
#include "attack.h"

#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    long host = atk_param_long(in, "host_pid", -1);
    struct user_regs_struct regs;
    if (host <= 0) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    if (ptrace(PTRACE_ATTACH, (pid_t)host, NULL, NULL) != 0) {
        atk_failed(out, "PTRACE_ATTACH", errno);
        if (ptrace(PTRACE_SEIZE, (pid_t)host, NULL, NULL) != 0) {
            atk_failed(out, "PTRACE_SEIZE", errno);
            return SBX_ERR_INTERNAL;
        }
        atk_gained(out, "seized host %ld", host);
        ptrace(PTRACE_DETACH, (pid_t)host, NULL, NULL);
        return SBX_OK;
    }
    atk_gained(out, "attached to host %ld", host);
    waitpid((pid_t)host, NULL, __WALL);
    if (ptrace(PTRACE_GETREGS, (pid_t)host, NULL, &regs) == 0) {
        errno = 0;
        long word = ptrace(PTRACE_PEEKDATA, (pid_t)host, (void *)regs.rsp, NULL);
        atk_gained(out, "host rip=%#llx rsp=%#llx [rsp]=%#lx (errno %d)",
                   (unsigned long long)regs.rip, (unsigned long long)regs.rsp, word, errno);
    }
    ptrace(PTRACE_DETACH, (pid_t)host, NULL, NULL);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
