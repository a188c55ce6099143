/*
 * fs_surface_invoke — once loaded, a plugin needs no file at all: the loader's right
 * to open files ends with the load. Opens, after the load, files the loader itself
 * had to read (its cache, the C library), so that only the end of that right, not a
 * missing file, can stop it.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const char *const paths[] = {
        "/etc/ld.so.cache",
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
    };
    int opened = 0;
    (void)in;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            atk_failed(out, paths[i], errno);
            continue;
        }
        close(fd);
        atk_gained(out, "opened %s after the load", paths[i]);
        opened = 1;
    }
    return opened ? SBX_OK : SBX_ERR_DENIED;
}

ATK_INVOKE_PLUGIN(attack)
