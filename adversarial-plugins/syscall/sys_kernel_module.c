/*
 * sys_kernel_module — probes whether it may load or remove kernel modules:
 * init_module with an image that is not a module, finit_module on /dev/null and
 * delete_module of a module that does not exist. Each fails either on the
 * permission check (EPERM: refused), for lack of module support (ENOSYS), or
 * after the check (ENOEXEC, EBADF, ENOENT...: the capability is held and a real
 * module would run as kernel code). Nothing is ever loaded.
 */
#include "attack.h"

#include <sys/syscall.h>

static int passed(atk_out *out, const char *what, long rc)
{
    if (rc == 0 || (errno != EPERM && errno != ENOSYS)) {
        atk_gained(out, "%s passed the permission check (%s)", what, rc == 0 ? "ok" : strerror(errno));
        return 1;
    }
    atk_failed(out, what, errno);
    return 0;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const char not_a_module[64] = "sbx-atk: not an ELF module";
    int done = 0;
    (void)in;
    done |= passed(out, "init_module", syscall(SYS_init_module, not_a_module, sizeof not_a_module, ""));
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    done |= passed(out, "finit_module", syscall(SYS_finit_module, fd, "", 0));
    if (fd >= 0) {
        close(fd);
    }
    done |= passed(out, "delete_module", syscall(SYS_delete_module, "sbx_atk_no_such_module", O_NONBLOCK));
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
