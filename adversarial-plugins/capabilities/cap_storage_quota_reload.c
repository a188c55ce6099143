/*
 * cap_storage_quota_reload — a quota must hold across unloads and reloads: a counter
 * rebuilt wrongly when the plugin's storage is reopened hands it a fresh quota every
 * time. The harness runs this attack, unloads the plugin, loads it again and runs it
 * once more. Each run stores 64 KiB values under the keys sbx-atk-reload-00000,
 * -00001, ... (the first ones again, then new ones) until the host answers
 * SBX_ERR_LIMIT; then it counts the keys held and compares their bytes with the
 * policy's quota (the `storage_bytes` parameter).
 */
#include "attack.h"

#define VALUE_LEN 65536
#define MOST_KEYS 1024

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static uint8_t value[VALUE_LEN];
    char key[32];
    long quota = atk_param_long(in, "storage_bytes", 0);
    long held = 0;
    sbx_status status = SBX_OK;
    if (atk_host == NULL || quota <= 0) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    memset(value, 'r', sizeof value);
    for (long i = 0; i < MOST_KEYS; i++) {
        int len = snprintf(key, sizeof key, "sbx-atk-reload-%05ld", i);
        status = atk_host->storage_put(atk_host->ctx, key, (size_t)len, value, sizeof value);
        if (status != SBX_OK) {
            break;
        }
    }
    atk_printf(out, "stored until status %d\n", status);
    /* The keys are contiguous from 0: count them up to the first missing one. */
    for (long i = 0; i < MOST_KEYS; i++) {
        size_t got = 0;
        int len = snprintf(key, sizeof key, "sbx-atk-reload-%05ld", i);
        status = atk_host->storage_get(atk_host->ctx, key, (size_t)len, value, sizeof value, &got);
        if (status != SBX_OK) {
            break;
        }
        held += (long)got + len;
    }
    atk_printf(out, "holds %ld bytes under a quota of %ld\n", held, quota);
    if (held > quota) {
        atk_gained(out, "storage of %ld bytes, over the quota of %ld", held, quota);
    }
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
