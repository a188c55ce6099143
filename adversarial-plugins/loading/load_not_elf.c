/*
 * load_not_elf — this source text itself, copied as the plugin's .so (artifact
 * "source_text"): a file that is not an ELF object at all, as a corrupted
 * download or a mix-up delivers. The loader must refuse it cleanly and the host
 * must report a load failure, not crash on it.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_printf(out, "a text file was loaded as code\n");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
