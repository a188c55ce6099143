/*
 * sys_mprotect_exec — generates machine code at run time (getpid through the
 * syscall instruction) in a writable mapping, turns it RX with mprotect and runs
 * it. Code that did not exist at load time escapes every check made on the loaded
 * object; a plugin has no need to create executable memory once loaded. Only the
 * mprotect route: an RWX mmap first would be stopped before mprotect is tried, and
 * a filter that masks PROT_EXEC on mmap alone would pass (sys_mmap_exec takes that
 * route).
 */
#include "attack.h"

#include <sys/mman.h>

/* mov eax, 39 (getpid); syscall; ret */
static const uint8_t g_code[] = {0xb8, 0x27, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xc3};

typedef long (*generated_fn)(void);

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        atk_failed(out, "mmap RW", errno);
        return SBX_ERR_INTERNAL;
    }
    memcpy(page, g_code, sizeof g_code);
    sbx_status status = SBX_ERR_INTERNAL;
    if (mprotect(page, 4096, PROT_READ | PROT_EXEC) == 0) {
        generated_fn fn;
        memcpy(&fn, &page, sizeof fn);
        atk_gained(out, "ran code made executable with mprotect (getpid %ld)", fn());
        status = SBX_OK;
    } else {
        atk_failed(out, "mprotect RX", errno);
    }
    munmap(page, 4096);
    return status;
}

ATK_INVOKE_PLUGIN(attack)
