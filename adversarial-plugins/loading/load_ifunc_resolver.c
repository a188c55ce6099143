/*
 * load_ifunc_resolver — does its harm in a GNU IFUNC resolver, which the dynamic
 * loader runs while relocating the object: before any constructor, and in hosts
 * that dlopen with RTLD_NOW even before dlopen returns. It creates
 * /tmp/sbx-atk-ifunc-<pid> with raw system calls (the C library may not be
 * usable yet) and then resolves the function normally.
 */
#include "attack.h"

enum { NR_WRITE = 1, NR_CLOSE = 3, NR_GETPID = 39, NR_OPENAT = 257 };

static int checksum_impl(int x)
{
    return x * 31 + 7;
}

typedef int (*checksum_fn)(int);

static checksum_fn resolve_checksum(void)
{
    char path[] = "/tmp/sbx-atk-ifunc-0000000000";
    long pid = atk_syscall6(NR_GETPID, 0, 0, 0, 0, 0, 0);
    for (int i = (int)sizeof path - 2; i >= (int)sizeof path - 11; i--) {
        path[i] = (char)('0' + pid % 10);
        pid /= 10;
    }
    long fd = atk_syscall6(NR_OPENAT, AT_FDCWD, (long)(uintptr_t)path,
                           O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644, 0, 0);
    if (fd >= 0) {
        static const char payload[] = "written by an IFUNC resolver\n";
        atk_syscall6(NR_WRITE, fd, (long)(uintptr_t)payload, sizeof payload - 1, 0, 0, 0);
        atk_syscall6(NR_CLOSE, fd, 0, 0, 0, 0, 0);
    }
    return checksum_impl;
}

int checksum(int x) __attribute__((ifunc("resolve_checksum")));

static sbx_status attack(const atk_input *in, atk_out *out)
{
    atk_printf(out, "checksum %d\n", checksum((int)in->len));
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
