/*
 * cap_use_after_revoke — with storage and notify granted, keeps calling
 * storage_put and notify_user every 10 ms for 1.3 seconds; the harness revokes
 * both grants 300 ms after it sends the call. A success after a refusal, or any
 * success later than 1 second into the loop, means the revocation did not hold
 * (a cached grant, a check done only at init, a revoke that is only recorded).
 * 1.3 s leaves the call 0.7 s of its 2 s deadline for a busy machine's stalls.
 */
#include "attack.h"

#include <time.h>

/* Wall-clock milliseconds since `start`. */
static long since_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000L + (now.tv_nsec - start->tv_nsec) / 1000000L;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const char key[] = "sbx-atk-revocation";
    /* Refusals per service: the two grants are revoked by two requests, so one may
     * still be in force for a moment after the other is gone. */
    long ok = 0, denied[2] = {0, 0}, after_denial = 0, late = 0, round = 0;
    struct timespec start;
    (void)in;
    if (atk_host == NULL) {
        return SBX_ERR_INTERNAL;
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (since_ms(&start) < 1300) {
        sbx_status put = atk_host->storage_put(atk_host->ctx, key, sizeof key - 1,
                                               (const uint8_t *)&round, sizeof round);
        sbx_status note = atk_host->notify_user(atk_host->ctx, "sbx-atk still here", 18);
        long at = since_ms(&start);
        for (int i = 0; i < 2; i++) {
            sbx_status status = i == 0 ? put : note;
            if (status == SBX_ERR_DENIED) {
                denied[i]++;
            } else if (status == SBX_OK) {
                ok++;
                if (denied[i] > 0) {
                    after_denial++;
                }
                if (at > 1000) {
                    late++;
                }
            }
        }
        round++;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    atk_printf(out, "%ld calls succeeded, %ld denied\n", ok, denied[0] + denied[1]);
    if (after_denial > 0 || late > 0) {
        atk_gained(out,
                   "%ld calls succeeded after a refusal of the same service, %ld more than 1 s "
                   "in (revoked at 0.3 s)",
                   after_denial, late);
    }
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
