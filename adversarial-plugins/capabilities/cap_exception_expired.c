/*
 * cap_exception_expired — loaded as a signed package whose manifest asks for storage,
 * under a policy that grants storage only by a time-bound exception that ended an hour
 * ago. It calls storage_put a few times: one success means the exception outlived its
 * end (an end never compared, compared the wrong way, or a date read wrongly).
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const char key[] = "sbx-atk-expired-exception";
    static const uint8_t value[] = "still granted";
    long ok = 0, denied = 0;
    (void)in;
    if (atk_host == NULL) {
        return SBX_ERR_INTERNAL;
    }
    for (int i = 0; i < 5; i++) {
        sbx_status put =
            atk_host->storage_put(atk_host->ctx, key, sizeof key - 1, value, sizeof value - 1);
        if (put == SBX_OK) {
            ok++;
        } else if (put == SBX_ERR_DENIED) {
            denied++;
        }
    }
    atk_printf(out, "%ld storage_put succeeded, %ld denied\n", ok, denied);
    if (ok > 0) {
        atk_gained(out, "storage_put succeeded %ld times under an exception that ended an hour ago",
                   ok);
    }
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
