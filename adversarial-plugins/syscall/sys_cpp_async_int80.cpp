/*
 * sys_cpp_async_int80 — from a std::async task (another thread), asks the
 * kernel for its identity through the i386 gate (`int $0x80`: getuid32 199,
 * getpid 20) and returns what the gate answered. Checks that the architecture
 * check of the system call filter covers every thread, not just the one that
 * installed it.
 */
#include <future>
#include <string>

#include "attack.h"

namespace {

enum { I386_GETPID = 20, I386_GETUID32 = 199 };

sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    try {
        auto task = std::async(std::launch::async, [] {
            const long pid = atk_int80(I386_GETPID, 0, 0, 0);
            const long uid = atk_int80(I386_GETUID32, 0, 0, 0);
            return std::make_pair(pid, uid);
        });
        const auto answer = task.get();
        if (answer.first < 0) {
            atk_failed(out, "int $0x80 from a std::async thread", static_cast<int>(-answer.first));
            return SBX_ERR_INTERNAL;
        }
        atk_gained(out, "the i386 gate answers a std::async thread (pid %ld, uid %ld)",
                   answer.first, answer.second);
        return SBX_OK;
    } catch (const std::exception &e) {
        atk_printf(out, "failed: %s\n", e.what());
        return SBX_ERR_INTERNAL;
    }
}

} // namespace

ATK_INVOKE_PLUGIN(attack)
