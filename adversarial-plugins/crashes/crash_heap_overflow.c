/*
 * crash_heap_overflow — writes past the end of a 4 KiB heap block over the
 * header of the next block, then frees the first: the C library finds the
 * corrupted chunk and aborts. A heap overflow in a plugin that shares the host's
 * heap corrupts the host's data silently before anything notices.
 */
#include "attack.h"

static volatile size_t g_overrun = 4096 + 16;

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char *first = malloc(4096);
    char *second = malloc(4096); /* keeps `first` from merging into the top chunk */
    (void)in;
    (void)out;
    if (first == NULL || second == NULL) {
        return SBX_ERR_INTERNAL;
    }
    volatile char *volatile cursor = first;
    for (size_t i = 0; i < g_overrun; i++) {
        cursor[i] = 0;
    }
    free(first);
    free(second);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
