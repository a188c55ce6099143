/*
 * fs_stat_probe — probes paths without opening them: stat says whether a file exists,
 * its size, owner and times, and Landlock does not govern it. Once loaded, a plugin
 * may look only at descriptors it holds (fstat), never up a path.
 */
#include "attack.h"

#include <sys/stat.h>

/* How a path is probed (fs_stat_empty_path_probe probes another way). */
#ifndef STAT_PROBE
#define STAT_PROBE(path, st) stat((path), (st))
#endif

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char secret[512];
    const char *paths[] = {"/etc/passwd", secret};
    int seen = 0;
    if (!atk_param(in, "secret_path", secret, sizeof secret)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct stat st;
        if (STAT_PROBE(paths[i], &st) != 0) {
            atk_failed(out, paths[i], errno);
            continue;
        }
        atk_gained(out, "stat of %s after the load: %lld bytes, owner %u", paths[i],
                   (long long)st.st_size, (unsigned)st.st_uid);
        seen = 1;
    }
    return seen ? SBX_OK : SBX_ERR_DENIED;
}

ATK_INVOKE_PLUGIN(attack)
