/*
 * fs_chmod_secret — makes the secret world-readable and the forbidden directory
 * world-writable with chmod, then changes their times with utimensat. Metadata
 * changes need no open() at all, so a sandbox that only guards opening files
 * misses them; loosened modes let any other local process finish the job.
 */
#include "attack.h"

#include <sys/stat.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char secret[4096];
    char dir[4096];
    int done = 0;
    if (!atk_param(in, "secret_path", secret, sizeof secret) ||
        !atk_param(in, "forbidden_dir", dir, sizeof dir)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    if (chmod(secret, 0644) == 0) {
        atk_gained(out, "chmod 0644 %s", secret);
        done = 1;
    } else {
        atk_failed(out, "chmod secret", errno);
    }
    if (chmod(dir, 01777) == 0) {
        atk_gained(out, "chmod 1777 %s", dir);
        done = 1;
    } else {
        atk_failed(out, "chmod forbidden_dir", errno);
    }
    if (utimensat(AT_FDCWD, dir, NULL, 0) == 0) {
        atk_gained(out, "touched %s", dir);
        done = 1;
    } else {
        atk_failed(out, "utimensat forbidden_dir", errno);
    }
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
