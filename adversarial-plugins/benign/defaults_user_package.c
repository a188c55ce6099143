/*
 * defaults_user_package — benign, loaded as a signed package under a policy that leaves the
 * storage quota, the key bound and the host call and log rates to the sandbox's own
 * defaults: stores a 64 KiB value and reads it back whole, writes eight log records of a
 * kilobyte each at once, then answers its input. A sandbox's defaults are what an operator
 * who names no limit gets: they must serve a modest honest plugin.
 */
#include "attack.h"

#include <stdio.h>
#include <string.h>

#define VALUE_LEN (64u * 1024u)
#define RECORDS 8
#define RECORD_LEN 1024

static uint8_t value[VALUE_LEN];
static uint8_t read_back[VALUE_LEN];

static sbx_status store_and_read(atk_out *out)
{
    static const char key[] = "defaults";
    size_t len = 0;
    sbx_status status;
    for (size_t i = 0; i < VALUE_LEN; i++) {
        value[i] = (uint8_t)('a' + i % 26);
    }
    status = atk_host->storage_put(atk_host->ctx, key, sizeof key - 1, value, VALUE_LEN);
    if (status != SBX_OK) {
        atk_printf(out, "storing %u bytes answered %d", VALUE_LEN, status);
        return status;
    }
    status = atk_host->storage_get(atk_host->ctx, key, sizeof key - 1, read_back, VALUE_LEN,
                                   &len);
    if (status != SBX_OK || len != VALUE_LEN || memcmp(value, read_back, VALUE_LEN) != 0) {
        atk_printf(out, "reading the value back answered %d, %zu bytes", status, len);
        return status == SBX_OK ? SBX_ERR_INTERNAL : status;
    }
    return SBX_OK;
}

static sbx_status log_records(atk_out *out)
{
    char line[RECORD_LEN];
    for (int i = 1; i <= RECORDS; i++) {
        int n = snprintf(line, sizeof line, "defaults_user_package record %d of %d ", i, RECORDS);
        if (n < 0) {
            return SBX_ERR_INTERNAL;
        }
        memset(line + n, '.', sizeof line - (size_t)n);
        if (atk_host->log(atk_host->ctx, SBX_LOG_INFO, line, sizeof line) != SBX_OK) {
            atk_printf(out, "log record %d refused", i);
            return SBX_ERR_INTERNAL;
        }
    }
    return SBX_OK;
}

static sbx_status use_defaults(const atk_input *in, atk_out *out)
{
    sbx_status status;
    if (atk_host == NULL) {
        return SBX_ERR_INTERNAL;
    }
    status = store_and_read(out);
    if (status != SBX_OK) {
        return status;
    }
    status = log_records(out);
    if (status != SBX_OK) {
        return status;
    }
    return atk_echo(in, out);
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE("use", use_defaults)
ATK_DEFAULT_SHUTDOWN()
