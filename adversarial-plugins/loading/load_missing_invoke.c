/*
 * load_missing_invoke — exports the ABI version, init and shutdown, but no
 * sbx_plugin_invoke. A host that only looks symbols up when first needed calls
 * through a NULL pointer in the middle of its first request.
 */
#include "attack.h"

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_DEFAULT_SHUTDOWN()
