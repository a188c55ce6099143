/*
 * cap_net_allowlist_bypass — with net granted for some allowlisted destination,
 * asks net_request for the harness's TCP listener spelled in every way an
 * allowlist might not recognise: localhost, 127.1, hex and decimal addresses,
 * IPv4-mapped IPv6, user-info tricks and a NUL byte before an allowed suffix.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    long port = atk_param_long(in, "tcp_port", -1);
    static const char *const spellings[] = {
        "127.0.0.1:%ld",       "localhost:%ld",         "127.1:%ld",
        "0x7f000001:%ld",      "2130706433:%ld",        "[::ffff:127.0.0.1]:%ld",
        "[::1]:%ld",           "allowed.example@127.0.0.1:%ld",
    };
    char dest[128];
    uint8_t reply[256];
    int done = 0;
    if (port <= 0 || atk_host == NULL) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0] + 1; i++) {
        size_t len;
        if (i < sizeof spellings / sizeof spellings[0]) {
            len = (size_t)snprintf(dest, sizeof dest, spellings[i], port);
        } else {
            /* "127.0.0.1:<port>\0.allowed.example": the length covers both parts. */
            len = (size_t)snprintf(dest, sizeof dest, "127.0.0.1:%ld", port);
            memcpy(dest + len + 1, ".allowed.example", 17);
            len += 17;
        }
        size_t got = 0;
        sbx_status status = atk_host->net_request(atk_host->ctx, dest, len,
                                                  (const uint8_t *)"sbx-atk via net_request\n", 24,
                                                  reply, sizeof reply, &got);
        atk_printf(out, "net_request %s -> %d\n", dest, status);
        done |= status == SBX_OK;
    }
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
