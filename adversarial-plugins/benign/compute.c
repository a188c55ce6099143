/*
 * compute — benign: a CPU-bound but short computation (a 64-bit mixing checksum
 * over the input, 200000 rounds), answered as 16 hex digits. The sandbox must let
 * ordinary computation finish well inside its CPU and time limits.
 */
#include "attack.h"

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

static sbx_status compute(const atk_input *in, atk_out *out)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint32_t round = 0; round < 200000u; round++) {
        h = mix(h, round);
        for (size_t i = 0; i < in->len && i < 64; i++) {
            h = mix(h, in->data[i]);
        }
    }
    if (out->cap < 16) {
        out->len = 16;
        return SBX_ERR_BUFFER_TOO_SMALL;
    }
    atk_printf(out, "%016llx", (unsigned long long)h);
    return SBX_OK;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE("compute", compute)
ATK_DEFAULT_SHUTDOWN()
