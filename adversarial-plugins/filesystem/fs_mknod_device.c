/*
 * fs_mknod_device — creates device nodes in the forbidden directory: /dev/mem
 * (1,1), /dev/null (1,3) and the first disk (8,0), plus a FIFO. A device node a
 * process may open is raw access to memory or a disk, past every file permission.
 */
#include "attack.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const struct {
        const char *name;
        mode_t mode;
        unsigned major, minor;
    } nodes[] = {
        {"sbx-atk-mem", S_IFCHR | 0666, 1, 1},
        {"sbx-atk-null", S_IFCHR | 0666, 1, 3},
        {"sbx-atk-sda", S_IFBLK | 0666, 8, 0},
        {"sbx-atk-fifo", S_IFIFO | 0666, 0, 0},
    };
    char dir[4096];
    char path[4200];
    int done = 0;
    if (!atk_param(in, "forbidden_dir", dir, sizeof dir)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, nodes[i].name);
        if (mknod(path, nodes[i].mode, makedev(nodes[i].major, nodes[i].minor)) == 0) {
            atk_gained(out, "mknod %s (%u,%u)", path, nodes[i].major, nodes[i].minor);
            done = 1;
        } else {
            atk_failed(out, nodes[i].name, errno);
        }
    }
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
