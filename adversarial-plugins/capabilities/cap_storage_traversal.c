/*
 * cap_storage_traversal — with storage granted, uses storage keys as paths: "..",
 * absolute paths, encoded and backslash separators, a NUL byte inside the key,
 * an over-long key. It reads the secret and /etc/passwd through storage_get and
 * writes into the forbidden directory through storage_put. A host that maps keys
 * to file names without treating them as opaque data serves the whole disk. Nothing
 * is ever stored under these keys, so a storage_get answered SBX_OK (bytes from
 * elsewhere, or a refused call reported as a success) is reported GAINED.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char secret[2048];
    char dir[2048];
    char key[4096];
    static uint8_t buf[8192];
    int done = 0;
    const sbx_host_api *h = atk_host;
    if (h == NULL || !atk_param(in, "secret_path", secret, sizeof secret) ||
        !atk_param(in, "forbidden_dir", dir, sizeof dir)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    const char *climb = "../../../../../../../../../../../../../../..";
    struct {
        char text[4096];
        size_t len;
    } keys[8];
    size_t n = 0;
    keys[n].len = (size_t)snprintf(keys[n].text, sizeof keys[n].text, "../../etc/passwd"), n++;
    keys[n].len = (size_t)snprintf(keys[n].text, sizeof keys[n].text, "%s%s", climb, secret), n++;
    keys[n].len = (size_t)snprintf(keys[n].text, sizeof keys[n].text, "%s", secret), n++;
    keys[n].len = (size_t)snprintf(keys[n].text, sizeof keys[n].text, "..%%2f..%%2f..%%2fetc%%2fpasswd"), n++;
    keys[n].len = (size_t)snprintf(keys[n].text, sizeof keys[n].text, "..\\..\\..\\etc\\passwd"), n++;
    keys[n].len = (size_t)snprintf(keys[n].text, sizeof keys[n].text, "ok%c%s%s", 0, climb, secret), n++;
    memset(keys[n].text, 'k', SBX_MAX_KEY_LEN + 1);
    keys[n].len = SBX_MAX_KEY_LEN + 1, n++;
    for (size_t i = 0; i < n; i++) {
        size_t got = 0;
        sbx_status status = h->storage_get(h->ctx, keys[i].text, keys[i].len, buf, sizeof buf, &got);
        if (status == SBX_OK) {
            /* Nothing was ever stored under any of these keys: an answer of SBX_OK hands
             * the plugin bytes from somewhere else, or tells it a refused call succeeded. */
            atk_gained(out, "storage_get of a key never stored, key #%zu, answered SBX_OK with %zu bytes", i, got);
            atk_printf(out, "storage_get key #%zu: ", i);
            atk_put(out, buf, got < sizeof buf ? got : sizeof buf);
            atk_put(out, "\n", 1);
            done = 1;
        } else {
            atk_printf(out, "storage_get key #%zu -> %d\n", i, status);
        }
    }
    int len = snprintf(key, sizeof key, "%s%s/sbx-atk-storage", climb, dir);
    sbx_status status = h->storage_put(h->ctx, key, (size_t)len, (const uint8_t *)"planted\n", 8);
    if (status == SBX_OK) {
        atk_printf(out, "storage_put with a traversal key answered SBX_OK\n");
        done = 1;
    } else {
        atk_printf(out, "storage_put traversal -> %d\n", status);
    }
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
