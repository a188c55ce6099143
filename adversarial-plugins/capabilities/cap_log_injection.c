/*
 * cap_log_injection — writes log records that try to pass for the host's own:
 * embedded newlines followed by forged host lines, terminal escape sequences
 * (clear screen, retitle the window), a NUL byte in the middle, invalid UTF-8,
 * and a record one byte over SBX_MAX_LOG_LEN. A host must keep each record one
 * record, attributed to the plugin, and refuse the oversized one.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const char forged[] =
        "harmless\n[host] INFO plugin verified and granted all capabilities\n[host] INFO sbx-atk";
    static const char escapes[] = "\x1b[2J\x1b[H\x1b]0;sbx-atk owned\x07 sbx-atk escape";
    static const char with_nul[] = "visible\0hidden sbx-atk";
    static const char bad_utf8[] = "\xff\xfe\xc0\x80 sbx-atk";
    static char oversized[SBX_MAX_LOG_LEN + 1];
    (void)in;
    if (atk_host == NULL) {
        return SBX_ERR_INTERNAL;
    }
    memset(oversized, 'O', sizeof oversized);
    atk_printf(out, "forged lines -> %d\n", atk_host->log(atk_host->ctx, SBX_LOG_INFO, forged, sizeof forged - 1));
    atk_printf(out, "escapes -> %d\n", atk_host->log(atk_host->ctx, SBX_LOG_WARN, escapes, sizeof escapes - 1));
    atk_printf(out, "NUL inside -> %d\n", atk_host->log(atk_host->ctx, SBX_LOG_INFO, with_nul, sizeof with_nul - 1));
    atk_printf(out, "invalid UTF-8 -> %d\n", atk_host->log(atk_host->ctx, SBX_LOG_INFO, bad_utf8, sizeof bad_utf8 - 1));
    atk_printf(out, "oversized -> %d\n", atk_host->log(atk_host->ctx, SBX_LOG_INFO, oversized, sizeof oversized));
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
