/*
 * storage_user — benign: stores its input under the key "last" through the host's
 * storage service, reads it back and returns what it read; and deletes a key it stored
 * (a second delete and a read of it then find nothing). Exercises a granted capability
 * end to end; a sandbox must let it work.
 */
#include "attack.h"

/* Stores a key, deletes it, deletes it again and reads it: SBX_OK, SBX_OK,
 * SBX_ERR_NOT_FOUND twice; the first status that differs otherwise. */
static sbx_status delete_roundtrip(atk_out *out)
{
    static const char key[] = "scratch";
    const sbx_host_api *h = atk_host;
    uint8_t buf[8];
    size_t len = 0;
    sbx_status got[4];
    const sbx_status want[4] = {SBX_OK, SBX_OK, SBX_ERR_NOT_FOUND, SBX_ERR_NOT_FOUND};
    got[0] = h->storage_put(h->ctx, key, sizeof key - 1, (const uint8_t *)"x", 1);
    got[1] = h->storage_delete(h->ctx, key, sizeof key - 1);
    got[2] = h->storage_delete(h->ctx, key, sizeof key - 1);
    got[3] = h->storage_get(h->ctx, key, sizeof key - 1, buf, sizeof buf, &len);
    for (int i = 0; i < 4; i++) {
        if (got[i] != want[i]) {
            atk_printf(out, "storage step %d answered %d, not %d", i, got[i], want[i]);
            return got[i] == SBX_OK ? SBX_ERR_INTERNAL : got[i];
        }
    }
    return SBX_OK;
}

static sbx_status roundtrip(const atk_input *in, atk_out *out)
{
    static const char key[] = "last";
    sbx_status status;
    if (atk_host == NULL) {
        return SBX_ERR_INTERNAL;
    }
    status = delete_roundtrip(out);
    if (status != SBX_OK) {
        return status;
    }
    status = atk_host->storage_put(atk_host->ctx, key, sizeof key - 1, in->data, in->len);
    if (status != SBX_OK) {
        return status;
    }
    return atk_storage_read(key, sizeof key - 1, out);
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE("roundtrip", roundtrip)
ATK_DEFAULT_SHUTDOWN()
