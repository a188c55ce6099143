/*
 * cap_package_revoked_after_restart — loaded as a signed package with storage granted,
 * under a policy that lets the host restart it after a transient fault. The harness
 * revokes storage in the middle of its first call. Each call waits until the revocation
 * has been made, then stores a value: refused, it dies of SIGSEGV, so that the host
 * starts it again, and again. A host that restarts it with the grants it was loaded with
 * hands the revoked capability back: a store that succeeds in any of its processes is
 * reported.
 */
#include "attack.h"

#include <time.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const char key[] = "after-revocation";
    const struct timespec revoked = {0, 600 * 1000 * 1000};
    volatile int *nowhere = NULL;
    (void)in;
    if (atk_host == NULL) {
        return SBX_ERR_INTERNAL;
    }
    nanosleep(&revoked, NULL);
    if (atk_host->storage_put(atk_host->ctx, key, sizeof key - 1, (const uint8_t *)"1", 1) ==
        SBX_OK) {
        atk_gained(out, "storage, after it was revoked");
        return SBX_OK;
    }
    *nowhere = 1;
    return SBX_OK;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_LINGERING_INIT(100)
ATK_DEFAULT_INVOKE(attack)
ATK_DEFAULT_SHUTDOWN()
