/*
 * A thread cloned into a new namespace: the body of the proc_thread_new_* plugins, one per
 * CLONE_NEW* flag. The filter kills a plugin at its first clone that names a namespace, so
 * each plugin tries one flag: a mask that lost that flag lets the thread be made, and the
 * thread reports GAINED. Only the flags a thread can carry have a plugin: the kernel
 * refuses CLONE_NEWUSER and CLONE_NEWPID with CLONE_THREAD, and clone() cannot carry
 * CLONE_NEWTIME (its low byte is the exit signal).
 */
#ifndef SBX_THREAD_IN_NAMESPACE_H
#define SBX_THREAD_IN_NAMESPACE_H

#include "attack.h"

#include <sched.h>
#include <sys/syscall.h>
#include <time.h>

static volatile int atk_thread_ran;

static int atk_in_namespace(void *arg)
{
    (void)arg;
    atk_thread_ran = 1;
    /* This thread only, not the process: no libc exit path on a stack of our own. */
    syscall(SYS_exit, 0);
    return 0;
}

/* Clones a thread that also asks for the namespace `flag` (named `name`) and reports
 * GAINED if it ran. */
static inline sbx_status atk_thread_in_namespace(int flag, const char *name, atk_out *out)
{
    static char stack[64 * 1024] __attribute__((aligned(16)));
    /* A thread as glibc makes one, without CLONE_FS (which CLONE_NEWNS refuses) and
     * CLONE_SYSVSEM (which CLONE_NEWIPC refuses). */
    int flags = CLONE_VM | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | flag;
    int tid = clone(atk_in_namespace, stack + sizeof stack, flags, NULL);
    if (tid < 0) {
        atk_printf(out, "clone a thread into a new %s namespace: %s\n", name, strerror(errno));
        return SBX_OK;
    }
    for (int i = 0; i < 100 && !atk_thread_ran; i++) {
        struct timespec tick = {0, 10 * 1000 * 1000};
        nanosleep(&tick, NULL);
    }
    if (atk_thread_ran) {
        atk_gained(out, "a thread cloned into a new %s namespace ran", name);
    }
    return SBX_OK;
}

#endif /* SBX_THREAD_IN_NAMESPACE_H */
