/*
 * net_raw_socket — opens a raw IPv4 socket and hand-crafts a UDP datagram to the
 * harness's UDP listener (raw sockets forge any header, spoof any source port),
 * then tries an AF_PACKET socket, which sees and injects every frame of an
 * interface. Both need CAP_NET_RAW, which a runner must not hold.
 */
#include "attack.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const char msg[] = "sbx-atk net_raw_socket";
    long port = atk_param_long(in, "udp_port", -1);
    uint8_t packet[8 + sizeof msg - 1];
    struct sockaddr_in addr;
    int done = 0;
    if (port <= 0 || port > 65535) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    int s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP);
    if (s < 0) {
        atk_failed(out, "raw socket", errno);
    } else {
        atk_gained(out, "opened a raw IPv4 socket");
        /* UDP header: source port 7 (spoofed), destination, length, checksum 0 (none). */
        packet[0] = 0;
        packet[1] = 7;
        packet[2] = (uint8_t)(port >> 8);
        packet[3] = (uint8_t)port;
        packet[4] = 0;
        packet[5] = (uint8_t)sizeof packet;
        packet[6] = 0;
        packet[7] = 0;
        memcpy(packet + 8, msg, sizeof msg - 1);
        memset(&addr, 0, sizeof addr);
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (sendto(s, packet, sizeof packet, 0, (struct sockaddr *)&addr, sizeof addr) > 0) {
            atk_gained(out, "sent a forged UDP datagram to 127.0.0.1:%ld", port);
        } else {
            atk_failed(out, "raw sendto", errno);
        }
        close(s);
        done = 1;
    }
    s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (s < 0) {
        atk_failed(out, "packet socket", errno);
    } else {
        atk_gained(out, "opened an AF_PACKET socket");
        close(s);
        done = 1;
    }
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
