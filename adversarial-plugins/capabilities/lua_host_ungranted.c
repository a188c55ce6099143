/*
 * lua_host_ungranted — a script in an embedded Lua calls every host service its plugin
 * was not granted (configuration, storage, notifications, the clock) through the
 * embedding's wrappers. Each must be refused by the host's broker, as a native call is;
 * an answer of SBX_OK is a capability the script was never given.
 */
#define LUA_PLUGIN_SCRIPT                                                                   \
    "local answers = {}\n"                                                                  \
    "local function try(name, status)\n"                                                    \
    "  if status == 0 then gained(name .. ' answered SBX_OK without a grant') end\n"        \
    "  answers[#answers + 1] = name .. '=' .. tostring(status)\n"                           \
    "end\n"                                                                                 \
    "try('config', select(2, host.config('greeting')))\n"                                   \
    "try('storage_put', host.storage_put('sbx-atk-lua', 'v'))\n"                            \
    "try('storage_get', select(2, host.storage_get('sbx-atk-lua')))\n"                      \
    "try('notify', host.notify('sbx-atk lua notification'))\n"                              \
    "try('clock', select(2, host.clock()))\n"                                               \
    "return table.concat(answers, ' ')\n"
#define LUA_PLUGIN_METHOD "attack"
#include "lua_plugin.h"
