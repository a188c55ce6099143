/*
 * fault_restart_after_attack — loaded as a signed package under a policy that lets the
 * host restart it after a transient fault, attacks in every call: it asks the kernel to
 * change its root directory, which a sandbox's filter kills it for, and dies of SIGSEGV
 * if it is still alive. A host that restarts a plugin it killed for an attack gives the
 * attacker another try: after such a kill no process of it may start again. (Where the
 * call is refused and the plugin crashes, the fault is a crash, and the policy's restarts
 * apply.) Each process lingers in its init for a tenth of a second, so that one started
 * only to be killed at once is still seen.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    volatile int *nowhere = NULL;
    (void)in;
    if (chroot("/") == 0) {
        atk_printf(out, "chroot / succeeded\n");
    }
    *nowhere = 1;
    return SBX_OK;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_LINGERING_INIT(100)
ATK_DEFAULT_INVOKE(attack)
ATK_DEFAULT_SHUTDOWN()
