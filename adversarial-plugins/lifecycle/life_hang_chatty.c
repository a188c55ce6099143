/*
 * life_hang_chatty — never returns from sbx_plugin_invoke, but keeps talking to the
 * host while it hangs: a log record and a clock_now host call every 20 ms. A host
 * whose call deadline restarts with every frame from the plugin never ends this
 * call; the deadline must bound the call, not the silence.
 */
#include "attack.h"

#include <time.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    const sbx_host_api *h = atk_host;
    const struct timespec pause_20ms = {0, 20 * 1000 * 1000};
    uint64_t now = 0;
    (void)in;
    (void)out;
    if (h == NULL) {
        return SBX_ERR_INTERNAL;
    }
    for (;;) {
        h->log(h->ctx, SBX_LOG_DEBUG, "still working", 13);
        h->clock_now(h->ctx, &now);
        nanosleep(&pause_20ms, NULL);
    }
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
