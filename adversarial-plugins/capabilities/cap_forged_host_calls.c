/*
 * cap_forged_host_calls — with notify and storage granted, asks the host to take what the
 * contract says it refuses with SBX_ERR_INVALID_ARGUMENT: a message of SBX_MAX_LOG_LEN + 1
 * bytes and a value of SBX_MAX_VALUE_LEN + 1 bytes through the host API; then, where
 * descriptor 3 is a socket (the reference runner's channel), those two and an empty
 * message as HostCall frames written on the channel itself, which no bound of the
 * runner's host API stands before. Each frame waits for its reply, and the first reply
 * missing ends the attack, so that the channel stays in step. A host that answers any of them SBX_OK enforces its bounds only in code the
 * plugin shares a process with: a GAINED line says so.
 */
#include "attack.h"

#include <sys/stat.h>

enum { SERVICE_STORAGE_PUT = 3, SERVICE_NOTIFY_USER = 7 };

/* Reads exactly `n` bytes from `fd`, waiting at most 500 ms for each part. Returns 0, or
 * -1. */
static int read_exactly(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        struct pollfd ready = {fd, POLLIN, 0};
        if (poll(&ready, 1, 500) <= 0) {
            return -1;
        }
        ssize_t r = read(fd, p, n);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (r <= 0) {
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Sends one HostCall frame for `service` whose payload is the length-prefixed `fields`,
 * reads the host's reply and returns its status, or 1 when none came (the caller then
 * stops: a reply still on its way would answer the next frame). */
static int32_t forged_call(uint16_t service, const uint8_t *const fields[], const uint32_t lens[],
                           size_t count, atk_out *out)
{
    static uint8_t frame[ATK_FRAME_HEADER_LEN + 6 + 2 * 4 + SBX_MAX_VALUE_LEN + 64];
    size_t payload = 0;
    for (size_t i = 0; i < count; i++) {
        payload += 4 + lens[i];
    }
    size_t body = 2 + 4 + payload;
    if (ATK_FRAME_HEADER_LEN + body > sizeof frame) {
        return 1;
    }
    atk_frame_header(frame, (uint32_t)(ATK_FRAME_HEADER_LEN - 4 + body), ATK_KIND_HOST_CALL,
                     0x5b5b);
    uint8_t *p = frame + ATK_FRAME_HEADER_LEN;
    p[0] = (uint8_t)service;
    p[1] = (uint8_t)(service >> 8);
    atk_le32(p + 2, (uint32_t)payload);
    p += 6;
    for (size_t i = 0; i < count; i++) {
        atk_le32(p, lens[i]);
        memcpy(p + 4, fields[i], lens[i]);
        p += 4 + lens[i];
    }
    int err = atk_write_all(ATK_CHANNEL_FD, frame, ATK_FRAME_HEADER_LEN + body);
    uint8_t reply[ATK_FRAME_HEADER_LEN + 4];
    if (err != 0) {
        atk_failed(out, "write a HostCall frame", err);
        return 1;
    }
    if (read_exactly(ATK_CHANNEL_FD, reply, sizeof reply) != 0 ||
        reply[5] != ATK_KIND_HOST_REPLY) {
        atk_printf(out, "no HostReply to a forged HostCall\n");
        return 1;
    }
    uint32_t rest = atk_le32_get(reply);
    /* The rest of the reply: its payload's length and bytes. */
    if (rest > ATK_FRAME_HEADER_LEN) {
        static uint8_t drain[SBX_MAX_VALUE_LEN + 64];
        size_t left = rest - (ATK_FRAME_HEADER_LEN - 4) - 4;
        if (left > sizeof drain || read_exactly(ATK_CHANNEL_FD, drain, left) != 0) {
            return 1;
        }
    }
    return (int32_t)atk_le32_get(reply + ATK_FRAME_HEADER_LEN);
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static uint8_t big[SBX_MAX_VALUE_LEN + 1];
    static const char key[] = "sbx-atk-oversized";
    const sbx_host_api *h = atk_host;
    struct stat st;
    (void)in;
    if (h == NULL) {
        return SBX_ERR_INTERNAL;
    }
    memset(big, 'v', sizeof big);
    /* Through the host API. */
    int gained = 0;
    if (h->notify_user(h->ctx, (const char *)big, SBX_MAX_LOG_LEN + 1) == SBX_OK) {
        atk_gained(out, "notify_user of SBX_MAX_LOG_LEN + 1 bytes answered SBX_OK");
        gained = 1;
    }
    if (h->storage_put(h->ctx, key, sizeof key - 1, big, SBX_MAX_VALUE_LEN + 1) == SBX_OK) {
        atk_gained(out, "storage_put of SBX_MAX_VALUE_LEN + 1 bytes answered SBX_OK");
        gained = 1;
    }
    if (gained) {
        /* Shown by the easy route: what descriptor 3 is in such a host is not known. */
        return SBX_OK;
    }
    /* On the channel, past the runner's host API. */
    if (fstat(ATK_CHANNEL_FD, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        atk_printf(out, "descriptor %d is no socket: no channel to write on\n", ATK_CHANNEL_FD);
        return SBX_OK;
    }
    const uint8_t *long_message[] = {big};
    const uint32_t long_len[] = {SBX_MAX_LOG_LEN + 1};
    const uint32_t empty_len[] = {0};
    const uint8_t *put[] = {(const uint8_t *)key, big};
    const uint32_t put_len[] = {sizeof key - 1, SBX_MAX_VALUE_LEN + 1};
    const struct {
        uint16_t service;
        const uint8_t *const *fields;
        const uint32_t *lens;
        size_t count;
        const char *what;
    } calls[] = {
        {SERVICE_NOTIFY_USER, long_message, long_len, 1, "notify_user with SBX_MAX_LOG_LEN + 1 bytes"},
        {SERVICE_NOTIFY_USER, long_message, empty_len, 1, "notify_user with an empty message"},
        {SERVICE_STORAGE_PUT, put, put_len, 2, "storage_put with SBX_MAX_VALUE_LEN + 1 bytes"},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        int32_t status =
            forged_call(calls[i].service, calls[i].fields, calls[i].lens, calls[i].count, out);
        if (status == SBX_OK) {
            atk_gained(out, "a forged HostCall of %s answered SBX_OK", calls[i].what);
        } else if (status == 1) {
            return SBX_OK;
        }
    }
    atk_printf(out, "every call beyond the contract refused\n");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
