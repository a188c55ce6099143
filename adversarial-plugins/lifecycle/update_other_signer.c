/*
 * update_other_signer — a new version (1.1.0) of update_installed signed by a key the
 * trust store does not hold (package = "update_other_signer"). It must be refused as any
 * load of it would be: if it runs, its init overwrites the plugin's state and it answers
 * with its own version.
 */
#include "attack.h"
#include "update.h"

UPD_ANSWER("1.1.0")

SBX_DECLARE_PLUGIN_ABI();
UPD_OVERWRITING_INIT("overwritten by 1.1.0 of another signer", SBX_OK)
ATK_DEFAULT_INVOKE(upd_attack)
ATK_DEFAULT_SHUTDOWN()
