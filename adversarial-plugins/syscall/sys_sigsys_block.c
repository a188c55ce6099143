/*
 * sys_sigsys_block — blocks SIGSYS (and ignores it) before making a forbidden
 * system call, hoping the filter's trap signal is held back so the refused call
 * just returns and the plugin lives on. The kernel forces a seccomp trap through
 * a blocked or ignored SIGSYS; a sandbox must make sure it does, and record it.
 */
#include "attack.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    sigset_t set;
    char secret[4096];
    if (!atk_param(in, "secret_path", secret, sizeof secret)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    sigemptyset(&set);
    sigaddset(&set, SIGSYS);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    atk_printf(out, "SIGSYS blocked\n");
    long s = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
    if (s >= 0) {
        close((int)s);
    }
    int found = atk_cat(out, "secret", secret);
    atk_gained(out, "still running after forbidden calls with SIGSYS blocked");
    return found ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
