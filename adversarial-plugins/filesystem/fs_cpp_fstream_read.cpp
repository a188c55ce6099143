/*
 * fs_cpp_fstream_read — reads the secret the way ordinary C++ code does, with
 * std::ifstream, and its directory with std::filesystem. The same system calls
 * as a C plugin, through libstdc++: a sandbox must not depend on which library
 * wraps them.
 */
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "attack.h"

namespace {

sbx_status attack(const atk_input *in, atk_out *out)
{
    char secret[4096];
    if (!atk_param(in, "secret_path", secret, sizeof secret)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    try {
        std::ifstream file(secret, std::ios::binary);
        if (!file) {
            atk_failed(out, "std::ifstream", errno);
        } else {
            std::ostringstream bytes;
            bytes << file.rdbuf();
            const std::string text = "secret via ifstream: " + bytes.str() + "\n";
            atk_put(out, text.data(), text.size());
            return SBX_OK;
        }
        const auto size = std::filesystem::file_size(secret);
        atk_printf(out, "std::filesystem sees the secret (%ju bytes)\n", static_cast<uintmax_t>(size));
    } catch (const std::exception &e) {
        atk_printf(out, "failed: %s\n", e.what());
    }
    return SBX_ERR_INTERNAL;
}

} // namespace

ATK_INVOKE_PLUGIN(attack)
