/*
 * net_tcp_connect — connects to the harness's TCP listener on 127.0.0.1 and sends
 * a line. A TCP connection is how a plugin exfiltrates anything it read, or talks
 * to local services (databases, admin ports) that trust loopback.
 */
#include "attack.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const char line[] = "sbx-atk net_tcp_connect\n";
    long port = atk_param_long(in, "tcp_port", -1);
    struct sockaddr_in addr;
    if (port <= 0 || port > 65535) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        atk_failed(out, "socket", errno);
        return SBX_ERR_INTERNAL;
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&addr, sizeof addr) != 0) {
        atk_failed(out, "connect", errno);
        close(s);
        return SBX_ERR_INTERNAL;
    }
    atk_gained(out, "connected to 127.0.0.1:%ld", port);
    (void)atk_write_all(s, line, sizeof line - 1);
    close(s);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
