/*
 * storage_longest_key — benign: stores its input under a key of SBX_MAX_KEY_LEN bytes, the
 * longest the ABI allows, reads it back and returns what it read. A sandbox must store
 * under every key the contract allows, not only under short ones (a store that names files
 * after the key may run into the file system's limit on a name).
 */
#include "attack.h"

static sbx_status roundtrip(const atk_input *in, atk_out *out)
{
    char key[SBX_MAX_KEY_LEN];
    sbx_status status;
    size_t i;
    if (atk_host == NULL) {
        return SBX_ERR_INTERNAL;
    }
    for (i = 0; i < sizeof key; i++) {
        key[i] = (char)('a' + i % 26);
    }
    status = atk_host->storage_put(atk_host->ctx, key, sizeof key, in->data, in->len);
    if (status != SBX_OK) {
        return status;
    }
    return atk_storage_read(key, sizeof key, out);
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE("roundtrip", roundtrip)
ATK_DEFAULT_SHUTDOWN()
