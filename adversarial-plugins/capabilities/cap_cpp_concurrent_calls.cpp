/*
 * cap_cpp_concurrent_calls — sixteen std::threads each make 25 rounds of host
 * calls at once: a log record and a storage_put then storage_get of a key of their
 * own. (25 rounds keep the 400 durable storage writes well inside a 2 s call
 * deadline; the race is in how the calls interleave, not in how many there are.)
 * The ABI allows host calls from any plugin thread; a runner that multiplexes
 * them on one channel without matching replies to callers hands one thread
 * another's answer (or mixes frames), and so does a host whose services keep
 * one scratch buffer or file for every caller. Each thread checks it reads back its own
 * value, and reports a GAINED line when it read another's.
 */
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "attack.h"

namespace {

// Shared with the threads, which may outlive the call (see below): static, not on the
// call's stack.
std::atomic<long> calls{0}, crossed{0}, failed{0};
std::atomic<int> finished{0};

void rounds(const sbx_host_api *h, int t)
{
    const std::string key = "sbx-atk-thread-" + std::to_string(t);
    for (int i = 0; i < 25; ++i) {
        const std::string value = std::to_string(t) + ":" + std::to_string(i);
        const std::string line = "thread " + value;
        h->log(h->ctx, SBX_LOG_DEBUG, line.data(), line.size());
        if (h->storage_put(h->ctx, key.data(), key.size(),
                           reinterpret_cast<const uint8_t *>(value.data()),
                           value.size()) != SBX_OK) {
            ++failed;
            continue;
        }
        uint8_t buf[64];
        size_t len = 0;
        if (h->storage_get(h->ctx, key.data(), key.size(), buf, sizeof buf, &len) != SBX_OK) {
            ++failed;
        } else if (std::string(reinterpret_cast<char *>(buf), len < sizeof buf ? len : sizeof buf) != value) {
            ++crossed;
        }
        calls += 3;
    }
    ++finished;
}

sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    const sbx_host_api *h = atk_host;
    if (h == nullptr) {
        return SBX_ERR_INTERNAL;
    }
    int started = 0;
    try {
        for (int t = 0; t < 16; ++t) {
            std::thread(rounds, h, t).detach();
            ++started;
        }
    } catch (const std::exception &e) {
        atk_printf(out, "stopped: %s\n", e.what());
    }
    // A runner that mixes up replies slows every call down; what was seen is reported
    // after 1.2 s (inside the 2 s call deadline) whether or not every thread is done.
    // Threads still going then make their next host call after the call has ended, which
    // a host refuses.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1200);
    while (finished.load() < started && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    atk_printf(out, "%ld calls, %ld failed, %ld answers for another thread; %d of %d threads done\n",
               calls.load(), failed.load(), crossed.load(), finished.load(), started);
    if (crossed.load() > 0) {
        // Another thread's stored value: with two plugins on one host, another plugin's.
        atk_gained(out, "read %ld values stored by another thread", crossed.load());
    }
    return SBX_OK;
}

} // namespace

ATK_INVOKE_PLUGIN(attack)
