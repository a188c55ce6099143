/*
 * crash_divide_by_zero — divides an integer by zero (SIGFPE on x86_64).
 */
#include "attack.h"

static volatile int g_zero = 0;

static sbx_status attack(const atk_input *in, atk_out *out)
{
    volatile int numerator = (int)in->len + 1;
    int quotient = numerator / g_zero;
    atk_printf(out, "%d\n", quotient);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
