/*
 * res_cpp_vector_bomb — grows a std::vector of 16 MiB std::string blocks (each
 * written, so really resident) until allocation throws std::bad_alloc, catches
 * it, reports how much it held and releases it. The C++ way to exhaust memory;
 * a memory limit must turn it into bad_alloc, not into the OOM killer.
 */
#include <new>
#include <string>
#include <vector>

#include "attack.h"

namespace {

sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    std::size_t blocks = 0;
    try {
        std::vector<std::string> hoard;
        try {
            for (;;) {
                hoard.emplace_back(std::size_t{16} << 20, 'v');
                ++blocks;
            }
        } catch (const std::bad_alloc &) {
            atk_printf(out, "std::bad_alloc after %zu MiB\n", blocks * 16);
        }
    } catch (...) {
        return SBX_ERR_INTERNAL;
    }
    return SBX_OK;
}

} // namespace

ATK_INVOKE_PLUGIN(attack)
