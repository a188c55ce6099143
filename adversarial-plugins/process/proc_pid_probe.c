/*
 * proc_pid_probe — asks the kernel about the host's process by its id, through a call a
 * plugin may make about itself (sched_getaffinity: glibc reads its own for the CPU count,
 * and a filter that checks the id is rare): any answer other than "no such process" tells
 * the plugin that the host's process exists, and asking for every id in turn maps the
 * machine's processes, the other plugins' included. Hiding them from /proc and refusing
 * signals and ptrace leaves this open; a pid namespace of the plugin's own closes it, since
 * no process outside the sandbox has an id there at all.
 */
#define _GNU_SOURCE
#include "attack.h"

#include <sched.h>

/* Whether process `pid` exists where the plugin runs, by its CPU affinity. */
static int answers(pid_t pid, int *err)
{
    cpu_set_t set;
    if (sched_getaffinity(pid, sizeof set, &set) == 0) {
        *err = 0;
        return 1;
    }
    *err = errno;
    return errno != ESRCH;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    long host = atk_param_long(in, "host_pid", -1);
    int err = 0;
    long seen = 0;
    if (host <= 0) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    if (answers((pid_t)host, &err)) {
        atk_gained(out, "the host's process (pid %ld) exists where the plugin runs: sched_getaffinity answered %s",
                   host, err == 0 ? "its CPU affinity" : strerror(err));
    } else {
        atk_failed(out, "sched_getaffinity of the host", err);
    }
    for (pid_t pid = 1; pid <= 32768; pid++) {
        seen += answers(pid, &err);
    }
    atk_printf(out, "%ld process ids of 32768 answer\n", seen);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
