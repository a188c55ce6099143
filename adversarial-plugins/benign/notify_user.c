/*
 * notify_user — benign: with notify granted, shows the user a short message and one of
 * SBX_MAX_LOG_LEN bytes, the longest the ABI allows, then answers its input. A sandbox
 * must take every message the contract allows.
 */
#include "attack.h"

static sbx_status notify_then_echo(const atk_input *in, atk_out *out)
{
    static char longest[SBX_MAX_LOG_LEN];
    static const char hello[] = "notify_user: hello";
    sbx_status status;
    if (atk_host == NULL) {
        return SBX_ERR_INTERNAL;
    }
    memset(longest, 'n', sizeof longest);
    status = atk_host->notify_user(atk_host->ctx, hello, sizeof hello - 1);
    if (status == SBX_OK) {
        status = atk_host->notify_user(atk_host->ctx, longest, sizeof longest);
    }
    if (status != SBX_OK) {
        atk_printf(out, "notify_user: %d", status);
        return status;
    }
    return atk_echo(in, out);
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE("notify", notify_then_echo)
ATK_DEFAULT_SHUTDOWN()
