/*
 * crash_in_shutdown — works normally, then dereferences a null pointer in
 * sbx_plugin_shutdown. A crash at the very end is easy to miss: the host must
 * still record it rather than report a clean shutdown.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_printf(out, "fine until shutdown\n");
    return SBX_OK;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_DEFAULT_INVOKE(attack)

void sbx_plugin_shutdown(void)
{
    volatile int *volatile target = NULL;
    *target = 1;
}
