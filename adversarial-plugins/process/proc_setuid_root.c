/*
 * proc_setuid_root — reports its identity and capabilities, then tries to become
 * root: setresuid(0,0,0), setresgid(0,0,0) and dropping supplementary groups,
 * with raw system calls (so only this thread is asked, as an exploit would).
 * A runner left with uid 0 or any capability turns every other weakness into a
 * full compromise.
 */
#include "attack.h"

#include <linux/capability.h>
#include <sys/syscall.h>

static void report(atk_out *out)
{
    uid_t r, e, s;
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    if (getresuid(&r, &e, &s) == 0) {
        atk_printf(out, "uid %u/%u/%u gid %u\n", r, e, s, getgid());
        if (e == 0) {
            atk_gained(out, "effective uid 0");
        }
    }
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &header, data) == 0 && (data[0].effective | data[1].effective) != 0) {
        atk_gained(out, "effective capabilities %#x%08x", data[1].effective, data[0].effective);
    }
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    int done = 0;
    (void)in;
    if (syscall(SYS_setresgid, 0, 0, 0) == 0) {
        atk_gained(out, "setresgid(0,0,0)");
        done = 1;
    } else {
        atk_failed(out, "setresgid", errno);
    }
    if (syscall(SYS_setgroups, 0, NULL) == 0) {
        atk_gained(out, "setgroups(0)");
        done = 1;
    } else {
        atk_failed(out, "setgroups", errno);
    }
    if (syscall(SYS_setresuid, 0, 0, 0) == 0) {
        atk_gained(out, "setresuid(0,0,0)");
        done = 1;
    } else {
        atk_failed(out, "setresuid", errno);
    }
    report(out);
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
