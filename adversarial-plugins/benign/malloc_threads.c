/*
 * malloc_threads — benign: sixteen threads each allocate and fill 64 KiB, all alive at once
 * (a barrier holds them), then free it. Each new thread's first allocation takes a malloc
 * arena of its own; past eight, glibc asks how many CPUs there are, reading /sys, unless
 * the arena count is fixed. A sandbox must let an honest plugin's threads allocate.
 */
#include "attack.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 16
#define BYTES (64 * 1024)

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
    if (pthread_barrier_init(&all_allocated, NULL, THREADS) != 0) {
        return SBX_ERR_INTERNAL;
    }
    for (int i = 0; i < THREADS; i++) {
        if (pthread_create(&threads[i], NULL, allocate, &ok[i]) != 0) {
            break;
        }
        started++;
    }
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
