/*
 * res_log_flood — sends 100000 maximum-size log records (4 KiB each, 400 MiB in
 * all) through host->log as fast as it can, ignoring every refusal, for at most
 * 3 seconds (inside a call deadline); then reports how many the host accepted and how many it refused
 * with SBX_ERR_LIMIT. Logs are a host resource (memory, disk, an operator's
 * attention) that a plugin must not be able to exhaust.
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
        if ((sent & 1023) == 0) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec - start.tv_sec >= 3) {
                break;
            }
        }
    }
    atk_printf(out, "sent %ld records: %ld accepted, %ld limited, %ld refused otherwise\n", sent,
               accepted, limited, other);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
