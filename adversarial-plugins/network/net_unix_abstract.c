/*
 * net_unix_abstract — connects to the harness's abstract unix socket and sends a
 * line, then probes well-known path sockets (D-Bus, Docker, systemd). Abstract
 * sockets live in the network namespace, not the file system, so file rules do
 * not cover them; local daemons behind unix sockets often trust any peer.
 */
#include "attack.h"

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static int try_connect(atk_out *out, const char *name, int abstract)
{
    static const char line[] = "sbx-atk net_unix_abstract\n";
    struct sockaddr_un addr;
    size_t len = strlen(name);
    if (len + 2 > sizeof addr.sun_path) {
        return 0;
    }
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        atk_failed(out, "unix socket", errno);
        return 0;
    }
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path + (abstract ? 1 : 0), name, len);
    socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (abstract ? 1 : 0));
    if (connect(s, (struct sockaddr *)&addr, addr_len) != 0) {
        atk_failed(out, name, errno);
        close(s);
        return 0;
    }
    atk_gained(out, "connected to unix socket %s%s", abstract ? "@" : "", name);
    (void)atk_write_all(s, line, sizeof line - 1);
    close(s);
    return 1;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const char *const paths[] = {
        "/run/dbus/system_bus_socket",
        "/var/run/docker.sock",
        "/run/systemd/private",
    };
    char name[108];
    int done = 0;
    if (!atk_param(in, "unix_name", name, sizeof name)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    done |= try_connect(out, name, 1);
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        done |= try_connect(out, paths[i], 0);
    }
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
