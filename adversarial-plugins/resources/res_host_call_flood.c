/*
 * res_host_call_flood — calls the host's clock as fast as it can for 0.6 s and counts the
 * calls answered (refusals for the rate, SBX_ERR_LIMIT, are not). A host that answers
 * them faster than the policy's host call rate allows (with a tenth of a second's burst,
 * and half as much again for slack) spends itself on one plugin: a GAINED line says so.
 */
#include "attack.h"

#include <time.h>

static long elapsed_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000L + (now.tv_nsec - start->tv_nsec) / 1000000L;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    long rate = atk_param_long(in, "host_call_rate", 0);
    long answered = 0, limited = 0, ms;
    struct timespec start;
    if (atk_host == NULL) {
        return SBX_ERR_INTERNAL;
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        uint64_t nanos = 0;
        for (int i = 0; i < 64; i++) {
            if (atk_host->clock_now(atk_host->ctx, &nanos) == SBX_ERR_LIMIT) {
                limited++;
            } else {
                answered++;
            }
        }
        ms = elapsed_ms(&start);
    } while (ms < 600);
    atk_printf(out, "%ld host calls answered in %ld ms, %ld refused for the rate\n", answered, ms,
               limited);
    /* The policy's rate over the time taken, a tenth of a second's burst, and half again. */
    if (rate > 0 && answered > (rate * ms / 1000 + rate / 10 + 1) * 3 / 2) {
        atk_printf(out, "GAINED %ld host calls answered in %ld ms at a rate of %ld a second\n",
                   answered, ms, rate);
    }
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
