/*
 * res_mmap_bomb — maps 64 MiB anonymous regions with MAP_POPULATE (the kernel
 * touches every page at once) and MAP_NORESERVE (no overcommit accounting) until
 * mmap fails. Bypasses malloc and its arena limits; only a kernel-enforced limit
 * stops it.
 */
#include "attack.h"

#include <sys/mman.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    enum { REGION = 64 << 20 };
    static void *regions[65536];
    size_t count = 0;
    (void)in;
    while (count < sizeof regions / sizeof regions[0]) {
        void *p = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE, -1, 0);
        if (p == MAP_FAILED) {
            atk_failed(out, "mmap", errno);
            break;
        }
        regions[count++] = p;
    }
    atk_printf(out, "mapped and populated %zu MiB\n", count * 64);
    for (size_t i = 0; i < count; i++) {
        munmap(regions[i], REGION);
    }
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
