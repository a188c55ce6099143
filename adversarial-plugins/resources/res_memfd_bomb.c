/*
 * res_memfd_bomb — writes into an anonymous memory file (memfd_create) instead of
 * mapping memory. Pages of a memory file are never mapped into the process, so
 * an address-space limit (RLIMIT_AS) does not count them; only a memory cgroup
 * or refusing memfd_create stops this. It stops by itself at 4 GiB so that a
 * run without isolation does not take the machine down.
 */
#include "attack.h"

#include <sys/mman.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    enum { CHUNK = 1 << 20 };
    static char chunk[CHUNK];
    const size_t max_chunks = 4096; /* 4 GiB */
    size_t written = 0;
    (void)in;
    int fd = memfd_create("sbx-atk-memfd", MFD_CLOEXEC);
    if (fd < 0) {
        atk_failed(out, "memfd_create", errno);
        return SBX_ERR_INTERNAL;
    }
    memset(chunk, 0x5a, sizeof chunk);
    while (written < max_chunks && atk_write_all(fd, chunk, sizeof chunk) == 0) {
        written++;
    }
    atk_printf(out, "held %zu MiB in a memory file\n", written);
    if (written > 0) {
        atk_gained(out, "memory outside the address-space limit: %zu MiB", written);
    }
    close(fd);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
