/*
 * leak_own_environ — looks for secrets in the runner's own environment, in
 * memory (the environ array, no system call at all): the variable named by
 * token_env and anything that looks like a key, token, password or secret. A
 * runner started with the host's environment hands those to the plugin for
 * free; it must start from an empty or scrubbed environment.
 */
#include "attack.h"

extern char **environ;

static int looks_secret(const char *entry)
{
    static const char *const words[] = {"TOKEN", "SECRET", "PASSWORD", "KEY", "CANARY"};
    const char *end = strchr(entry, '=');
    size_t len = end != NULL ? (size_t)(end - entry) : strlen(entry);
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
        size_t wl = strlen(words[w]);
        for (size_t i = 0; i + wl <= len; i++) {
            if (strncmp(entry + i, words[w], wl) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char name[256];
    int found = 0;
    if (!atk_param(in, "token_env", name, sizeof name)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    const char *token = getenv(name);
    if (token != NULL) {
        atk_printf(out, "token: %s=%s\n", name, token);
        found = 1;
    }
    for (char **e = environ; e != NULL && *e != NULL; e++) {
        if (looks_secret(*e)) {
            atk_printf(out, "%s\n", *e);
            found = 1;
        }
    }
    return found ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
