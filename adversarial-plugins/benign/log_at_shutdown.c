/*
 * log_at_shutdown — benign: its method `log` writes a log record and answers its input;
 * its shutdown writes one more. The conformance case pauses it after the call and unloads
 * it paused: a host that shuts a paused plugin down without resuming it never runs its
 * shutdown, and what the plugin meant to do last (its log record here, a flush of its
 * state in a real plugin) is lost.
 */
#include "attack.h"

#include <string.h>

static int log_line(const char *line)
{
    return atk_host != NULL &&
           atk_host->log(atk_host->ctx, SBX_LOG_INFO, line, strlen(line)) == SBX_OK;
}

static sbx_status log_then_echo(const atk_input *in, atk_out *out)
{
    if (!log_line("log_at_shutdown answered a call")) {
        atk_printf(out, "log record refused");
        return SBX_ERR_INTERNAL;
    }
    return atk_echo(in, out);
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE("log", log_then_echo)

void sbx_plugin_shutdown(void)
{
    (void)log_line("log_at_shutdown shut down");
}
