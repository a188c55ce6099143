/*
 * res_zombie_factory — forks 5000 children that exit at once and never reaps
 * them. Each zombie keeps a pid and a process-table slot until its parent dies or
 * waits; enough of them exhaust the pid space of the user or the machine.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    long made = 0;
    (void)in;
    for (int i = 0; i < 5000; i++) {
        pid_t child = fork();
        if (child == 0) {
            _exit(0);
        }
        if (child < 0) {
            atk_failed(out, "fork", errno);
            break;
        }
        made++;
    }
    if (made > 0) {
        atk_gained(out, "left %ld zombie children", made);
    }
    return made > 0 ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
