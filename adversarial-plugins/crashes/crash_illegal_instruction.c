/*
 * crash_illegal_instruction — executes ud2, the undefined instruction (SIGILL),
 * as __builtin_trap and corrupted code do.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    (void)out;
    __asm__ volatile("ud2");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
