/*
 * template_cpp.cpp — a complete plugin in C++17, to copy and adapt.
 *
 * Inside, a C++ plugin may use the whole standard library, exceptions included.
 * At the boundary it speaks the C ABI of sbx_plugin.h, and no exception may
 * cross it: each entry point wraps its body in try/catch and turns exceptions
 * into status codes (an exception escaping an entry point terminates the runner,
 * which the host records as a crash).
 *
 * This template answers three methods:
 *   echo        output = input
 *   word_count  output = one "word count" line per distinct word, sorted by word;
 *               an input without words is an error (SBX_ERR_INVALID_ARGUMENT)
 *   upper       output = input with ASCII letters upper-cased
 *
 * Build it like the suite does:
 *   c++ -std=c++17 -shared -fPIC -O2 -Wall -Wextra -Werror -I sandbox/include \
 *       -o template_cpp.so template_cpp.cpp
 */
#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "sbx_plugin.h"

/* Exports `sbx_plugin_abi_version` with C linkage. */
SBX_DECLARE_PLUGIN_ABI();

namespace {

/* The host API table: valid from init until shutdown returns. Never free it. */
const sbx_host_api *g_host = nullptr;

void log_line(sbx_log_level level, const std::string &msg)
{
    if (g_host != nullptr) {
        (void)g_host->log(g_host->ctx, level, msg.data(), msg.size());
    }
}

/* "word count" lines sorted by word. Throws std::invalid_argument when the text
 * holds no word: the entry point maps that to SBX_ERR_INVALID_ARGUMENT. */
std::string word_count(const std::string &text)
{
    std::map<std::string, std::size_t> counts; /* std::map keeps the words sorted */
    std::istringstream words(text);
    std::string word;
    while (words >> word) {
        ++counts[word];
    }
    if (counts.empty()) {
        throw std::invalid_argument("word_count: the input holds no word");
    }
    std::string out;
    for (const auto &entry : counts) {
        out += entry.first + " " + std::to_string(entry.second) + "\n";
    }
    return out;
}

std::string upper(std::string text)
{
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return text;
}

/* The methods by name: adding one is adding a line. */
using Method = std::string (*)(const std::string &);

std::string echo(const std::string &text) { return text; }
std::string upper_method(const std::string &text) { return upper(text); }

const std::vector<std::pair<std::string, Method>> &methods()
{
    static const std::vector<std::pair<std::string, Method>> table = {
        {"echo", echo},
        {"upper", upper_method},
        {"word_count", word_count},
    };
    return table;
}

/* The buffer rule of the ABI: write at most output_cap bytes; when the answer
 * does not fit, return SBX_ERR_BUFFER_TOO_SMALL with the size needed. */
sbx_status answer(const std::string &result, uint8_t *output, size_t output_cap,
                  size_t *output_len)
{
    *output_len = result.size();
    if (result.size() > output_cap) {
        return SBX_ERR_BUFFER_TOO_SMALL;
    }
    std::copy(result.begin(), result.end(), output);
    return SBX_OK;
}

} // namespace

sbx_status sbx_plugin_init(const sbx_host_api *host, const uint8_t *config, size_t config_len)
{
    (void)config; /* owned by the host, valid only during this call; unused here */
    (void)config_len;
    try {
        if (host == nullptr || host->abi_version != SBX_ABI_VERSION) {
            return SBX_ERR_INVALID_ARGUMENT;
        }
        g_host = host;
        log_line(SBX_LOG_INFO, "template_cpp ready");
        return SBX_OK;
    } catch (...) {
        return SBX_ERR_INTERNAL;
    }
}

sbx_status sbx_plugin_invoke(const char *method, size_t method_len, const uint8_t *input,
                             size_t input_len, uint8_t *output, size_t output_cap,
                             size_t *output_len)
{
    *output_len = 0;
    try {
        const std::string name(method, method_len);
        const auto &table = methods();
        const auto found = std::find_if(table.begin(), table.end(),
                                        [&](const auto &entry) { return entry.first == name; });
        if (found == table.end()) {
            return SBX_ERR_UNKNOWN_METHOD;
        }
        const std::string text(reinterpret_cast<const char *>(input), input_len);
        return answer(found->second(text), output, output_cap, output_len);
    } catch (const std::invalid_argument &) {
        return SBX_ERR_INVALID_ARGUMENT;
    } catch (const std::bad_alloc &) {
        return SBX_ERR_INTERNAL; /* the memory limit was reached */
    } catch (...) {
        return SBX_ERR_INTERNAL;
    }
}

void sbx_plugin_shutdown(void)
{
    /* Nothing to release; the host table may be used until this returns. */
    g_host = nullptr;
}
