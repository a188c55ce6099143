/*
 * proc_outlive_host — starts a process of its own with a raw clone3 (which the C library's
 * fork does not use; a sandbox answers it ENOSYS or kills for it), which takes a session of
 * its own and sleeps; then blocks in its call. The case kills the host while the call is
 * pending (cases.toml, kill_host_after_ms): a host dies, as hosts do, and nothing of the
 * plugin may outlive it, neither the process it started nor the sandbox's processes that
 * run it (a runner must end with its host, whatever credentials it changed).
 */
#include "attack.h"

#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>

static void sleep_forever(void)
{
    for (;;) {
        struct timespec ts = {.tv_sec = 3600, .tv_nsec = 0};
        nanosleep(&ts, NULL);
    }
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    struct clone_args args;
    (void)in;
    (void)out;
    memset(&args, 0, sizeof args);
    args.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) {
        setsid();
        sleep_forever();
    }
    /* The host is killed while this call is pending: it never answers. */
    sleep_forever();
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
