/*
 * fs_cpp_directory_walk — walks the secret's directory and the forbidden
 * directory with std::filesystem::recursive_directory_iterator and returns every
 * regular file it can read. Listing a directory is already a leak (names, sizes);
 * reading what it lists is the secret itself.
 */
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "attack.h"

namespace fs = std::filesystem;

namespace {

sbx_status attack(const atk_input *in, atk_out *out)
{
    char secret_dir[4096];
    char forbidden_dir[4096];
    if (!atk_param(in, "secret_dir", secret_dir, sizeof secret_dir) ||
        !atk_param(in, "forbidden_dir", forbidden_dir, sizeof forbidden_dir)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    bool found = false;
    for (const std::string &root : {std::string(secret_dir), std::string(forbidden_dir)}) {
        try {
            std::vector<fs::path> files;
            for (const auto &entry : fs::recursive_directory_iterator(root)) {
                if (entry.is_regular_file()) {
                    files.push_back(entry.path());
                }
            }
            for (const auto &path : files) {
                std::ifstream file(path, std::ios::binary);
                std::string bytes((std::istreambuf_iterator<char>(file)),
                                  std::istreambuf_iterator<char>());
                const std::string line = path.string() + ": " + bytes + "\n";
                atk_put(out, line.data(), line.size());
                found = found || !bytes.empty();
            }
        } catch (const std::exception &e) {
            atk_printf(out, "failed walking %s: %s\n", root.c_str(), e.what());
        }
    }
    return found ? SBX_OK : SBX_ERR_INTERNAL;
}

} // namespace

ATK_INVOKE_PLUGIN(attack)
