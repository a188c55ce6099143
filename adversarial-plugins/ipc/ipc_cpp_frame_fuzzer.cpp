/*
 * ipc_cpp_frame_fuzzer — writes 1000 frames with a plausible header (version 1,
 * reserved 0, a length that matches what follows) but random kinds, request ids
 * and bodies, from a fixed-seed std::mt19937 so every run sends the same bytes.
 * Shape-valid nonsense reaches deeper into a host's decoder than garbage does.
 */
#include <cstdint>
#include <random>
#include <vector>

#include "attack.h"

namespace {

sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    try {
        std::mt19937 rng(20240613u);
        std::uniform_int_distribution<int> byte(0, 255);
        std::uniform_int_distribution<std::uint32_t> body_len(0, 512);
        std::vector<std::uint8_t> frame;
        int sent = 0;
        for (; sent < 1000; ++sent) {
            const std::uint32_t len = body_len(rng);
            frame.assign(ATK_FRAME_HEADER_LEN + len, 0);
            const std::uint64_t id = (static_cast<std::uint64_t>(rng()) << 32) | rng();
            atk_frame_header(frame.data(), ATK_FRAME_HEADER_LEN - 4 + len,
                             static_cast<std::uint8_t>(byte(rng)), id);
            for (std::uint32_t i = 0; i < len; ++i) {
                frame[ATK_FRAME_HEADER_LEN + i] = static_cast<std::uint8_t>(byte(rng));
            }
            if (atk_write_all(ATK_CHANNEL_FD, frame.data(), frame.size()) != 0) {
                atk_failed(out, "write to the channel", errno);
                break;
            }
        }
        atk_gained(out, "wrote %d fuzzed frames to the channel", sent);
        return SBX_OK;
    } catch (...) {
        return SBX_ERR_INTERNAL;
    }
}

} // namespace

ATK_INVOKE_PLUGIN(attack)
