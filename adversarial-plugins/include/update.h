/*
 * update.h — the versions of one plugin that the update cases install and offer
 * (package = "update_*"). Every version keeps one storage value, `state`, and answers
 * "attack" with its version and the state it finds:
 *
 *     sbx-update version=<version> state=<state>
 *
 * The installed version (benign/update_installed) stores the token its init is given
 * when nothing is stored yet. A version that must not be kept (one that fails, one
 * that must be refused) overwrites the state in its init, as a faulty migration
 * would: after the update the harness reads which version answers, and whether the
 * state is still the installed version's token.
 *
 * Include after attack.h.
 */
#ifndef SBX_UPDATE_H
#define SBX_UPDATE_H

#include "attack.h"

#define UPD_STATE_KEY "state"

/* The largest state any version stores. */
#define UPD_STATE_MAX 256

/* Answers with `version` and the state stored now. */
static inline sbx_status upd_answer(const char *version, atk_out *out)
{
    uint8_t state[UPD_STATE_MAX];
    size_t len = 0;
    sbx_status status = atk_host->storage_get(atk_host->ctx, UPD_STATE_KEY,
                                              sizeof UPD_STATE_KEY - 1, state, sizeof state, &len);
    if (status != SBX_OK) {
        atk_printf(out, "sbx-update version=%s state=(storage_get: %d)", version, status);
        return SBX_OK;
    }
    atk_printf(out, "sbx-update version=%s state=%.*s", version,
               (int)(len < sizeof state ? len : sizeof state), (const char *)state);
    return SBX_OK;
}

/* Overwrites the stored state with `text`, as a faulty migration does. */
static inline void upd_overwrite(const char *text)
{
    atk_host->storage_put(atk_host->ctx, UPD_STATE_KEY, sizeof UPD_STATE_KEY - 1,
                          (const uint8_t *)text, strlen(text));
}

/* A version's "attack": its version and the state it finds. */
#define UPD_ANSWER(version)                                                                 \
    static sbx_status upd_attack(const atk_input *in, atk_out *out)                         \
    {                                                                                       \
        (void)in;                                                                           \
        return upd_answer((version), out);                                                  \
    }

/* An init that overwrites the state with `text`, as a faulty migration does, then returns
 * `status`. */
#define UPD_OVERWRITING_INIT(text, status)                                                  \
    sbx_status sbx_plugin_init(const sbx_host_api *host, const uint8_t *config,            \
                               size_t config_len)                                          \
    {                                                                                       \
        (void)config;                                                                       \
        (void)config_len;                                                                   \
        atk_host = host;                                                                    \
        upd_overwrite(text);                                                                \
        return (status);                                                                    \
    }

#endif /* SBX_UPDATE_H */
