/*
 * life_busy_when_paused — answers at once and leaves a thread busy inside the kernel: it
 * maps 128 MiB populated (the kernel zeroes every page) and unmaps it, forever. A signal
 * that stops a process reaches such a thread only when it leaves the kernel, tens of
 * milliseconds later, so a host that answers a pause as soon as it has sent the signal
 * answers while the plugin still runs; a host whose pause does nothing lets it burn its
 * whole pause.
 */
#include "attack.h"

#include <pthread.h>
#include <sys/mman.h>

static void *busy_in_kernel(void *arg)
{
    const size_t len = 128u << 20;
    (void)arg;
    for (;;) {
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                       -1, 0);
        if (p != MAP_FAILED) {
            munmap(p, len);
        }
    }
    return NULL;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    pthread_t thread;
    int err = pthread_create(&thread, NULL, busy_in_kernel, NULL);
    if (err != 0) {
        atk_printf(out, "pthread_create: %s", strerror(err));
        return SBX_ERR_INTERNAL;
    }
    pthread_detach(thread);
    return atk_echo(in, out);
}

ATK_INVOKE_PLUGIN(attack)
