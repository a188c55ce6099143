/*
 * update_fails_calls — a new version (1.1.0) offered in place of update_installed
 * (package = "update_fails_calls") that starts well, having overwritten the plugin's
 * state in its init, and then crashes in every call. Its first calls are beyond any
 * failure budget of the suite's policy (none is allowed): a sandbox must roll it back to
 * the installed version and undo what it stored.
 */
#include "attack.h"
#include "update.h"

static sbx_status crash(const atk_input *in, atk_out *out)
{
    (void)in;
    (void)out;
    abort();
}

SBX_DECLARE_PLUGIN_ABI();
UPD_OVERWRITING_INIT("overwritten by 1.1.0, whose calls then crashed", SBX_OK)
ATK_DEFAULT_INVOKE(crash)
ATK_DEFAULT_SHUTDOWN()
