/*
 * lua_memory_hog — a script in an embedded Lua keeps distinct 1 MiB strings until an
 * allocation fails (Lua raises "not enough memory", which the script catches), then lets
 * them go. The sandbox's memory bound must hold a script as it holds native code.
 */
#define LUA_PLUGIN_SCRIPT                                                                   \
    "local kept = {}\n"                                                                     \
    "local chunk = string.rep('x', 1 << 20)\n"                                              \
    "local ok, err = pcall(function()\n"                                                    \
    "  for i = 1, 1 << 20 do kept[i] = chunk .. i end\n"                                    \
    "end)\n"                                                                                \
    "local held = #kept\n"                                                                  \
    "kept = nil\n"                                                                          \
    "collectgarbage()\n"                                                                    \
    "return string.format('held %d MiB, then: %s', held, tostring(err))\n"
#define LUA_PLUGIN_METHOD "attack"
#include "lua_plugin.h"
