/*
 * sys_sigsys_handler — installs its own SIGSYS handler, which counts and returns,
 * then makes forbidden system calls (socket, openat of the secret). A filter
 * whose refusal is SECCOMP_RET_TRAP delivers SIGSYS: if the plugin may replace
 * the handler, every violation becomes an error return it can silently retry
 * around, and the host never hears of it.
 */
#include "attack.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>

static volatile sig_atomic_t g_trapped;

static void on_sigsys(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)info;
    (void)context;
    g_trapped++;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    struct sigaction sa;
    char secret[4096];
    if (!atk_param(in, "secret_path", secret, sizeof secret)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL) != 0) {
        atk_failed(out, "sigaction(SIGSYS)", errno);
        return SBX_ERR_INTERNAL;
    }
    atk_gained(out, "installed its own SIGSYS handler");
    long s = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
    if (s >= 0) {
        close((int)s);
    }
    atk_cat(out, "secret", secret);
    atk_printf(out, "%d refused calls trapped and survived\n", (int)g_trapped);
    if (g_trapped > 0) {
        atk_gained(out, "survived %d refused system calls", (int)g_trapped);
    }
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
