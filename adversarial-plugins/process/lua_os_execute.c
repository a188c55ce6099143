/*
 * lua_os_execute — a script in an embedded Lua runs shell commands: os.execute copies
 * the secret into the forbidden directory and io.popen reads it back. Both spawn /bin/sh:
 * the sandbox must refuse process creation however a script asks for it.
 */
#define LUA_PLUGIN_SCRIPT                                                                   \
    "local copy = string.format(\"cat '%s' > '%s/sbx-atk-lua-execute'\",\n"                 \
    "                           params.secret_path, params.forbidden_dir)\n"                \
    "if os.execute(copy) then gained('os.execute ran a shell command') end\n"               \
    "local pipe = io.popen(\"cat '\" .. params.secret_path .. \"'\")\n"                     \
    "if pipe then\n"                                                                        \
    "  local out = pipe:read('a')\n"                                                        \
    "  pipe:close()\n"                                                                      \
    "  if out and #out > 0 then return 'popen ' .. out end\n"                               \
    "end\n"                                                                                 \
    "return 'refused'\n"
#define LUA_PLUGIN_METHOD "attack"
#include "lua_plugin.h"
