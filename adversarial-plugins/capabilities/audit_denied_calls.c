/*
 * audit_denied_calls — granted nothing but log, calls config_get, storage_put,
 * net_request, clock_now and notify_user, eight rounds: forty refusals, more than
 * an audit that records only the first few of a burst keeps. The harness then
 * asks the sandbox's audit log for the plugin's records: each refused call must be
 * there, and the runner's end once it is unloaded.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    const sbx_host_api *h = atk_host;
    static const char key[] = "sbx-atk-audit";
    uint8_t buf[64];
    size_t len = 0;
    uint64_t now = 0;
    (void)in;
    if (h == NULL) {
        return SBX_ERR_INTERNAL;
    }
    for (int round = 0; round < 8; round++) {
        sbx_status s[5] = {
            h->config_get(h->ctx, key, sizeof key - 1, buf, sizeof buf, &len),
            h->storage_put(h->ctx, key, sizeof key - 1, buf, 1),
            h->net_request(h->ctx, "127.0.0.1:9", 11, buf, 1, buf, sizeof buf, &len),
            h->clock_now(h->ctx, &now),
            h->notify_user(h->ctx, "sbx-atk audit", 13),
        };
        atk_printf(out, "statuses %d %d %d %d %d\n", s[0], s[1], s[2], s[3], s[4]);
    }
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
