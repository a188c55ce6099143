/*
 * template_c.c — a complete plugin in C11, to copy and adapt.
 *
 * A plugin is a shared object that exports exactly what sbx_plugin.h declares:
 * the ABI version symbol and three entry points. It runs in a confined runner
 * process: it cannot open files, sockets or processes, and reaches the outside
 * world only through the host API table it receives in sbx_plugin_init.
 *
 * This template answers three methods:
 *   echo     output = input
 *   reverse  output = input with its bytes in reverse order
 *   len      output = the input length as decimal text (e.g. "42")
 *
 * Build it like the suite does:
 *   cc -std=c11 -shared -fPIC -O2 -Wall -Wextra -Werror -I sandbox/include \
 *      -o template_c.so template_c.c
 */
#include <stdio.h>
#include <string.h>

#include "sbx_plugin.h"

/* Exports `sbx_plugin_abi_version`; the runner refuses a plugin built for another ABI. */
SBX_DECLARE_PLUGIN_ABI();

/* The host API table. It stays valid from sbx_plugin_init until
 * sbx_plugin_shutdown returns; the plugin must never free or modify it. */
static const sbx_host_api *g_host = NULL;

/* Sends one log line to the host. Logging is best effort: its status is ignored. */
static void log_line(sbx_log_level level, const char *msg)
{
    if (g_host != NULL) {
        (void)g_host->log(g_host->ctx, level, msg, strlen(msg));
    }
}

/* True when the method named by (method, method_len) is `name`. The method is
 * not NUL-terminated: always compare with its length. */
static int method_is(const char *method, size_t method_len, const char *name)
{
    return method_len == strlen(name) && memcmp(method, name, method_len) == 0;
}

/* Copies `len` bytes to the output, or reports how much room is needed.
 * This is the buffer rule of the ABI: write at most output_cap bytes, and when
 * the answer does not fit, return SBX_ERR_BUFFER_TOO_SMALL with *output_len set
 * to the size needed, so the host can call again with a bigger buffer. */
static sbx_status answer(const uint8_t *data, size_t len, uint8_t *output, size_t output_cap,
                         size_t *output_len)
{
    *output_len = len;
    if (len > output_cap) {
        return SBX_ERR_BUFFER_TOO_SMALL;
    }
    if (len > 0) {
        memcpy(output, data, len);
    }
    return SBX_OK;
}

sbx_status sbx_plugin_init(const sbx_host_api *host, const uint8_t *config, size_t config_len)
{
    /* `config` belongs to the host and is valid only during this call: copy what
     * you need from it. This template has no configuration. */
    (void)config;
    (void)config_len;

    /* A host built from a different header would announce another version. */
    if (host == NULL || host->abi_version != SBX_ABI_VERSION) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    g_host = host;
    log_line(SBX_LOG_INFO, "template_c ready");
    return SBX_OK;
}

sbx_status sbx_plugin_invoke(const char *method, size_t method_len, const uint8_t *input,
                             size_t input_len, uint8_t *output, size_t output_cap,
                             size_t *output_len)
{
    /* Every path sets *output_len: zero unless the method says otherwise. */
    *output_len = 0;

    if (method_is(method, method_len, "echo")) {
        return answer(input, input_len, output, output_cap, output_len);
    }

    if (method_is(method, method_len, "reverse")) {
        *output_len = input_len;
        if (input_len > output_cap) {
            return SBX_ERR_BUFFER_TOO_SMALL;
        }
        for (size_t i = 0; i < input_len; i++) {
            output[i] = input[input_len - 1 - i];
        }
        return SBX_OK;
    }

    if (method_is(method, method_len, "len")) {
        char text[32];
        int n = snprintf(text, sizeof text, "%zu", input_len);
        if (n < 0) {
            return SBX_ERR_INTERNAL;
        }
        return answer((const uint8_t *)text, (size_t)n, output, output_cap, output_len);
    }

    return SBX_ERR_UNKNOWN_METHOD;
}

void sbx_plugin_shutdown(void)
{
    /* Release what the plugin holds. The host table may still be used until this
     * function returns; this template holds nothing and logs nothing. */
    g_host = NULL;
}
