/*
 * storage_survives_restart — benign, loaded as a signed package under a policy that
 * restarts it after a transient fault. Asked "fault", it stores a value through the
 * host's storage service, logs that it is about to fail, and then dies of SIGSEGV, as
 * a plugin with a transient bug does; asked anything else, it answers what it stored.
 * After as many faults within a window as the policy's restarts, and one more a window
 * later, the host must have started it again each time, with its storage kept, and
 * passed on the record each process wrote in the call that ended it.
 */
#include "attack.h"

#include <string.h>

static const char key[] = "kept";
static const char value[] = "kept across restarts";

static sbx_status work(const atk_input *in, atk_out *out)
{
    if (atk_host == NULL) {
        return SBX_ERR_INTERNAL;
    }
    if (in->len == 5 && memcmp(in->data, "fault", 5) == 0) {
        volatile int *nowhere = NULL;
        sbx_status status = atk_host->storage_put(atk_host->ctx, key, sizeof key - 1,
                                                  (const uint8_t *)value, sizeof value - 1);
        static const char last_words[] = "stored; failing now";
        if (status != SBX_OK) {
            return status;
        }
        atk_host->log(atk_host->ctx, SBX_LOG_WARN, last_words, sizeof last_words - 1);
        *nowhere = 1;
    }
    return atk_storage_read(key, sizeof key - 1, out);
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE("work", work)
ATK_DEFAULT_SHUTDOWN()
