/*
 * lua_io_read_secret — a script in an embedded Lua reads the canary secret with io.open
 * and returns it. The embedding opened Lua's io library, as naive ones do: the sandbox
 * must contain a script's file access as it contains native code's.
 */
#define LUA_PLUGIN_SCRIPT                                                                   \
    "local f, err = io.open(params.secret_path, 'r')\n"                                     \
    "if not f then return 'refused: ' .. tostring(err) end\n"                               \
    "local secret = f:read('a')\n"                                                          \
    "f:close()\n"                                                                           \
    "return 'secret ' .. secret\n"
#define LUA_PLUGIN_METHOD "attack"
#include "lua_plugin.h"
