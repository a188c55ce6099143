/*
 * storage_largest_value — benign: stores a value of SBX_MAX_VALUE_LEN bytes, the largest
 * the ABI allows, reads it back and checks every byte. A sandbox must store every value the
 * contract allows, the largest included.
 */
#include "attack.h"

static uint8_t value[SBX_MAX_VALUE_LEN];
static uint8_t back[SBX_MAX_VALUE_LEN];

static sbx_status roundtrip(const atk_input *in, atk_out *out)
{
    static const char key[] = "largest";
    size_t len = 0, i;
    sbx_status status;
    (void)in;
    if (atk_host == NULL) {
        return SBX_ERR_INTERNAL;
    }
    for (i = 0; i < sizeof value; i++) {
        value[i] = (uint8_t)(i * 7 + i / 251);
    }
    status = atk_host->storage_put(atk_host->ctx, key, sizeof key - 1, value, sizeof value);
    if (status != SBX_OK) {
        atk_printf(out, "storage_put of %zu bytes: %d", sizeof value, status);
        return status;
    }
    status = atk_host->storage_get(atk_host->ctx, key, sizeof key - 1, back, sizeof back, &len);
    if (status != SBX_OK) {
        atk_printf(out, "storage_get: %d", status);
        return status;
    }
    if (len != sizeof value || memcmp(value, back, len) != 0) {
        atk_printf(out, "read back %zu bytes, not what was stored", len);
        return SBX_ERR_INTERNAL;
    }
    atk_printf(out, "stored and read back %zu bytes", len);
    return SBX_OK;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE("roundtrip", roundtrip)
ATK_DEFAULT_SHUTDOWN()
