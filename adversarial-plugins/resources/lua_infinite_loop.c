/*
 * lua_infinite_loop — a script in an embedded Lua loops forever inside the call and never
 * answers. The sandbox's deadlines and CPU bounds must end a script as they end native
 * code.
 */
#define LUA_PLUGIN_SCRIPT "while true do end\n"
#define LUA_PLUGIN_METHOD "attack"
#include "lua_plugin.h"
