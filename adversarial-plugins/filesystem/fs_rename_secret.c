/*
 * fs_rename_secret — renames the secret into the forbidden directory and back, and
 * deletes a file it plants next to the secret. rename and unlink change a
 * directory without opening any file, and are how a plugin removes evidence or
 * swaps a file the host trusts for its own.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char secret[4096];
    char dir[4096];
    char moved[4200];
    int done = 0;
    if (!atk_param(in, "secret_path", secret, sizeof secret) ||
        !atk_param(in, "forbidden_dir", dir, sizeof dir)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    snprintf(moved, sizeof moved, "%s/sbx-atk-moved-secret", dir);
    if (rename(secret, moved) == 0) {
        atk_gained(out, "renamed %s to %s", secret, moved);
        atk_cat(out, "secret after rename", moved);
        if (rename(moved, secret) != 0) {
            atk_failed(out, "rename back", errno);
        }
        done = 1;
    } else {
        atk_failed(out, "rename secret", errno);
    }
    snprintf(moved, sizeof moved, "%s.sbx-atk-probe", secret);
    int fd = open(moved, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
        close(fd);
    }
    if (unlink(moved) == 0) {
        atk_gained(out, "unlinked %s", moved);
        done = 1;
    } else {
        atk_failed(out, "unlink next to the secret", errno);
    }
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
