/*
 * crash_abort — calls abort() (SIGABRT), as failed assertions and the C++
 * runtime do. The host must record a crash and survive.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    (void)out;
    abort();
}

ATK_INVOKE_PLUGIN(attack)
