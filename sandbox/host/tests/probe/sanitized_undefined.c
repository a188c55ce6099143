/*
 * sanitized_undefined.c — the development mode's test of a plugin built with UBSan:
 * "overflow" adds the input's length to INT_MAX, a signed overflow UBSan reports (on the
 * runner's stderr, which the development mode hands to the host) and goes on from.
 */
#include <limits.h>
#include <string.h>

#include "sbx_plugin.h"

SBX_DECLARE_PLUGIN_ABI();

sbx_status sbx_plugin_init(const sbx_host_api *host, const uint8_t *config, size_t config_len)
{
    (void)host;
    (void)config;
    (void)config_len;
    return SBX_OK;
}

sbx_status sbx_plugin_invoke(const char *method, size_t method_len, const uint8_t *input,
                             size_t input_len, uint8_t *output, size_t output_cap,
                             size_t *output_len)
{
    (void)input;
    (void)output_cap;
    if (method_len != strlen("overflow") || memcmp(method, "overflow", method_len) != 0) {
        *output_len = 0;
        return SBX_ERR_UNKNOWN_METHOD;
    }
    volatile int most = INT_MAX;
    int sum = most + (int)input_len;
    output[0] = (uint8_t)sum;
    *output_len = 1;
    return SBX_OK;
}

void sbx_plugin_shutdown(void)
{
}
