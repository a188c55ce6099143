/*
 * sys_mmap_exec — executable memory straight from mmap, the route beside mprotect:
 * an anonymous PROT_READ | PROT_WRITE | PROT_EXEC mapping after the load. A filter
 * that masks PROT_EXEC on mprotect only lets this through.
 */
#include "attack.h"

#include <sys/mman.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED) {
        atk_failed(out, "mmap(PROT_EXEC)", errno);
    } else {
        atk_gained(out, "an executable anonymous mapping at %p after the load", p);
        munmap(p, 4096);
    }
    void *q = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED) {
        atk_failed(out, "mmap(PROT_READ | PROT_EXEC)", errno);
        return p == MAP_FAILED ? SBX_ERR_DENIED : SBX_OK;
    }
    atk_gained(out, "a read-execute anonymous mapping at %p after the load", q);
    munmap(q, 4096);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
