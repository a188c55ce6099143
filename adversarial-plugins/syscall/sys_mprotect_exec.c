/*
 * sys_mprotect_exec — generates machine code at run time (getpid through the
 * syscall instruction) in a fresh mapping, makes it executable (an RWX mapping,
 * then RW turned RX with mprotect) and runs it. Code that did not exist at load
 * time escapes every check made on the loaded object; a plugin has no need to
 * create executable memory once loaded.
 */
#include "attack.h"

#include <sys/mman.h>

/* mov eax, 39 (getpid); syscall; ret */
static const uint8_t g_code[] = {0xb8, 0x27, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xc3};

typedef long (*generated_fn)(void);

static sbx_status attack(const atk_input *in, atk_out *out)
{
    int done = 0;
    (void)in;
    void *rwx = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    if (rwx == MAP_FAILED) {
        atk_failed(out, "mmap RWX", errno);
    } else {
        memcpy(rwx, g_code, sizeof g_code);
        generated_fn fn;
        memcpy(&fn, &rwx, sizeof fn);
        atk_gained(out, "ran code from an RWX mapping (getpid %ld)", fn());
        munmap(rwx, 4096);
        done = 1;
    }
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        atk_failed(out, "mmap RW", errno);
        return done ? SBX_OK : SBX_ERR_INTERNAL;
    }
    memcpy(page, g_code, sizeof g_code);
    if (mprotect(page, 4096, PROT_READ | PROT_EXEC) == 0) {
        generated_fn fn;
        memcpy(&fn, &page, sizeof fn);
        atk_gained(out, "ran code made executable with mprotect (getpid %ld)", fn());
        done = 1;
    } else {
        atk_failed(out, "mprotect RX", errno);
    }
    munmap(page, 4096);
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
