/*
 * update_downgrade — an older version (0.9.0) of update_installed, validly signed by its
 * publisher, offered in its place (package = "update_downgrade") under a policy that
 * allows no downgrade: the way back to a version with known holes. It must be refused:
 * if it runs, its init overwrites the plugin's state and it answers as 0.9.0.
 */
#include "attack.h"
#include "update.h"

UPD_ANSWER("0.9.0")

SBX_DECLARE_PLUGIN_ABI();
UPD_OVERWRITING_INIT("overwritten by 0.9.0, a downgrade", SBX_OK)
ATK_DEFAULT_INVOKE(upd_attack)
ATK_DEFAULT_SHUTDOWN()
