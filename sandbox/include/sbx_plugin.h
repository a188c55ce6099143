/*
 * sbx_plugin.h — Plugin ABI v1 of the sbx reference sandbox.
 *
 * This header is the whole contract between a plugin and its host. A plugin is a
 * shared object (`-shared -fPIC`) that exports the four symbols declared under
 * "Plugin exports" below. It runs in a separate, confined process (the runner):
 * it cannot open files, sockets or processes; everything it may do beyond
 * computing on its inputs goes through the host API table it receives in
 * `sbx_plugin_init`. Compiles as C11 and as C++17.
 *
 * Buffer ownership (the rule is: the caller owns every buffer it passes):
 *  - `sbx_plugin_init`: `config` is owned by the host and valid only during the call.
 *  - `sbx_plugin_invoke`: `method` and `input` are owned by the host and valid only
 *    during the call. `output` is a host buffer of `output_cap` bytes; the plugin
 *    writes at most `output_cap` bytes to it and stores the number written in
 *    `*output_len`. Claiming more than `output_cap` is a protocol violation: the
 *    host discards the output and reports SBX_ERR_PROTOCOL to the caller. If the
 *    answer does not fit, return SBX_ERR_BUFFER_TOO_SMALL and set `*output_len`
 *    to the size needed.
 *  - Host API calls: every pointer the plugin passes is read only during the call;
 *    every out-buffer is the plugin's and the host writes at most its capacity.
 *  - The host API table itself stays valid from `sbx_plugin_init` until
 *    `sbx_plugin_shutdown` returns. Never free anything the host gave you.
 *
 * Threads: the host calls the entry points from one thread, one call at a time.
 * A plugin may start threads of its own (within its thread limit). `log` may be
 * called from any plugin thread at any time; the other host services only from
 * the thread running an entry point, during that call (ABI v1).
 *
 * Exceptions and longjmp must not cross this boundary: C++ plugins catch
 * everything inside each entry point (an escaping exception terminates the
 * plugin process, which the host records as a crash).
 */
#ifndef SBX_PLUGIN_H
#define SBX_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI this header describes. A plugin exports it as `sbx_plugin_abi_version`;
 * the runner refuses a plugin whose value differs, before calling anything. */
#define SBX_ABI_VERSION 1u

#if defined(__GNUC__)
#define SBX_EXPORT __attribute__((visibility("default")))
#else
#define SBX_EXPORT
#endif

/* Status codes. Zero is success; every error is negative. Values are stable. */
typedef int32_t sbx_status;
#define SBX_OK 0
#define SBX_ERR_INVALID_ARGUMENT (-1)  /* an argument is malformed or out of range */
#define SBX_ERR_UNKNOWN_METHOD (-2)    /* invoke: no such method */
#define SBX_ERR_BUFFER_TOO_SMALL (-3)  /* an out-buffer is too small; *len holds the size needed */
#define SBX_ERR_INTERNAL (-4)          /* the plugin failed for its own reasons */
#define SBX_ERR_DENIED (-5)            /* host API: the capability is not granted (or was revoked) */
#define SBX_ERR_UNAVAILABLE (-6)       /* host API: the service exists but is not provided by this host */
#define SBX_ERR_LIMIT (-7)             /* host API: a quota or rate limit was reached */
#define SBX_ERR_NOT_FOUND (-8)         /* host API: no such key */
#define SBX_ERR_PROTOCOL (-9)          /* the channel to the host failed or a reply was malformed */

/* Log levels for sbx_host_api.log. */
typedef enum sbx_log_level {
    SBX_LOG_ERROR = 0,
    SBX_LOG_WARN = 1,
    SBX_LOG_INFO = 2,
    SBX_LOG_DEBUG = 3
} sbx_log_level;

/* Bounds the host enforces; larger arguments are refused with SBX_ERR_INVALID_ARGUMENT. */
#define SBX_MAX_METHOD_LEN 256u
#define SBX_MAX_LOG_LEN 4096u
#define SBX_MAX_KEY_LEN 128u
/* A value stored, a network request sent, and an answer returned: at most this. */
#define SBX_MAX_VALUE_LEN 262144u

/*
 * The host API table. `size` is sizeof(sbx_host_api) as the host built it:
 * a plugin compiled against a newer header checks `size` before using a slot
 * that an older host may not have. Every function takes the opaque `ctx`
 * first. Every slot is non-NULL; a service the host does not provide answers
 * SBX_ERR_UNAVAILABLE, one the plugin was not granted answers SBX_ERR_DENIED.
 */
typedef struct sbx_host_api {
    uint32_t abi_version; /* SBX_ABI_VERSION */
    uint32_t size;        /* sizeof(struct sbx_host_api) */
    void *ctx;            /* opaque; pass back unchanged: any other value is refused
                             with SBX_ERR_INVALID_ARGUMENT */

    /* Write one log record. `msg` need not be NUL-terminated; at most SBX_MAX_LOG_LEN bytes. */
    sbx_status (*log)(void *ctx, sbx_log_level level, const char *msg, size_t msg_len);

    /* Host services: capability-checked by the host on every call. */

    /* Read-only configuration: copy the value of `key` into `out`. */
    sbx_status (*config_get)(void *ctx, const char *key, size_t key_len, uint8_t *out,
                             size_t out_cap, size_t *out_len);
    /* Persistent key-value storage, private to the plugin, kept across restarts. */
    sbx_status (*storage_get)(void *ctx, const char *key, size_t key_len, uint8_t *out,
                              size_t out_cap, size_t *out_len);
    sbx_status (*storage_put)(void *ctx, const char *key, size_t key_len, const uint8_t *value,
                              size_t value_len);
    sbx_status (*storage_delete)(void *ctx, const char *key, size_t key_len);
    /* Network through the host, to an allowlisted destination ("host:port"). */
    sbx_status (*net_request)(void *ctx, const char *dest, size_t dest_len, const uint8_t *req,
                              size_t req_len, uint8_t *out, size_t out_cap, size_t *out_len);
    /* Wall-clock time in nanoseconds since the Unix epoch. */
    sbx_status (*clock_now)(void *ctx, uint64_t *unix_nanos);
    /* Show a short message to the user. */
    sbx_status (*notify_user)(void *ctx, const char *msg, size_t msg_len);

    /* Reserved for future services; never NULL, answer SBX_ERR_UNAVAILABLE. */
    sbx_status (*reserved[8])(void *ctx);
} sbx_host_api;

/* ---- Plugin exports ------------------------------------------------------ */

/* Must equal SBX_ABI_VERSION. Declared by SBX_DECLARE_PLUGIN_ABI() below. */
SBX_EXPORT extern const uint32_t sbx_plugin_abi_version;

/* Called once after loading. Keep `host` (valid until shutdown returns). */
SBX_EXPORT sbx_status sbx_plugin_init(const sbx_host_api *host, const uint8_t *config,
                                      size_t config_len);

/* Called for each request. See "Buffer ownership" above. */
SBX_EXPORT sbx_status sbx_plugin_invoke(const char *method, size_t method_len,
                                        const uint8_t *input, size_t input_len,
                                        uint8_t *output, size_t output_cap, size_t *output_len);

/* Called once before the process exits. Release what you hold. */
SBX_EXPORT void sbx_plugin_shutdown(void);

/* Defines the ABI version symbol with the right linkage and visibility. */
#ifdef __cplusplus
#define SBX_DECLARE_PLUGIN_ABI() \
    extern "C" SBX_EXPORT const uint32_t sbx_plugin_abi_version = SBX_ABI_VERSION
#else
#define SBX_DECLARE_PLUGIN_ABI() SBX_EXPORT const uint32_t sbx_plugin_abi_version = SBX_ABI_VERSION
#endif

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SBX_PLUGIN_H */
