/*
 * res_kernel_spin_cpu_limit — spins inside the kernel inside its call (maps 4 MiB
 * populated, so that the kernel zeroes every page, and unmaps it), under a policy of one
 * second of CPU, shorter than its call's deadline, until the CPU limit ends it. Its process then ends on its own, and the host learns
 * what it used from reaping it: a host that reads only the user time of that reaping
 * reports a plugin that used up its CPU as nearly idle.
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
