/*
 * host_call_burst — benign: with the clock granted, asks the host for the time as many
 * times as its input says (in decimal), at once, and answers how many calls were answered
 * SBX_OK. The suite asks for a quarter second's worth of the policy's host call rate: a
 * host must smooth such a burst (each call waits its turn, backpressure), not refuse the
 * calls beyond what it allows at once.
 */
#include "attack.h"

static sbx_status burst(const atk_input *in, atk_out *out)
{
    long calls = 0, answered = 0;
    if (atk_host == NULL) {
        return SBX_ERR_INTERNAL;
    }
    for (size_t i = 0; i < in->len && in->data[i] >= '0' && in->data[i] <= '9' && calls < 1000000;
         i++) {
        calls = calls * 10 + (in->data[i] - '0');
    }
    for (long i = 0; i < calls; i++) {
        uint64_t nanos = 0;
        sbx_status status = atk_host->clock_now(atk_host->ctx, &nanos);
        if (status != SBX_OK) {
            atk_printf(out, "%ld answered, then call %ld: %d", answered, i + 1, status);
            return SBX_OK;
        }
        answered++;
    }
    atk_printf(out, "%ld", answered);
    return SBX_OK;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE("burst", burst)
ATK_DEFAULT_SHUTDOWN()
