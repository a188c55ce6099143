/*
 * res_stack_bomb — recurses without end with 4 KiB frames until the stack
 * overflows. Without a guard page and a stack limit the stack grows into other
 * mappings; with them the process dies of SIGSEGV, which must end the runner and
 * nothing else.
 */
#include "attack.h"

static volatile size_t g_limit = (size_t)-1;

static size_t descend(size_t depth)
{
    volatile char frame[4096];
    frame[0] = (char)depth;
    frame[sizeof frame - 1] = (char)depth;
    if (depth >= g_limit) {
        return depth;
    }
    return descend(depth + 1) + (size_t)frame[0] + (size_t)frame[sizeof frame - 1];
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_printf(out, "depth %zu\n", descend(0));
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
