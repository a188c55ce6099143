/*
 * res_cpu_spin — spins forever on the CPU and never answers. The simplest denial
 * of service: without a CPU limit and a deadline, the host waits forever and a
 * core is lost.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    volatile uint64_t counter = 0;
    (void)in;
    (void)out;
    for (;;) {
        counter++;
    }
    return SBX_ERR_INTERNAL; /* not reached */
}

ATK_INVOKE_PLUGIN(attack)
