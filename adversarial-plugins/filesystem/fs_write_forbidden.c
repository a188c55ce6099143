/*
 * fs_write_forbidden — creates and writes files in the forbidden directory: a
 * named file with O_CREAT, then an anonymous O_TMPFILE made visible with linkat
 * through /proc/self/fd. Writing outside the allowed area is how a plugin plants
 * code or configuration for the host to pick up later.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char dir[4096];
    char path[4200];
    static const char payload[] = "written by fs_write_forbidden\n";
    int done = 0;
    if (!atk_param(in, "forbidden_dir", dir, sizeof dir)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    snprintf(path, sizeof path, "%s/sbx-atk-written", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        atk_failed(out, "create in forbidden_dir", errno);
    } else {
        if (atk_write_all(fd, payload, sizeof payload - 1) == 0) {
            atk_gained(out, "wrote %s", path);
            done = 1;
        }
        close(fd);
    }

    fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) {
        atk_failed(out, "O_TMPFILE in forbidden_dir", errno);
    } else {
        char proc_path[64];
        (void)atk_write_all(fd, payload, sizeof payload - 1);
        snprintf(proc_path, sizeof proc_path, "/proc/self/fd/%d", fd);
        snprintf(path, sizeof path, "%s/sbx-atk-tmpfile", dir);
        if (linkat(AT_FDCWD, proc_path, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0) {
            atk_gained(out, "linked an O_TMPFILE as %s", path);
            done = 1;
        } else {
            atk_failed(out, "linkat O_TMPFILE", errno);
        }
        close(fd);
    }
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
