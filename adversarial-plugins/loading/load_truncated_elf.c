/*
 * load_truncated_elf — a valid plugin whose built .so is cut to half its size
 * (artifact "truncated"): headers that promise segments and tables past the end
 * of the file. Parsers that trust the headers read or map beyond the file.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_printf(out, "a truncated object was loaded\n");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
