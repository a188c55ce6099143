/*
 * cap_ungranted_slots — calls every host service of the table, none of which is
 * granted to it (only log is): config_get, storage_get/put/delete, net_request
 * to the harness's TCP listener, clock_now, notify_user, and the reserved slots
 * the table's size covers. Each must answer SBX_ERR_DENIED or
 * SBX_ERR_UNAVAILABLE and do nothing; an SBX_OK is a capability it was never
 * given.
 */
#include "attack.h"

#include <stddef.h>

static void verdict(atk_out *out, const char *slot, sbx_status status)
{
    if (status == SBX_OK) {
        atk_gained(out, "%s answered SBX_OK without a grant", slot);
    } else {
        atk_printf(out, "%s -> %d\n", slot, status);
    }
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    const sbx_host_api *h = atk_host;
    uint8_t buf[256];
    size_t len = 0;
    char dest[64];
    uint64_t now = 0;
    static const char key[] = "sbx-atk-key";
    if (h == NULL) {
        return SBX_ERR_INTERNAL;
    }
    snprintf(dest, sizeof dest, "127.0.0.1:%ld", atk_param_long(in, "tcp_port", 9));
    verdict(out, "config_get", h->config_get(h->ctx, key, sizeof key - 1, buf, sizeof buf, &len));
    verdict(out, "storage_put", h->storage_put(h->ctx, key, sizeof key - 1, (const uint8_t *)"v", 1));
    verdict(out, "storage_get", h->storage_get(h->ctx, key, sizeof key - 1, buf, sizeof buf, &len));
    verdict(out, "storage_delete", h->storage_delete(h->ctx, key, sizeof key - 1));
    verdict(out, "net_request",
            h->net_request(h->ctx, dest, strlen(dest), (const uint8_t *)"sbx-atk net_request\n", 20,
                           buf, sizeof buf, &len));
    verdict(out, "clock_now", h->clock_now(h->ctx, &now));
    verdict(out, "notify_user", h->notify_user(h->ctx, "sbx-atk notification", 20));
    for (size_t i = 0; i < 8; i++) {
        if (h->size < offsetof(sbx_host_api, reserved) + (i + 1) * sizeof h->reserved[0]) {
            break;
        }
        char slot[32];
        snprintf(slot, sizeof slot, "reserved[%zu]", i);
        verdict(out, slot, h->reserved[i](h->ctx));
    }
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
