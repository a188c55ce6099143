/*
 * res_cpu_rate_spin — two threads spin on the CPU for 1.2 s of wall-clock time,
 * then the call answers. It stays inside its CPU time limit and its call
 * deadline: what it takes is CPU *rate*, two cores at once, from every other
 * plugin and from the host. Its case's policy caps the rate (cpu_percent); the
 * harness measures, from /proc, the CPU the case's processes used while the call
 * ran and compares it with the cap.
 */
#include "attack.h"

#include <pthread.h>
#include <time.h>

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void *spin(void *arg)
{
    const uint64_t until = *(const uint64_t *)arg;
    volatile uint64_t counter = 0;
    while (now_ms() < until) {
        for (int i = 0; i < 100000; ++i) {
            counter++;
        }
    }
    return NULL;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    uint64_t until = now_ms() + 1200;
    pthread_t other;
    int threads = 1;
    (void)in;
    if (pthread_create(&other, NULL, spin, &until) == 0) {
        threads = 2;
    } else {
        atk_failed(out, "pthread_create", errno);
    }
    spin(&until);
    if (threads == 2) {
        pthread_join(other, NULL);
    }
    atk_printf(out, "spun %d threads for 1200 ms\n", threads);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
