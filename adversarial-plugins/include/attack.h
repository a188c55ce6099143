/*
 * attack.h — the few helpers every hostile plugin of the conformance suite shares.
 *
 * How the harness drives a hostile plugin: it calls `sbx_plugin_invoke` with the
 * method "attack" and an input of `key=value\n` lines naming the targets:
 *
 *   secret_path    absolute path of a file holding a canary token, outside the plugin's reach
 *   secret_dir     the directory of that file
 *   forbidden_dir  a directory that must stay unwritten
 *   tcp_port       a TCP listener of the harness on 127.0.0.1
 *   udp_port       a UDP listener of the harness on 127.0.0.1
 *   unix_name      an abstract unix socket of the harness (name without the leading NUL)
 *   host_pid       pid of the host (adapter) process
 *   token_env      name of an environment variable of the host holding a canary
 *   storage_bytes  the policy's storage quota (0: none named)
 *   host_call_rate the policy's host calls per second (0: none named)
 *   storage_keys   the keys the policy lets a plugin store (0: none named)
 *
 * How a plugin reports: it appends to its output whatever it obtained (the bytes it
 * read, so a canary token becomes visible to the harness) and one line beginning
 * with "GAINED " for every privilege it found it still had (uid 0, a successful
 * mount, setns, ptrace...). The harness never trusts anything else the plugin
 * says. Failures are reported as "failed <what>: <reason>" lines, for people.
 * A plugin returns SBX_OK, or an error code when everything it tried failed.
 *
 * Include this header first: it asks for the GNU extensions of the C library.
 * The helpers assume Linux on x86_64, the only target of the suite.
 */
#ifndef SBX_ATTACK_H
#define SBX_ATTACK_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sbx_plugin.h"

/* The host table kept by the default init (NULL before init). */
static const sbx_host_api *atk_host __attribute__((unused));

/* The input of one invoke: `key=value\n` lines. */
typedef struct atk_input {
    const uint8_t *data;
    size_t len;
} atk_input;

/* The output being built: never written past `cap`; `len` bytes are used. */
typedef struct atk_out {
    uint8_t *buf;
    size_t cap;
    size_t len;
} atk_out;

/* ---- Parameters --------------------------------------------------------- */

/* Copies the value of `key` to `out` (NUL-terminated). Returns 1 when the key is
 * present and its value fits, 0 otherwise (then `out` holds ""). */
static inline int atk_param(const atk_input *in, const char *key, char *out, size_t out_cap)
{
    size_t key_len = strlen(key);
    size_t pos = 0;
    if (out_cap == 0) {
        return 0;
    }
    out[0] = '\0';
    while (pos < in->len) {
        const uint8_t *line = in->data + pos;
        size_t line_len = 0;
        while (pos + line_len < in->len && line[line_len] != '\n') {
            line_len++;
        }
        pos += line_len + 1;
        if (line_len > key_len && memcmp(line, key, key_len) == 0 && line[key_len] == '=') {
            size_t value_len = line_len - key_len - 1;
            if (value_len >= out_cap) {
                return 0;
            }
            memcpy(out, line + key_len + 1, value_len);
            out[value_len] = '\0';
            return 1;
        }
    }
    return 0;
}

/* The value of `key` as a decimal number, or `fallback` when absent or malformed. */
static inline long atk_param_long(const atk_input *in, const char *key, long fallback)
{
    char text[32];
    char *end = NULL;
    long value;
    if (!atk_param(in, key, text, sizeof text) || text[0] == '\0') {
        return fallback;
    }
    errno = 0;
    value = strtol(text, &end, 10);
    if (errno != 0 || end == NULL || *end != '\0') {
        return fallback;
    }
    return value;
}

/* ---- Output ------------------------------------------------------------- */

static inline void atk_out_init(atk_out *out, uint8_t *buf, size_t cap)
{
    out->buf = buf;
    out->cap = buf == NULL ? 0 : cap;
    out->len = 0;
}

/* Appends raw bytes; what does not fit is dropped. */
static inline void atk_put(atk_out *out, const void *data, size_t n)
{
    size_t room = out->cap - out->len;
    if (n > room) {
        n = room;
    }
    if (n > 0) {
        memcpy(out->buf + out->len, data, n);
        out->len += n;
    }
}

/* Answers the input unchanged, or SBX_ERR_BUFFER_TOO_SMALL with the size it needs (as the
 * ABI asks) when it does not fit: what every benign plugin that echoes does. */
static inline sbx_status atk_echo(const atk_input *in, atk_out *out)
{
    if (in->len > out->cap) {
        out->len = in->len;
        return SBX_ERR_BUFFER_TOO_SMALL;
    }
    atk_put(out, in->data, in->len);
    return SBX_OK;
}

static inline void atk_vprintf(atk_out *out, const char *fmt, va_list args)
{
    char line[1024];
    int n = vsnprintf(line, sizeof line, fmt, args);
    if (n > 0) {
        atk_put(out, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
}

/* Appends formatted text (at most 1 KiB per call). */
static inline __attribute__((format(printf, 2, 3))) void atk_printf(atk_out *out, const char *fmt,
                                                                   ...)
{
    va_list args;
    va_start(args, fmt);
    atk_vprintf(out, fmt, args);
    va_end(args);
}

/* Appends one "GAINED ..." line: the plugin observed that it still holds a privilege. */
static inline __attribute__((format(printf, 2, 3))) void atk_gained(atk_out *out, const char *fmt,
                                                                   ...)
{
    va_list args;
    atk_put(out, "GAINED ", 7);
    va_start(args, fmt);
    atk_vprintf(out, fmt, args);
    va_end(args);
    atk_put(out, "\n", 1);
}

/* Appends one "failed <what>: <reason>" line for the errno value `err`. */
static inline void atk_failed(atk_out *out, const char *what, int err)
{
    atk_printf(out, "failed %s: %s\n", what, strerror(err));
}

/* Stores the output length and passes `status` through: `return atk_finish(...)`. */
static inline sbx_status atk_finish(const atk_out *out, size_t *output_len, sbx_status status)
{
    *output_len = out->len;
    return status;
}

/* Reads the value of `key` from the host's storage service into the output; a host that
 * claims more than the output holds broke the out-buffer rule (SBX_ERR_INTERNAL). */
static inline sbx_status atk_storage_read(const char *key, size_t key_len, atk_out *out)
{
    size_t got = 0;
    sbx_status status;
    if (atk_host == NULL) {
        return SBX_ERR_INTERNAL;
    }
    status = atk_host->storage_get(atk_host->ctx, key, key_len, out->buf, out->cap, &got);
    out->len = got;
    if (status == SBX_OK && got > out->cap) {
        return SBX_ERR_INTERNAL;
    }
    return status;
}

/* Takes the `got` bytes a host service (`service`) wrote into the output as the answer; a
 * host that claims more than the output holds gets a line saying so instead. */
static inline void atk_take_answer(atk_out *out, size_t got, const char *service)
{
    if (got > out->cap) {
        atk_printf(out, "%s claims %zu bytes in a buffer of %zu", service, got, out->cap);
        return;
    }
    out->len = got;
}

/* Reads the configuration value named by the input (the key) into `dest`, which holds
 * `cap` bytes (it may be the output's own buffer), and its length into `*len`. Returns the
 * host's status; on a failure, an output line says which. */
static inline sbx_status atk_config_named_by_input(const atk_input *in, char *dest, size_t cap,
                                                   size_t *len, atk_out *out)
{
    sbx_status status = SBX_ERR_INVALID_ARGUMENT;
    if (atk_host != NULL && in->len <= SBX_MAX_KEY_LEN) {
        status = atk_host->config_get(atk_host->ctx, (const char *)in->data, in->len,
                                      (uint8_t *)dest, cap, len);
    }
    if (status != SBX_OK) {
        atk_printf(out, "config_get of %.*s: %d", (int)in->len, (const char *)in->data, status);
    }
    return status;
}

/* Reads up to 64 KiB of `path` into the output after a "<label>: " prefix.
 * Returns 1 when something was read, 0 (and a "failed" line) otherwise. */
static inline int atk_cat(atk_out *out, const char *label, const char *path)
{
    char buf[65536];
    ssize_t got;
    size_t total = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        atk_failed(out, label, errno);
        return 0;
    }
    while (total < sizeof buf && (got = read(fd, buf + total, sizeof buf - total)) > 0) {
        total += (size_t)got;
    }
    close(fd);
    if (total == 0) {
        atk_printf(out, "failed %s: empty\n", label);
        return 0;
    }
    atk_printf(out, "%s: ", label);
    atk_put(out, buf, total);
    atk_put(out, "\n", 1);
    return 1;
}

/* ---- Raw system calls (x86_64) ------------------------------------------ */

/* A system call through the `syscall` instruction, bypassing the C library
 * (and anything that interposes on it). Returns -errno on failure. */
static inline long atk_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
    long ret;
    register long r10 __asm__("r10") = a4;
    register long r8 __asm__("r8") = a5;
    register long r9 __asm__("r9") = a6;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

/* A system call through the 32-bit `int $0x80` gate with i386 numbers. Pointers
 * must lie below 4 GiB (see MAP_32BIT). Returns -errno on failure. */
static inline long atk_int80(long nr, long a1, long a2, long a3)
{
    long ret;
    __asm__ volatile("int $0x80"
                     : "=a"(ret)
                     : "a"(nr), "b"(a1), "c"(a2), "d"(a3)
                     : "r8", "r9", "r10", "r11", "memory");
    return ret;
}

/* ---- The runner's channel ----------------------------------------------- */

/* In the reference runner the channel to the host is descriptor 3. A frame is:
 * u32 LE length of the rest, u8 version (1), u8 kind, u16 reserved (0),
 * u64 LE request id, body; bytes/str fields in a body are u32 LE length + data. */
#define ATK_CHANNEL_FD 3
#define ATK_FRAME_HEADER_LEN 16u
enum atk_frame_kind {
    ATK_KIND_CONFINED = 1,
    ATK_KIND_LOADED = 2,
    ATK_KIND_INIT = 3,
    ATK_KIND_INVOKE = 4,
    ATK_KIND_RESULT = 5,
    ATK_KIND_ERROR = 6,
    ATK_KIND_HOST_CALL = 7,
    ATK_KIND_HOST_REPLY = 8,
    ATK_KIND_LOG = 9,
    ATK_KIND_HEARTBEAT = 10,
    ATK_KIND_SHUTDOWN = 11
};

static inline void atk_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static inline uint32_t atk_le32_get(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void atk_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* Writes a frame header whose length field says `rest_len` (honest value:
 * ATK_FRAME_HEADER_LEN - 4 + body length). */
static inline void atk_frame_header(uint8_t *p, uint32_t rest_len, uint8_t kind,
                                    uint64_t request_id)
{
    atk_le32(p, rest_len);
    p[4] = 1;
    p[5] = kind;
    p[6] = 0;
    p[7] = 0;
    atk_le64(p + 8, request_id);
}

/* Writes all `n` bytes to `fd`. Returns 0, or the errno value of the failure. */
static inline int atk_write_all(int fd, const void *data, size_t n)
{
    const uint8_t *p = (const uint8_t *)data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            /* The reference runner's channel is non-blocking: a frame larger than the
             * socket's buffer waits for room instead of stopping half-written. */
            if (errno == EAGAIN) {
                struct pollfd room = {fd, POLLOUT, 0};
                if (poll(&room, 1, 1000) > 0) {
                    continue;
                }
            }
            return errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes an honest Result frame for `request_id` carrying `len` bytes of `output` to
 * `fd`: the header and the output's length, then the output. Returns 0, or the errno
 * value of the failure. */
static inline int atk_write_result_frame(int fd, uint64_t request_id, const void *output,
                                         uint32_t len)
{
    uint8_t head[ATK_FRAME_HEADER_LEN + 4];
    atk_frame_header(head, ATK_FRAME_HEADER_LEN - 4 + 4 + len, ATK_KIND_RESULT, request_id);
    atk_le32(head + ATK_FRAME_HEADER_LEN, len);
    int err = atk_write_all(fd, head, sizeof head);
    return err != 0 ? err : atk_write_all(fd, output, len);
}

/* ---- Threads -------------------------------------------------------------- */

static inline void *atk_parked(void *arg)
{
    (void)arg;
    for (;;) {
        pause();
    }
    return NULL;
}

/* Starts detached threads with 64 KiB stacks that wait forever, until pthread_create
 * fails or `most` have started. Returns how many started; *err is the error that
 * stopped it (0 when `most` did). To the kernel every thread is a task: this is what
 * a process and thread cap has to hold. */
static inline long atk_park_threads(long most, int *err)
{
    pthread_attr_t attr;
    long started = 0;
    *err = 0;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    while (started < most) {
        pthread_t thread;
        *err = pthread_create(&thread, &attr, atk_parked, NULL);
        if (*err != 0) {
            break;
        }
        started++;
    }
    pthread_attr_destroy(&attr);
    return started;
}

/* ---- Entry points for the common case ----------------------------------- */

static inline int atk_method_is(const char *method, size_t method_len, const char *name)
{
    return method != NULL && method_len == strlen(name) && memcmp(method, name, method_len) == 0;
}

/* An init that keeps the host table and does nothing else. */
#define ATK_DEFAULT_INIT()                                                                  \
    sbx_status sbx_plugin_init(const sbx_host_api *host, const uint8_t *config,            \
                               size_t config_len)                                          \
    {                                                                                       \
        (void)config;                                                                       \
        (void)config_len;                                                                   \
        atk_host = host;                                                                    \
        return SBX_OK;                                                                      \
    }

/* An init that keeps `host` and then lingers `ms` milliseconds: each process of the plugin
 * lives that long at least, so that the harness sees even one started only to die at once
 * (the restart cases count processes). */
#define ATK_LINGERING_INIT(ms)                                                              \
    sbx_status sbx_plugin_init(const sbx_host_api *host, const uint8_t *config,            \
                               size_t config_len)                                          \
    {                                                                                       \
        const struct timespec linger = {(ms) / 1000, ((ms) % 1000) * 1000000L};            \
        (void)config;                                                                       \
        (void)config_len;                                                                   \
        atk_host = host;                                                                    \
        nanosleep(&linger, NULL);                                                           \
        return SBX_OK;                                                                      \
    }

/* An invoke that answers "attack" with `fn(const atk_input *, atk_out *)` and
 * every other method with SBX_ERR_UNKNOWN_METHOD. */
#define ATK_DEFAULT_INVOKE(fn) ATK_METHOD_INVOKE("attack", fn)

/* An invoke that answers the method `name` with `fn(const atk_input *, atk_out *)` and
 * every other method with SBX_ERR_UNKNOWN_METHOD. */
#define ATK_METHOD_INVOKE(name, fn)                                                         \
    sbx_status sbx_plugin_invoke(const char *method, size_t method_len, const uint8_t *input, \
                                 size_t input_len, uint8_t *output, size_t output_cap,      \
                                 size_t *output_len)                                        \
    {                                                                                       \
        atk_input in = {input, input_len};                                                  \
        atk_out out;                                                                        \
        sbx_status status;                                                                  \
        if (!atk_method_is(method, method_len, name)) {                                     \
            *output_len = 0;                                                                \
            return SBX_ERR_UNKNOWN_METHOD;                                                  \
        }                                                                                   \
        atk_out_init(&out, output, output_cap);                                             \
        status = fn(&in, &out);                                                             \
        return atk_finish(&out, output_len, status);                                        \
    }

/* A shutdown that does nothing. */
#define ATK_DEFAULT_SHUTDOWN()                                                              \
    void sbx_plugin_shutdown(void)                                                          \
    {                                                                                       \
    }

/* A whole plugin whose attack runs in invoke. */
#define ATK_INVOKE_PLUGIN(fn)                                                               \
    SBX_DECLARE_PLUGIN_ABI();                                                               \
    ATK_DEFAULT_INIT()                                                                      \
    ATK_DEFAULT_INVOKE(fn)                                                                  \
    ATK_DEFAULT_SHUTDOWN()

#endif /* SBX_ATTACK_H */
