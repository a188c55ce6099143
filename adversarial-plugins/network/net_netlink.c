/*
 * net_netlink — opens a NETLINK_ROUTE socket and dumps the network interfaces
 * (RTM_GETLINK), then tries the kernel uevent and audit netlink families.
 * Netlink is the kernel's configuration bus: reading it maps the host's network,
 * and with privileges writing it reconfigures routes and firewalls.
 */
#include "attack.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    struct {
        struct nlmsghdr hdr;
        struct ifinfomsg info;
    } req;
    char buf[16384];
    int done = 0;
    (void)in;
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (s < 0) {
        atk_failed(out, "netlink route socket", errno);
    } else {
        memset(&req, 0, sizeof req);
        req.hdr.nlmsg_len = sizeof req;
        req.hdr.nlmsg_type = RTM_GETLINK;
        req.hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        req.hdr.nlmsg_seq = 1;
        req.info.ifi_family = AF_UNSPEC;
        if (send(s, &req, sizeof req, 0) > 0) {
            ssize_t got = recv(s, buf, sizeof buf, 0);
            int links = 0;
            for (struct nlmsghdr *h = (struct nlmsghdr *)buf; got > 0 && NLMSG_OK(h, (size_t)got);
                 h = NLMSG_NEXT(h, got)) {
                if (h->nlmsg_type != RTM_NEWLINK) {
                    continue;
                }
                struct ifinfomsg *info = (struct ifinfomsg *)NLMSG_DATA(h);
                int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof *info);
                for (struct rtattr *a = IFLA_RTA(info); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
                    if (a->rta_type == IFLA_IFNAME) {
                        atk_printf(out, "interface %d: %s\n", info->ifi_index, (char *)RTA_DATA(a));
                        links++;
                    }
                }
            }
            if (links > 0) {
                atk_gained(out, "dumped %d interfaces over netlink", links);
                done = 1;
            }
        } else {
            atk_failed(out, "netlink send", errno);
        }
        close(s);
    }
    static const int families[] = {NETLINK_KOBJECT_UEVENT, NETLINK_AUDIT};
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, families[i]);
        if (s >= 0) {
            atk_gained(out, "opened netlink family %d", families[i]);
            close(s);
            done = 1;
        } else {
            atk_failed(out, "netlink family", errno);
        }
    }
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
