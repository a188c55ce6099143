/*
 * res_fd_exhaustion — opens descriptors until the kernel refuses: its own shared
 * object (found with dladdr; the one file a runner must let it read), then dup()
 * of descriptor 0, and keeps them all open. Descriptors are kernel memory and a
 * per-process (and per-user) budget; exhausting them breaks the runner's own I/O
 * if it has no limit of its own.
 */
#include "attack.h"

#include <dlfcn.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    Dl_info info;
    long opened = 0, duplicated = 0;
    int err = 0;
    (void)in;
    if (dladdr((void *)attack, &info) != 0 && info.dli_fname != NULL) {
        for (;;) {
            int fd = open(info.dli_fname, O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                err = errno;
                break;
            }
            opened++;
        }
        atk_printf(out, "opened %s %ld times (%s)\n", info.dli_fname, opened, strerror(err));
    }
    for (;;) {
        int fd = dup(0);
        if (fd < 0) {
            err = errno;
            break;
        }
        duplicated++;
    }
    atk_printf(out, "dup() %ld times (%s); keeping %ld descriptors open\n", duplicated,
               strerror(err), opened + duplicated);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
