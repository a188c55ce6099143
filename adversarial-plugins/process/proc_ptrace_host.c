/*
 * proc_ptrace_host — attaches to the host process with ptrace, reads its
 * registers and a word of its memory, and detaches. A tracer owns its tracee:
 * it can read every secret in it and make it run any code. Attaching also stops
 * the host (SIGSTOP) while traced. Inside the host process (no sandbox), it
 * attaches from a child it forks.
 */
#include "attack.h"

#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>

/*
 * Loaded into the host process itself, the plugin cannot trace its own thread group: a
 * child it forks can trace its parent, the host. The child reports through a pipe.
 */
static sbx_status attach_from_child(long host, atk_out *out)
{
    int fds[2];
    char msg[160] = {0};
    if (pipe2(fds, O_CLOEXEC) != 0) {
        atk_failed(out, "pipe", errno);
        return SBX_ERR_INTERNAL;
    }
    pid_t child = fork();
    if (child < 0) {
        atk_failed(out, "fork", errno);
        close(fds[0]);
        close(fds[1]);
        return SBX_ERR_INTERNAL;
    }
    if (child == 0) {
        struct user_regs_struct regs;
        int len;
        if (ptrace(PTRACE_ATTACH, (pid_t)host, NULL, NULL) != 0) {
            len = snprintf(msg, sizeof msg, "child PTRACE_ATTACH errno %d", errno);
        } else {
            waitpid((pid_t)host, NULL, __WALL);
            if (ptrace(PTRACE_GETREGS, (pid_t)host, NULL, &regs) == 0) {
                len = snprintf(msg, sizeof msg, "attached to host %ld from a child: rip=%#llx rsp=%#llx",
                               host, (unsigned long long)regs.rip, (unsigned long long)regs.rsp);
            } else {
                len = snprintf(msg, sizeof msg, "attached to host %ld from a child", host);
            }
            ptrace(PTRACE_DETACH, (pid_t)host, NULL, NULL);
        }
        if (write(fds[1], msg, (size_t)len) < 0) {
            _exit(1);
        }
        _exit(0);
    }
    close(fds[1]);
    ssize_t got = read(fds[0], msg, sizeof msg - 1);
    close(fds[0]);
    waitpid(child, NULL, 0);
    if (got > 0 && strncmp(msg, "attached", 8) == 0) {
        atk_gained(out, "%s", msg);
        return SBX_OK;
    }
    atk_printf(out, "failed: %s\n", got > 0 ? msg : "the child reported nothing");
    return SBX_ERR_INTERNAL;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    long host = atk_param_long(in, "host_pid", -1);
    struct user_regs_struct regs;
    if (host <= 0) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    if (ptrace(PTRACE_ATTACH, (pid_t)host, NULL, NULL) != 0) {
        int err = errno;
        atk_failed(out, "PTRACE_ATTACH", err);
        if (err == EPERM && host == (long)getpid()) {
            return attach_from_child(host, out);
        }
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
