/*
 * leak_kernel_info — reads what the kernel tells privileged users: the kernel log
 * (syslog / klogctl: addresses, hardware, other users' events) and kernel symbol
 * addresses from /proc/kallsyms (non-zero only with privilege: they defeat
 * KASLR for a kernel exploit).
 */
#include "attack.h"

#include <sys/klog.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static char log[8192];
    char line[256];
    int found = 0;
    (void)in;
    int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, sizeof log);
    if (n > 0) {
        atk_gained(out, "read %d bytes of the kernel log", n);
        atk_put(out, log, (size_t)n < 512 ? (size_t)n : 512);
        atk_put(out, "\n", 1);
        found = 1;
    } else {
        atk_failed(out, "klogctl", errno);
    }
    FILE *syms = fopen("/proc/kallsyms", "re");
    if (syms == NULL) {
        atk_failed(out, "/proc/kallsyms", errno);
    } else {
        if (fgets(line, sizeof line, syms) != NULL && strncmp(line, "0000000000000000", 16) != 0) {
            atk_gained(out, "kernel symbol addresses: %s", line);
            found = 1;
        }
        fclose(syms);
    }
    return found ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
