/*
 * compat_cpp_runtime — an honest workload on the C++ runtime (libstdc++): iostreams
 * (a string stream), locales (a facet of its own that groups digits, imbued in the
 * stream), exceptions (thrown across functions and caught by type) and std::thread with
 * a std::mutex. Answers "sum=1,234,567 caught=range threads=ok". A sandbox must let a
 * C++ plugin use its language's runtime.
 */
#include <cstdint>
#include <locale>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "attack.h"

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_DEFAULT_SHUTDOWN()

namespace {

/* Groups digits by three with commas, whatever the process's locale. */
struct grouped : std::numpunct<char> {
    char do_thousands_sep() const override { return ','; }
    std::string do_grouping() const override { return "\3"; }
};

std::uint64_t parse_count(const std::string &text)
{
    const auto value = std::stoull(text); /* std::invalid_argument on garbage */
    if (value == 0 || value > 100000000ull) {
        throw std::out_of_range("count out of range");
    }
    return value;
}

std::string caught_kind(const std::string &text)
{
    try {
        parse_count(text);
    } catch (const std::out_of_range &) {
        return "range";
    } catch (const std::invalid_argument &) {
        return "argument";
    }
    return "none";
}

std::uint64_t threaded_sum(std::uint64_t n)
{
    std::uint64_t total = 0;
    std::mutex lock;
    std::vector<std::thread> pool;
    for (unsigned w = 0; w < 2; ++w) {
        pool.emplace_back([&, w] {
            std::uint64_t sum = 0;
            for (std::uint64_t i = w + 1; i <= n; i += 2) {
                sum += i;
            }
            const std::lock_guard<std::mutex> held(lock);
            total += sum;
        });
    }
    for (auto &t : pool) {
        t.join();
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
        if (!atk_method_is(method, method_len, "run")) {
            return SBX_ERR_UNKNOWN_METHOD;
        }
        const std::string text(reinterpret_cast<const char *>(input), input_len);
        const std::uint64_t n = parse_count(text.empty() ? "1571" : text);
        std::ostringstream answer;
        answer.imbue(std::locale(std::locale::classic(), new grouped));
        answer << "sum=" << threaded_sum(n) << " caught=" << caught_kind("0")
               << " threads=ok";
        const std::string result = answer.str();
        *output_len = result.size();
        if (result.size() > output_cap) {
            return SBX_ERR_BUFFER_TOO_SMALL;
        }
        result.copy(reinterpret_cast<char *>(output), result.size());
        return SBX_OK;
    } catch (const std::exception &) {
        return SBX_ERR_INVALID_ARGUMENT;
    } catch (...) {
        return SBX_ERR_INTERNAL;
    }
}
