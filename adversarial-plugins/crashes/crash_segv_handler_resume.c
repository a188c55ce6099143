/*
 * crash_segv_handler_resume — installs a SIGSEGV handler that simply returns,
 * then writes through a null pointer. Returning re-executes the faulting
 * instruction, which faults again: the crash is hidden behind an endless loop of
 * faults that burns CPU and never answers. A sandbox must not take "no crash
 * signal" for health: the call deadline must end it.
 */
#include "attack.h"

#include <signal.h>

static volatile sig_atomic_t g_faults;

static void on_segv(int sig)
{
    (void)sig;
    g_faults++;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    struct sigaction sa;
    volatile int *volatile target = NULL;
    (void)in;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_segv;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    *target = 7;
    atk_printf(out, "survived %d faults\n", (int)g_faults);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
