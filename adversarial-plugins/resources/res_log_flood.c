/*
 * res_log_flood — sends up to 100000 maximum-size log records (4 KiB each, 400 MiB
 * in all) through host->log as fast as it can, ignoring every refusal, for at most
 * 1.2 seconds; then reports how many the host accepted and how many it refused with
 * SBX_ERR_LIMIT. Logs are a host resource (memory, disk, an operator's attention)
 * that a plugin must not be able to exhaust.
 *
 * The time bound sits well inside the suite's 2 s call deadline: a refused record
 * still costs a round trip to the host (tens of microseconds), so 100000 of them
 * can take the whole deadline on a busy machine, and the plugin would be killed
 * for its wall time instead of being shown to be held by the log limit.
 */
#include "attack.h"

#include <time.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static char record[SBX_MAX_LOG_LEN];
    long accepted = 0, limited = 0, other = 0, sent = 0;
    struct timespec start, now;
    (void)in;
    if (atk_host == NULL) {
        return SBX_ERR_INTERNAL;
    }
    memset(record, 'L', sizeof record);
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (; sent < 100000; sent++) {
        sbx_status status = atk_host->log(atk_host->ctx, SBX_LOG_ERROR, record, sizeof record);
        if (status == SBX_OK) {
            accepted++;
        } else if (status == SBX_ERR_LIMIT) {
            limited++;
        } else {
            other++;
        }
        if ((sent & 255) == 0) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            long elapsed_ms = (now.tv_sec - start.tv_sec) * 1000L +
                              (now.tv_nsec - start.tv_nsec) / 1000000L;
            if (elapsed_ms >= 1200) {
                break;
            }
        }
    }
    atk_printf(out, "sent %ld records: %ld accepted, %ld limited, %ld refused otherwise\n", sent,
               accepted, limited, other);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
