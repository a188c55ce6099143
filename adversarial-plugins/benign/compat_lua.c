/*
 * compat_lua — an honest script in an embedded interpreter (Lua 5.4): string patterns,
 * tables sorted by a closure, a coroutine, string.format, and a log record through the
 * host's service (checked by the broker like a native call). Answers the three most
 * frequent words of a fixed text with their counts. A sandbox must let a plugin run a
 * scripting language.
 */
#define LUA_PLUGIN_SCRIPT                                                                   \
    "local text = 'the quick fox and the lazy dog and the cat'\n"                           \
    "local counts = {}\n"                                                                   \
    "for word in text:gmatch('%a+') do counts[word] = (counts[word] or 0) + 1 end\n"        \
    "local words = {}\n"                                                                    \
    "for word in pairs(counts) do words[#words + 1] = word end\n"                           \
    "table.sort(words, function(a, b)\n"                                                    \
    "  if counts[a] ~= counts[b] then return counts[a] > counts[b] end\n"                   \
    "  return a < b\n"                                                                      \
    "end)\n"                                                                                \
    "local top = coroutine.wrap(function()\n"                                               \
    "  for i = 1, 3 do coroutine.yield(string.format('%s=%d', words[i], counts[words[i]])) end\n" \
    "end)\n"                                                                                \
    "local answer = table.concat({top(), top(), top()}, ' ')\n"                             \
    "assert(host.log('counted ' .. #words .. ' words') == 0, 'the log service refused')\n"  \
    "return answer\n"
#include "lua_plugin.h"
