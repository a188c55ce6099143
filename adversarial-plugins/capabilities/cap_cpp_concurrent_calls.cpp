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
#include <string>
#include <thread>
#include <vector>

#include "attack.h"

namespace {

sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    const sbx_host_api *h = atk_host;
    if (h == nullptr) {
        return SBX_ERR_INTERNAL;
    }
    std::atomic<long> calls{0}, crossed{0}, failed{0};
    // Threads that did start are joined whatever happens to the others: a joinable
    // std::thread destroyed by an exception would abort the process.
    std::vector<std::thread> threads;
    try {
        for (int t = 0; t < 16; ++t) {
            threads.emplace_back([&, t] {
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
            });
        }
    } catch (const std::exception &e) {
        atk_printf(out, "stopped: %s\n", e.what());
    }
    for (auto &thread : threads) {
        thread.join();
    }
    atk_printf(out, "%ld calls, %ld failed, %ld answers for another thread\n", calls.load(),
               failed.load(), crossed.load());
    if (crossed.load() > 0) {
        // Another thread's stored value: with two plugins on one host, another plugin's.
        atk_gained(out, "read %ld values stored by another thread", crossed.load());
    }
    return SBX_OK;
}

} // namespace

ATK_INVOKE_PLUGIN(attack)
