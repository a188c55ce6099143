/*
 * res_disk_fill — writes 1 MiB chunks to a file in the forbidden directory and
 * to one in /tmp until the disk is full or 256 MiB each are written (the cap
 * keeps a run without isolation from filling the test machine). A full disk
 * breaks the host and every other program on the machine.
 */
#include "attack.h"

static size_t fill(atk_out *out, const char *path)
{
    enum { CHUNK = 1 << 20, MAX_CHUNKS = 256 };
    static char chunk[CHUNK];
    size_t written = 0;
    memset(chunk, 0x42, sizeof chunk);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        atk_failed(out, path, errno);
        return 0;
    }
    int err = 0;
    while (written < MAX_CHUNKS && (err = atk_write_all(fd, chunk, sizeof chunk)) == 0) {
        written++;
    }
    close(fd);
    atk_gained(out, "wrote %zu MiB to %s%s%s", written, path, err ? ": " : "", err ? strerror(err) : "");
    return written;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char dir[4096];
    char path[4200];
    size_t total = 0;
    if (!atk_param(in, "forbidden_dir", dir, sizeof dir)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    snprintf(path, sizeof path, "%s/sbx-atk-fill", dir);
    total += fill(out, path);
    snprintf(path, sizeof path, "/tmp/sbx-atk-fill-%d", (int)getpid());
    total += fill(out, path);
    return total > 0 ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
