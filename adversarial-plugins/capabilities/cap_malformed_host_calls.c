/*
 * cap_malformed_host_calls — calls the host API with arguments a careless host
 * trusts: a NULL and a forged ctx, a key length of SIZE_MAX over an 8-byte key,
 * a NULL out-buffer with a large capacity, a NULL message with a length, an
 * unknown log level and a log length of SIZE_MAX. Every call must be refused
 * (SBX_ERR_INVALID_ARGUMENT or DENIED) without reading or writing outside what
 * the plugin really passed.
 */
#include "attack.h"

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
    atk_printf(out, "log with ctx NULL -> %d\n", h->log(NULL, SBX_LOG_INFO, "x", 1));
    atk_printf(out, "log with a forged ctx -> %d\n", h->log(forged, SBX_LOG_INFO, "x", 1));
    atk_printf(out, "log level 99 -> %d\n", h->log(h->ctx, (sbx_log_level)99, "x", 1));
    atk_printf(out, "log NULL message, length 100 -> %d\n", h->log(h->ctx, SBX_LOG_INFO, NULL, 100));
    atk_printf(out, "log length SIZE_MAX -> %d\n", h->log(h->ctx, SBX_LOG_INFO, "x", SIZE_MAX));
    atk_printf(out, "storage_get key length SIZE_MAX -> %d\n",
               h->storage_get(h->ctx, key, SIZE_MAX, buf, sizeof buf, &len));
    atk_printf(out, "storage_get NULL out, capacity 1 MiB -> %d\n",
               h->storage_get(h->ctx, key, sizeof key - 1, NULL, 1u << 20, &len));
    atk_printf(out, "config_get NULL out_len -> %d\n",
               h->config_get(h->ctx, key, sizeof key - 1, buf, sizeof buf, NULL));
    atk_printf(out, "notify_user NULL message, length 4096 -> %d\n", h->notify_user(h->ctx, NULL, 4096));
    atk_printf(out, "clock_now NULL -> %d\n", h->clock_now(h->ctx, NULL));
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
