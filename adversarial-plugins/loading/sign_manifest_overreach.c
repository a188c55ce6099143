/*
 * sign_manifest_overreach — loaded as a validly signed package whose manifest asks
 * for every capability and for limits beyond the policy (a gigabyte of storage
 * among them). The policy, not the manifest, decides: the case grants storage alone,
 * under a 1 MiB quota. The plugin calls every other service it asked for (config_get,
 * net_request to the harness's TCP listener, clock_now, notify_user), where an
 * SBX_OK is a capability the policy never gave; then stores 64 KiB values until the
 * host refuses one or it holds more than the policy's quota (the `storage_bytes`
 * parameter). A host that takes the manifest's word grants it all.
 */
#include "attack.h"

#define VALUE_LEN 65536
#define MOST_KEYS 1024

static void withheld(atk_out *out, const char *service, sbx_status status)
{
    if (status == SBX_OK) {
        atk_gained(out, "%s answered SBX_OK: the manifest asked, the policy never granted", service);
    } else {
        atk_printf(out, "%s -> %d\n", service, status);
    }
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    const sbx_host_api *h = atk_host;
    static uint8_t value[VALUE_LEN];
    uint8_t buf[256];
    size_t len = 0;
    uint64_t now = 0;
    char dest[64];
    char key[32];
    static const char config_key[] = "sbx-atk-key";
    long quota = atk_param_long(in, "storage_bytes", 0);
    long held = 0;
    sbx_status status = SBX_OK;
    if (h == NULL || quota <= 0) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    snprintf(dest, sizeof dest, "127.0.0.1:%ld", atk_param_long(in, "tcp_port", 9));
    withheld(out, "config_get",
             h->config_get(h->ctx, config_key, sizeof config_key - 1, buf, sizeof buf, &len));
    withheld(out, "net_request",
             h->net_request(h->ctx, dest, strlen(dest), (const uint8_t *)"sbx-atk net_request\n", 20,
                            buf, sizeof buf, &len));
    withheld(out, "clock_now", h->clock_now(h->ctx, &now));
    withheld(out, "notify_user", h->notify_user(h->ctx, "sbx-atk notification", 20));
    memset(value, 'o', sizeof value);
    /* Until refused, or until it holds more than the policy allows: that is the harm, and
     * the call must end well within its deadline to report it. */
    for (long i = 0; i < MOST_KEYS && held <= quota; i++) {
        int n = snprintf(key, sizeof key, "sbx-atk-over-%05ld", i);
        status = h->storage_put(h->ctx, key, (size_t)n, value, sizeof value);
        if (status != SBX_OK) {
            break;
        }
        held += VALUE_LEN + n;
    }
    atk_printf(out, "stored until status %d: %ld bytes under a quota of %ld\n", status, held,
               quota);
    if (held > quota) {
        atk_gained(out, "storage of %ld bytes, over the policy's quota of %ld", held, quota);
    }
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
