/*
 * cap_cpp_concurrent_calls — sixteen std::threads each make 200 host calls at
 * once: a log record and a storage_put then storage_get of a key of their own.
 * The ABI allows host calls from any plugin thread; a runner that multiplexes
 * them on one channel without matching replies to callers hands one thread
 * another's answer (or mixes frames). Each thread checks it reads back its own
 * value.
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
    try {
        std::vector<std::thread> threads;
        for (int t = 0; t < 16; ++t) {
            threads.emplace_back([&, t] {
                const std::string key = "sbx-atk-thread-" + std::to_string(t);
                for (int i = 0; i < 200; ++i) {
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
        for (auto &thread : threads) {
            thread.join();
        }
    } catch (const std::exception &e) {
        atk_printf(out, "stopped: %s\n", e.what());
    }
    atk_printf(out, "%ld calls, %ld failed, %ld answers for another thread\n", calls.load(),
               failed.load(), crossed.load());
    return SBX_OK;
}

} // namespace

ATK_INVOKE_PLUGIN(attack)
