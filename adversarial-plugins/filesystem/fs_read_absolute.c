/*
 * fs_read_absolute — opens the canary secret by its absolute path and returns its
 * bytes. The most direct attack on file system containment: a confined plugin
 * must not open any file outside its allowed area, whatever path it names.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char path[4096];
    if (!atk_param(in, "secret_path", path, sizeof path)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    return atk_cat(out, "secret", path) ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
