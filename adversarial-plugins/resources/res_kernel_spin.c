/*
 * res_kernel_spin — spins inside the kernel, forever, inside its call: it maps 4 MiB of
 * memory, populated (the kernel zeroes every page), and unmaps it again. Nearly all the CPU
 * time it burns is system time: a host that counts only a plugin's user time reports it
 * as nearly idle while it holds a core.
 */
#include "attack.h"

#include <sys/mman.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    const size_t len = 4u << 20;
    (void)in;
    (void)out;
    for (;;) {
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                       -1, 0);
        if (p != MAP_FAILED) {
            munmap(p, len);
        }
    }
    return SBX_ERR_INTERNAL; /* not reached */
}

ATK_INVOKE_PLUGIN(attack)
