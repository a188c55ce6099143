/*
 * life_cpp_hang_condvar — waits in sbx_plugin_invoke on a std::condition_variable
 * that nothing will ever notify (a lost wake-up, the commonest C++ hang). No CPU
 * is used; only the call's wall-clock deadline ends it.
 */
#include <condition_variable>
#include <mutex>

#include "attack.h"

namespace {

std::mutex g_mutex;
std::condition_variable g_ready;
bool g_flag = false;

sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    try {
        std::unique_lock<std::mutex> lock(g_mutex);
        g_ready.wait(lock, [] { return g_flag; });
        atk_printf(out, "woken\n");
        return SBX_OK;
    } catch (...) {
        return SBX_ERR_INTERNAL;
    }
}

} // namespace

ATK_INVOKE_PLUGIN(attack)
