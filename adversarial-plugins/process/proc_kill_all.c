/*
 * proc_kill_all — broadcasts a signal to every process it may signal with
 * kill(-1, ...). A real attacker sends SIGKILL and takes down every process of
 * the same user (as root: of the machine). This plugin sends SIGURG, whose
 * default action is to be ignored, so the suite can run it even without
 * isolation without harming bystanders; the host and harness count the SIGURG
 * they receive.
 */
#include "attack.h"

#include <signal.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    /* The runner's own SIGURG must not be what the harness counts. */
    signal(SIGURG, SIG_IGN);
    if (kill(-1, SIGURG) == 0) {
        atk_gained(out, "kill(-1, SIGURG) reached at least one other process");
        return SBX_OK;
    }
    atk_failed(out, "kill(-1)", errno);
    return SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
