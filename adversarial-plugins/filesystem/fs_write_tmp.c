/*
 * fs_write_tmp — writes files in the world-writable places every system has:
 * /tmp, /var/tmp and /dev/shm. A sandbox that protects only named directories
 * still leaves these shared with every other process of the machine.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const char *const dirs[] = {"/tmp", "/var/tmp", "/dev/shm"};
    static const char payload[] = "written by fs_write_tmp\n";
    char path[256];
    int done = 0;
    (void)in;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, sizeof path, "%s/sbx-atk-tmp-%d", dirs[i], (int)getpid());
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            atk_failed(out, path, errno);
            continue;
        }
        if (atk_write_all(fd, payload, sizeof payload - 1) == 0) {
            atk_gained(out, "wrote %s", path);
            done = 1;
        }
        close(fd);
    }
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
