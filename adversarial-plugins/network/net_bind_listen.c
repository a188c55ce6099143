/*
 * net_bind_listen — binds TCP and UDP sockets on every interface (an ephemeral
 * port, then the privileged port 80) and listens. A listening plugin is a
 * backdoor into the host's machine: anything that reaches the port reaches the
 * plugin, whatever the firewall says about outgoing traffic.
 */
#include "attack.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static int try_listen(atk_out *out, int type, uint16_t port)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    int s = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (s < 0) {
        atk_failed(out, "socket", errno);
        return 0;
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(s, (struct sockaddr *)&addr, sizeof addr) != 0) {
        atk_failed(out, port == 0 ? "bind ephemeral" : "bind privileged", errno);
        close(s);
        return 0;
    }
    if (type == SOCK_STREAM && listen(s, 16) != 0) {
        atk_failed(out, "listen", errno);
        close(s);
        return 0;
    }
    getsockname(s, (struct sockaddr *)&addr, &len);
    atk_gained(out, "%s socket bound on 0.0.0.0:%u", type == SOCK_STREAM ? "listening TCP" : "UDP",
               (unsigned)ntohs(addr.sin_port));
    close(s);
    return 1;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    int done = 0;
    (void)in;
    done |= try_listen(out, SOCK_STREAM, 0);
    done |= try_listen(out, SOCK_DGRAM, 0);
    done |= try_listen(out, SOCK_STREAM, 80);
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
