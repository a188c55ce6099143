/*
 * load_ctor_file_write — a constructor (run by dlopen, before the host calls
 * anything) creates /tmp/sbx-atk-ctor-<pid>. Constructors need no parameters
 * and no permission from the host: if confinement starts after dlopen, they run
 * with the runner's full rights.
 */
#include "attack.h"

__attribute__((constructor)) static void early(void)
{
    char path[64];
    static const char payload[] = "written by a constructor\n";
    snprintf(path, sizeof path, "/tmp/sbx-atk-ctor-%d", (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        (void)atk_write_all(fd, payload, sizeof payload - 1);
        close(fd);
    }
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_printf(out, "loaded\n");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
