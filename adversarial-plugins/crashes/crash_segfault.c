/*
 * crash_segfault — writes through a null pointer (SIGSEGV). The commonest bug of
 * native code; under no isolation it kills the host process with the plugin.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    volatile int *volatile target = NULL;
    (void)in;
    (void)out;
    *target = 42;
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
