/*
 * sys_personality — changes its execution domain with personality():
 * READ_IMPLIES_EXEC (every readable mapping becomes executable, defeating W^X),
 * ADDR_NO_RANDOMIZE (no ASLR for what it executes next) and the 32-bit address
 * layout. These weaken exploit mitigations and have no use in a plugin.
 */
#include "attack.h"

#include <sys/personality.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    int before = personality(0xffffffff);
    if (before < 0) {
        atk_failed(out, "personality query", errno);
        return SBX_ERR_INTERNAL;
    }
    if (personality((unsigned long)before | READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE |
                    ADDR_COMPAT_LAYOUT) < 0) {
        atk_failed(out, "personality set", errno);
        return SBX_ERR_INTERNAL;
    }
    int after = personality(0xffffffff);
    if (after >= 0 && (after & READ_IMPLIES_EXEC) != 0) {
        atk_gained(out, "personality %#x -> %#x (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE)", before,
                   after);
    }
    personality((unsigned long)before);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
