/*
 * sign_swapped_after_load — a validly signed package. Once the sandbox has
 * answered the load, the harness overwrites its plugin.so on disk with the
 * payload of sign_unsigned (package = "swapped_after_load"). A sandbox that
 * verified the file and then loads the path again (lazily, or on a restart)
 * runs the swapped bytes; one that loads the bytes it verified never does.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_printf(out, "the verified bytes answered\n");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
