/*
 * load_wrong_machine — a valid x86_64 plugin whose ELF header is patched to say
 * AArch64 (artifact "wrong_machine"). The loader must check the machine field
 * and refuse; executing it would run bytes as code they were never meant to be.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_printf(out, "an object for another machine was loaded\n");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
