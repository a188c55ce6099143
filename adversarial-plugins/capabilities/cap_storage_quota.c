/*
 * cap_storage_quota — with storage granted, stores 64 KiB values under new keys
 * until the host answers SBX_ERR_LIMIT (or 4096 times: 256 MiB), then reports
 * how much it got. Storage is the host's disk: it needs a quota per plugin, and
 * the plugin must get an error beyond it, not crash the host.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static uint8_t value[65536];
    char key[32];
    long stored = 0;
    sbx_status status = SBX_OK;
    (void)in;
    if (atk_host == NULL) {
        return SBX_ERR_INTERNAL;
    }
    memset(value, 'q', sizeof value);
    for (long i = 0; i < 4096; i++) {
        int len = snprintf(key, sizeof key, "sbx-atk-quota-%05ld", i);
        status = atk_host->storage_put(atk_host->ctx, key, (size_t)len, value, sizeof value);
        if (status != SBX_OK) {
            break;
        }
        stored++;
    }
    atk_printf(out, "stored %ld KiB before status %d\n", stored * 64, status);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
