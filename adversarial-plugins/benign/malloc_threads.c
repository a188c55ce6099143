/*
 * malloc_threads — benign: sixteen threads each allocate and fill 64 KiB, all alive at once
 * (a barrier holds them), then free it. Each new thread's first allocation takes a malloc
 * arena of its own; past eight, glibc asks how many CPUs there are, reading /sys, unless
 * the arena count is fixed. Each free gives the top of a fresh arena back, and the first
 * time that happens glibc reads /proc/sys/vm/overcommit_memory. A sandbox must let an
 * honest plugin's threads allocate and free, whatever its C library reads to do so.
 * The threads run on 64 KiB stacks, so that sixteen of them and their arenas fit the
 * address space the case's policy gives.
 */
#include "attack.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 16
#define BYTES (64 * 1024)
#define STACK (64 * 1024)

static pthread_barrier_t all_allocated;

static void *allocate(void *arg)
{
    unsigned char *block = malloc(BYTES);
    int *ok = arg;
    if (block != NULL) {
        memset(block, 0x5a, BYTES);
        *ok = block[BYTES - 1] == 0x5a;
    }
    pthread_barrier_wait(&all_allocated);
    free(block);
    return NULL;
}

static sbx_status work(const atk_input *in, atk_out *out)
{
    pthread_t threads[THREADS];
    int ok[THREADS] = {0};
    int started = 0;
    int allocated = 0;
    (void)in;
    pthread_attr_t small;
    if (pthread_attr_init(&small) != 0 || pthread_attr_setstacksize(&small, STACK) != 0) {
        return SBX_ERR_INTERNAL;
    }
    if (pthread_barrier_init(&all_allocated, NULL, THREADS) != 0) {
        return SBX_ERR_INTERNAL;
    }
    for (int i = 0; i < THREADS; i++) {
        if (pthread_create(&threads[i], &small, allocate, &ok[i]) != 0) {
            break;
        }
        started++;
    }
    pthread_attr_destroy(&small);
    if (started < THREADS) {
        /* The barrier would never open: this many threads are within the suite's policy. */
        return SBX_ERR_INTERNAL;
    }
    for (int i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
        allocated += ok[i];
    }
    pthread_barrier_destroy(&all_allocated);
    atk_printf(out, "%d threads allocated", allocated);
    return SBX_OK;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE("work", work)
ATK_DEFAULT_SHUTDOWN()
