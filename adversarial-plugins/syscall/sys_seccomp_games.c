/*
 * sys_seccomp_games — tries to loosen its own confinement: reads its seccomp mode
 * and no_new_privs flag, tries to clear no_new_privs, lets any process ptrace it
 * (PR_SET_PTRACER_ANY), makes itself dumpable again, and stacks an allow-all
 * filter with TSYNC in the hope that it replaces the sandbox's. A correct
 * sandbox is unmoved: filters only stack, no_new_privs cannot be cleared, and
 * the prctl options that weaken it are refused.
 */
#include "attack.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    int mode = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
    int nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    atk_printf(out, "seccomp mode %d, no_new_privs %d\n", mode, nnp);
    if (mode == 0) {
        atk_gained(out, "no seccomp filter");
    }
    if (nnp == 0) {
        atk_gained(out, "no_new_privs is off");
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0) {
        atk_gained(out, "cleared no_new_privs");
    } else {
        atk_failed(out, "clear no_new_privs", errno);
    }
    if (prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0) == 0) {
        atk_gained(out, "any process may now ptrace the runner");
    } else {
        atk_failed(out, "PR_SET_PTRACER_ANY", errno);
    }
    if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0) {
        atk_printf(out, "dumpable set\n");
    } else {
        atk_failed(out, "PR_SET_DUMPABLE", errno);
    }
    struct sock_filter allow_all[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_fprog prog = {1, allow_all};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) == 0) {
        atk_printf(out, "stacked an allow-all filter (filters only stack: no gain)\n");
    } else {
        atk_failed(out, "seccomp(SET_MODE_FILTER)", errno);
    }
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
