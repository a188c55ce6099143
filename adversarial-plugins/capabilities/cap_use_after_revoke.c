/*
 * cap_use_after_revoke — with storage and notify granted, keeps calling
 * storage_put and notify_user every 10 ms for up to 4 seconds while the harness
 * revokes the grants. Once a call has been refused with SBX_ERR_DENIED, any
 * later success means the revocation did not hold (a cached grant, a check done
 * only at init).
 */
#include "attack.h"

#include <time.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const char key[] = "sbx-atk-revocation";
    long ok = 0, denied = 0, after = 0;
    (void)in;
    if (atk_host == NULL) {
        return SBX_ERR_INTERNAL;
    }
    for (int round = 0; round < 400; round++) {
        sbx_status put = atk_host->storage_put(atk_host->ctx, key, sizeof key - 1,
                                               (const uint8_t *)&round, sizeof round);
        sbx_status note = atk_host->notify_user(atk_host->ctx, "sbx-atk still here", 18);
        for (int i = 0; i < 2; i++) {
            sbx_status status = i == 0 ? put : note;
            if (status == SBX_ERR_DENIED) {
                denied++;
            } else if (status == SBX_OK) {
                ok++;
                if (denied > 0) {
                    after++;
                }
            }
        }
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    atk_printf(out, "%ld calls succeeded, %ld denied\n", ok, denied);
    if (after > 0) {
        atk_gained(out, "%ld calls succeeded after a revocation", after);
    }
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
