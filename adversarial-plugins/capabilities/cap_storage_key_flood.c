/*
 * cap_storage_key_flood — with storage granted, stores a one-byte value under new keys, a
 * few dozen past the number of keys the policy lets it hold (storage_keys of its input),
 * and counts those the host took. Every key is a file of the host's: a byte quota alone
 * lets a plugin make hundreds of thousands of them. More keys stored than the policy
 * allows is reported GAINED.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    long allowed = atk_param_long(in, "storage_keys", 0);
    long stored = 0;
    sbx_status status = SBX_OK;
    char key[32];
    if (atk_host == NULL || allowed <= 0 || allowed > 100000) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    for (long i = 0; i < allowed + 32; i++) {
        int len = snprintf(key, sizeof key, "sbx-atk-key-%06ld", i);
        status = atk_host->storage_put(atk_host->ctx, key, (size_t)len, (const uint8_t *)"k", 1);
        if (status != SBX_OK) {
            break;
        }
        stored++;
    }
    atk_printf(out, "%ld keys stored, then status %d\n", stored, status);
    if (stored > allowed) {
        atk_printf(out, "GAINED %ld keys stored where the policy allows %ld\n", stored, allowed);
    }
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
