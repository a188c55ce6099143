/*
 * res_cpp_thread_spin — starts four detached spinning std::threads per hardware
 * thread and returns at once, so the spinning goes on between calls, where no
 * call deadline runs. CPU time is the sum over all threads: a limit that watches
 * one thread, or only times calls, lets this take every core of the machine.
 */
#include <atomic>
#include <exception>
#include <thread>

#include "attack.h"

namespace {

std::atomic<std::uint64_t> g_counter{0};

void spin()
{
    for (;;) {
        g_counter.fetch_add(1, std::memory_order_relaxed);
    }
}

sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    unsigned started = 0;
    try {
        const unsigned hw = std::thread::hardware_concurrency();
        const unsigned n = 4 * (hw == 0 ? 2 : hw);
        for (; started < n; ++started) {
            std::thread(spin).detach();
        }
    } catch (const std::exception &e) {
        atk_printf(out, "stopped: %s\n", e.what());
    }
    atk_printf(out, "%u threads spinning\n", started);
    return started > 0 ? SBX_OK : SBX_ERR_INTERNAL;
}

} // namespace

ATK_INVOKE_PLUGIN(attack)
