/*
 * proc_cpp_system — runs shell commands the way C++ code often does: std::system
 * copies the secret into the forbidden directory, and popen returns the secret
 * and `id` as output. Both spawn /bin/sh (clone + execve under the hood): a
 * sandbox must refuse process creation however the library asks for it.
 */
#include <cstdio>
#include <cstdlib>
#include <string>

#include "attack.h"

namespace {

sbx_status attack(const atk_input *in, atk_out *out)
{
    char secret[2048];
    char dir[2048];
    if (!atk_param(in, "secret_path", secret, sizeof secret) ||
        !atk_param(in, "forbidden_dir", dir, sizeof dir)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    bool done = false;
    try {
        const std::string copy = "cat '" + std::string(secret) + "' > '" + dir + "/sbx-atk-system'";
        const int status = std::system(copy.c_str());
        if (status == 0) {
            atk_gained(out, "std::system ran a shell command");
            done = true;
        } else {
            atk_printf(out, "failed std::system: status %d errno %d\n", status, errno);
        }
        const std::string show = "cat '" + std::string(secret) + "'; id";
        FILE *pipe = popen(show.c_str(), "r");
        if (pipe != nullptr) {
            char buf[4096];
            const size_t got = fread(buf, 1, sizeof buf, pipe);
            pclose(pipe);
            if (got > 0) {
                atk_put(out, "popen: ", 7);
                atk_put(out, buf, got);
                done = true;
            }
        } else {
            atk_failed(out, "popen", errno);
        }
    } catch (const std::exception &e) {
        atk_printf(out, "failed: %s\n", e.what());
    }
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

} // namespace

ATK_INVOKE_PLUGIN(attack)
