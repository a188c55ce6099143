/*
 * proc_vfork — a new process by the vfork system call, which takes no flags a filter
 * could check: it must be refused as a whole. The child leaves at once with
 * _exit; the parent, resumed, reports the process it made.
 */
#include "attack.h"

#include <sys/syscall.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    long pid = atk_syscall6(SYS_vfork, 0, 0, 0, 0, 0, 0);
    if (pid == 0) {
        atk_syscall6(SYS_exit, 0, 0, 0, 0, 0, 0);
    }
    if (pid < 0) {
        atk_failed(out, "vfork", (int)-pid);
        return SBX_ERR_DENIED;
    }
    atk_gained(out, "a new process (%ld) by vfork", pid);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
