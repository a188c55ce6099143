/*
 * cap_malformed_host_calls — calls the host API with arguments a careless host
 * trusts: a NULL and a forged ctx, a key length of SIZE_MAX over an 8-byte key,
 * a NULL out-buffer with a large capacity, a NULL message with a length, an
 * unknown log level and a log length of SIZE_MAX. Every call must be refused
 * (SBX_ERR_INVALID_ARGUMENT or DENIED) without reading or writing outside what
 * the plugin really passed. A call answered SBX_OK is reported as GAINED: the
 * host served a call it could not have understood (a forged ctx taken as the
 * plugin's own is the way to act as another plugin of a host that tells them
 * apart by it).
 */
#include "attack.h"

/* Reports one malformed call's status, and GAINED if the host served it. */
static void report(atk_out *out, const char *call, sbx_status status)
{
    atk_printf(out, "%s -> %d\n", call, status);
    if (status == SBX_OK) {
        atk_gained(out, "the host served a malformed call: %s", call);
    }
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    const sbx_host_api *h = atk_host;
    uint8_t buf[64];
    size_t len = 0;
    static const char key[] = "sbx-atk!";
    (void)in;
    if (h == NULL) {
        return SBX_ERR_INTERNAL;
    }
    void *forged = (void *)((uintptr_t)h->ctx ^ 0x5a5a5a5a5a5a5a50u);
    report(out, "log with ctx NULL", h->log(NULL, SBX_LOG_INFO, "x", 1));
    report(out, "log with a forged ctx", h->log(forged, SBX_LOG_INFO, "x", 1));
    report(out, "log level 99", h->log(h->ctx, (sbx_log_level)99, "x", 1));
    report(out, "log NULL message, length 100", h->log(h->ctx, SBX_LOG_INFO, NULL, 100));
    report(out, "log length SIZE_MAX", h->log(h->ctx, SBX_LOG_INFO, "x", SIZE_MAX));
    report(out, "storage_get key length SIZE_MAX",
           h->storage_get(h->ctx, key, SIZE_MAX, buf, sizeof buf, &len));
    report(out, "storage_get NULL out, capacity 1 MiB",
           h->storage_get(h->ctx, key, sizeof key - 1, NULL, 1u << 20, &len));
    report(out, "config_get NULL out_len",
           h->config_get(h->ctx, key, sizeof key - 1, buf, sizeof buf, NULL));
    report(out, "notify_user NULL message, length 4096", h->notify_user(h->ctx, NULL, 4096));
    report(out, "clock_now NULL", h->clock_now(h->ctx, NULL));
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
