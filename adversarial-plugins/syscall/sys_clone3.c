/*
 * sys_clone3 — creates a process with the raw clone3 system call (no
 * CLONE_THREAD), then one in a new user namespace. clone3 passes its flags in a
 * structure in memory, which a seccomp filter cannot inspect: a sandbox that
 * filters clone() flags to allow only threads must refuse clone3 entirely
 * (ENOSYS, so the C library falls back to clone). The child sleeps a minute and
 * exits, using raw system calls only.
 */
#include "attack.h"

#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

static long spawn(uint64_t flags)
{
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = flags;
    args.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) {
        struct timespec ts = {60, 0};
        syscall(SYS_nanosleep, &ts, NULL);
        syscall(SYS_exit, 0);
    }
    return pid;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    int done = 0;
    (void)in;
    long pid = spawn(0);
    if (pid > 0) {
        atk_gained(out, "clone3 created process %ld", pid);
        done = 1;
    } else {
        atk_failed(out, "clone3", errno);
    }
    pid = spawn(CLONE_NEWUSER);
    if (pid > 0) {
        atk_gained(out, "clone3 created process %ld in a new user namespace", pid);
        done = 1;
    } else {
        atk_failed(out, "clone3 CLONE_NEWUSER", errno);
    }
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
