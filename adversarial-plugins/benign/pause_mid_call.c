/*
 * pause_mid_call — benign: sleeps 1.2 s inside its call, then answers its input. The
 * harness pauses it 0.3 s into the call and holds it 2 s, past the call's deadline in
 * wall time though it ran for much less: a host that counts the time it held the plugin
 * stopped against the call kills a plugin that did nothing wrong.
 */
#include "attack.h"

#include <time.h>

static sbx_status sleep_then_echo(const atk_input *in, atk_out *out)
{
    struct timespec rest = {1, 200 * 1000 * 1000};
    /* Stopped and continued, the sleep goes on for what is left of it (none, by then). */
    while (nanosleep(&rest, &rest) != 0) {
    }
    return atk_echo(in, out);
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE("echo", sleep_then_echo)
ATK_DEFAULT_SHUTDOWN()
