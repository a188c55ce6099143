/*
 * net_udp_send — sends datagrams to the harness's UDP listener on 127.0.0.1,
 * with sendto on an unconnected socket and with send on a connected one. UDP
 * needs no handshake: one datagram is enough to exfiltrate a secret.
 */
#include "attack.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const char msg[] = "sbx-atk net_udp_send";
    long port = atk_param_long(in, "udp_port", -1);
    struct sockaddr_in addr;
    int sent = 0;
    if (port <= 0 || port > 65535) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        atk_failed(out, "socket", errno);
        return SBX_ERR_INTERNAL;
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (sendto(s, msg, sizeof msg - 1, 0, (struct sockaddr *)&addr, sizeof addr) > 0) {
        sent++;
    } else {
        atk_failed(out, "sendto", errno);
    }
    if (connect(s, (struct sockaddr *)&addr, sizeof addr) == 0 && send(s, msg, sizeof msg - 1, 0) > 0) {
        sent++;
    } else {
        atk_failed(out, "connected send", errno);
    }
    close(s);
    if (sent > 0) {
        atk_gained(out, "sent %d datagram(s) to 127.0.0.1:%ld", sent, port);
    }
    return sent > 0 ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
