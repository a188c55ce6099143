/*
 * log_user — benign: its method `log` writes three log records, then answers its input.
 * Logging is granted to every plugin: a sandbox that drops a plugin's records (within its
 * rate) takes away what operators watch the plugin by.
 */
#include "attack.h"

#include <stdio.h>

static sbx_status log_then_echo(const atk_input *in, atk_out *out)
{
    for (int i = 1; i <= 3; i++) {
        char line[48];
        int n = snprintf(line, sizeof line, "log_user record %d of 3", i);
        if (atk_host == NULL || n < 0 ||
            atk_host->log(atk_host->ctx, SBX_LOG_INFO, line, (size_t)n) != SBX_OK) {
            atk_printf(out, "log record %d refused", i);
            return SBX_ERR_INTERNAL;
        }
    }
    return atk_echo(in, out);
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE("log", log_then_echo)
ATK_DEFAULT_SHUTDOWN()
