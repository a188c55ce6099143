/*
 * res_cpp_thread_spin — starts eight detached spinning std::threads and returns
 * at once, so the spinning goes on between calls, where no
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
        // A fixed count: hardware_concurrency() reads /sys, which a confined plugin
        // cannot open, and the attack must not depend on it.
        const unsigned n = 8;
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
