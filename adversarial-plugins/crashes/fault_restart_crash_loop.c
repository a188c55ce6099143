/*
 * fault_restart_crash_loop — dies of SIGSEGV in every call, loaded as a signed package
 * under a policy that lets the host restart it twice a minute, after a backoff. A host
 * that restarts it more often, or sooner, runs a crash loop the policy forbids: the
 * harness counts the processes that map the plugin and when each started. Each process
 * lingers in its init for a tenth of a second, so that one started only to crash at once
 * is still seen.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    volatile int *nowhere = NULL;
    (void)in;
    (void)out;
    *nowhere = 1;
    return SBX_OK;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_LINGERING_INIT(100)
ATK_DEFAULT_INVOKE(attack)
ATK_DEFAULT_SHUTDOWN()
