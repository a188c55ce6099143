/*
 * unhardened.h — what the `load_unhardened_*` plugins share: each is a plugin built without
 * one exploit mitigation (its metadata's extra_cflags undo one of the suite's hardening
 * flags) and with every other. A host whose policy requires the mitigations must refuse it,
 * naming the one it lacks, before any of its code runs. That its code ran at all is what it
 * reports as gained (the harm is the policy's breach, however well the rest confines it),
 * and it reads the secret if it can. So that the mitigation it lacks is the only one a
 * check can find missing, its code leaves the marks of the others: a local array a stack
 * protector guards, formatted into with snprintf, which FORTIFY turns into __snprintf_chk.
 */
#ifndef SBX_UNHARDENED_H
#define SBX_UNHARDENED_H

#include "attack.h"

#include <stdio.h>

/* Reports that it ran, built without `lacks`, and reads the secret. */
static inline sbx_status unhardened_attack(const atk_input *in, atk_out *out, const char *lacks)
{
    char secret[4096];
    char line[128];
    if (!atk_param(in, "secret_path", secret, sizeof secret)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    int n = snprintf(line, sizeof line, "ran though built without %s", lacks);
    atk_gained(out, "%.*s", n > 0 ? n : 0, line);
    atk_cat(out, "secret", secret);
    return SBX_OK;
}

/* The whole plugin, lacking mitigation `lacks` (its name in a policy). */
#define UNHARDENED_PLUGIN(lacks)                                                            \
    static sbx_status attack(const atk_input *in, atk_out *out)                            \
    {                                                                                       \
        return unhardened_attack(in, out, lacks);                                          \
    }                                                                                       \
    SBX_DECLARE_PLUGIN_ABI();                                                               \
    ATK_DEFAULT_INIT()                                                                      \
    ATK_DEFAULT_INVOKE(attack)                                                              \
    ATK_DEFAULT_SHUTDOWN()

#endif
