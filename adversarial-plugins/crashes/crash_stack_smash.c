/*
 * crash_stack_smash — overflows a 16-byte stack buffer by 240 bytes: the stack
 * protector's canary is overwritten and __stack_chk_fail aborts the process on
 * return. Without the protector this is the classic return-address overwrite.
 */
#include "attack.h"

static volatile size_t g_length = 256;

static __attribute__((noinline)) size_t smash(const uint8_t *data, size_t len)
{
    char buffer[16];
    for (size_t i = 0; i < g_length; i++) {
        buffer[i] = (char)(len > 0 ? data[i % len] : 'A');
    }
    return (size_t)buffer[3];
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    atk_printf(out, "%zu\n", smash(in->data, in->len));
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
