/*
 * cpp_threads — benign: sums 1..N (N = input as decimal, default 10000000) on a
 * pool of four std::thread workers and returns the sum. Plugins may start threads
 * within their limit; a sandbox must let a small pool work.
 */
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "attack.h"

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_DEFAULT_SHUTDOWN()

namespace {

std::uint64_t parallel_sum(std::uint64_t n, unsigned workers)
{
    std::vector<std::uint64_t> partial(workers, 0);
    std::vector<std::thread> pool;
    for (unsigned w = 0; w < workers; ++w) {
        pool.emplace_back([&partial, n, w, workers] {
            std::uint64_t sum = 0;
            for (std::uint64_t i = w + 1; i <= n; i += workers) {
                sum += i;
            }
            partial[w] = sum;
        });
    }
    for (auto &t : pool) {
        t.join();
    }
    std::uint64_t total = 0;
    for (auto p : partial) {
        total += p;
    }
    return total;
}

} // namespace

sbx_status sbx_plugin_invoke(const char *method, size_t method_len, const uint8_t *input,
                             size_t input_len, uint8_t *output, size_t output_cap,
                             size_t *output_len)
{
    *output_len = 0;
    try {
        if (!atk_method_is(method, method_len, "sum")) {
            return SBX_ERR_UNKNOWN_METHOD;
        }
        std::uint64_t n = 10000000;
        if (input_len > 0) {
            n = std::stoull(std::string(reinterpret_cast<const char *>(input), input_len));
        }
        const std::string text = std::to_string(parallel_sum(n, 4));
        *output_len = text.size();
        if (text.size() > output_cap) {
            return SBX_ERR_BUFFER_TOO_SMALL;
        }
        text.copy(reinterpret_cast<char *>(output), text.size());
        return SBX_OK;
    } catch (const std::invalid_argument &) {
        return SBX_ERR_INVALID_ARGUMENT;
    } catch (const std::out_of_range &) {
        return SBX_ERR_INVALID_ARGUMENT;
    } catch (...) {
        return SBX_ERR_INTERNAL; /* e.g. std::system_error: the thread limit */
    }
}
