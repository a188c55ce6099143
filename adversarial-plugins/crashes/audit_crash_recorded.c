/*
 * audit_crash_recorded — dies of SIGSEGV in its call. The harness then asks the
 * sandbox's audit log for the plugin's records: an ended runner must be there,
 * with the reason the sandbox reported for it.
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

ATK_INVOKE_PLUGIN(attack)
