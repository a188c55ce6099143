/*
 * sign_payload.h — the code inside the signature cases' packages, which a sandbox
 * must never run. Its constructor spins the CPU for 0.8 s: CPU time is measured by
 * the case guard however the plugin is confined, so if it shows, code of a package
 * that had to be refused ran, whatever the adapter answered. Its attack reports the
 * same in words.
 */
#ifndef SBX_SIGN_PAYLOAD_H
#define SBX_SIGN_PAYLOAD_H

#include "attack.h"

#include <time.h>

/* CPU milliseconds the constructor burns; the harness flags 300 or more (some of it
 * may be cut short by a load deadline on a busy machine). */
#define SIGN_PAYLOAD_CPU_MS 800L

__attribute__((constructor)) static void sign_payload_spin(void)
{
    struct timespec start, now;
    volatile unsigned long sink = 0;
    long spent;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);
    do {
        for (unsigned long i = 0; i < 100000; i++) {
            sink += i;
        }
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
        spent = (now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L;
    } while (spent < SIGN_PAYLOAD_CPU_MS);
}

static sbx_status sign_payload_attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_gained(out, "code of a package that had to be refused ran");
    return SBX_OK;
}

#endif
