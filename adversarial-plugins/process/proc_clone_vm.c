/*
 * proc_clone_vm — a new process by the route a filter that checks the wrong clone
 * flag lets through: clone(CLONE_VM | SIGCHLD), a process sharing the plugin's memory
 * without being one of its threads (what posix_spawn and vfork make). A filter must
 * ask for CLONE_THREAD, not CLONE_VM, to allow threads only. The child exits at
 * once; the parent reports the process it made.
 */
#include "attack.h"

#include <sched.h>
#include <signal.h>

static int child(void *arg)
{
    (void)arg;
    return 0;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static uint8_t stack[64 * 1024] __attribute__((aligned(16)));
    (void)in;
    int pid = clone(child, stack + sizeof stack, CLONE_VM | SIGCHLD, NULL);
    if (pid < 0) {
        atk_failed(out, "clone(CLONE_VM | SIGCHLD)", errno);
        return SBX_ERR_DENIED;
    }
    atk_gained(out, "a new process (%d) by clone(CLONE_VM | SIGCHLD)", pid);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
