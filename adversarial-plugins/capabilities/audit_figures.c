/*
 * audit_figures — granted the clock (and log), makes 25 clock readings, 15 stores it was
 * not granted and 40 log records of 4 KiB, more than the suite's log rate passes on at
 * once (four seconds' worth, 64 KiB): 40 host calls, 15 refusals, a limit run into and
 * log records dropped. The harness then asks the sandbox for its figures of the plugin
 * and holds them to that, and to the calls it saw answered: an operator's telemetry that
 * undercounts what a plugin does hides it.
 */
#include "attack.h"

enum { CLOCK_READINGS = 25, REFUSED_STORES = 15, LOG_RECORDS = 40 };

static sbx_status attack(const atk_input *in, atk_out *out)
{
    const sbx_host_api *h = atk_host;
    static const char key[] = "sbx-atk-figures";
    static char record[SBX_MAX_LOG_LEN];
    long served = 0, refused = 0, logged = 0;
    uint64_t now = 0;
    (void)in;
    if (h == NULL) {
        return SBX_ERR_INTERNAL;
    }
    for (int i = 0; i < CLOCK_READINGS; i++) {
        served += h->clock_now(h->ctx, &now) == SBX_OK;
    }
    for (int i = 0; i < REFUSED_STORES; i++) {
        refused += h->storage_put(h->ctx, key, sizeof key - 1, (const uint8_t *)"f", 1) != SBX_OK;
    }
    memset(record, 'F', sizeof record);
    for (int i = 0; i < LOG_RECORDS; i++) {
        logged += h->log(h->ctx, SBX_LOG_INFO, record, sizeof record) == SBX_OK;
    }
    atk_printf(out, "clock readings served %ld of %d, stores refused %ld of %d, log records accepted %ld of %d\n",
               served, CLOCK_READINGS, refused, REFUSED_STORES, logged, LOG_RECORDS);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
