/*
 * crash_double_free — frees the same block twice. The C library detects it and
 * aborts ("free(): double free detected"); in older or custom allocators it is a
 * write-what-where primitive. Either way the host must not share the heap.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char *volatile block = malloc(64);
    (void)in;
    (void)out;
    if (block == NULL) {
        return SBX_ERR_INTERNAL;
    }
    free(block);
    free(block);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
