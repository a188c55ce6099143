/*
 * storage_user — benign: stores its input under the key "last" through the host's
 * storage service, reads it back and returns what it read. Exercises a granted
 * capability end to end; a sandbox must let it work.
 */
#include "attack.h"

static sbx_status roundtrip(const atk_input *in, atk_out *out)
{
    static const char key[] = "last";
    sbx_status status;
    if (atk_host == NULL) {
        return SBX_ERR_INTERNAL;
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
