/*
 * sys_perf_event_open — opens performance counters on itself and on the host
 * process. Counters on another process are a side channel into what it does
 * (and perf_event_open has a long history of kernel exploits).
 */
#include "attack.h"

#include <linux/perf_event.h>
#include <sys/syscall.h>

static long open_counter(uint32_t type, uint64_t config, pid_t pid)
{
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = type;
    attr.config = config;
    attr.disabled = 0;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    return syscall(SYS_perf_event_open, &attr, pid, -1, -1, 0UL);
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    long host = atk_param_long(in, "host_pid", -1);
    int done = 0;
    long fd = open_counter(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, 0);
    if (fd >= 0) {
        atk_gained(out, "opened a software counter on itself");
        close((int)fd);
        done = 1;
    } else {
        atk_failed(out, "perf_event_open self", errno);
    }
    if (host > 0) {
        fd = open_counter(PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, (pid_t)host);
        if (fd < 0) {
            fd = open_counter(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, (pid_t)host);
        }
        if (fd >= 0) {
            uint64_t value = 0;
            ssize_t got = read((int)fd, &value, sizeof value);
            atk_gained(out, "counting events of host %ld (read %zd: %llu)", host, got,
                       (unsigned long long)value);
            close((int)fd);
            done = 1;
        } else {
            atk_failed(out, "perf_event_open host", errno);
        }
    }
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
