/*
 * load_missing_abi_symbol — defines init, invoke and shutdown but no
 * sbx_plugin_abi_version. A host that treats a missing version as "probably
 * fine" (or reads a NULL symbol) loads plugins built for nothing in particular.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_gained(out, "invoked without an ABI version symbol");
    return SBX_OK;
}

ATK_DEFAULT_INIT()
ATK_DEFAULT_INVOKE(attack)
ATK_DEFAULT_SHUTDOWN()
