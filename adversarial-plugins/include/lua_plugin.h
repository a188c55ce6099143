/*
 * lua_plugin.h — a plugin that embeds Lua 5.4 (Debian's liblua5.4) the way applications
 * embed a scripting language: every standard library opened (`io` and `os` included, as a
 * naive embedding does: the sandbox, not the embedding, must contain what a script does),
 * the host's services exposed to scripts through a `host` table whose functions call the
 * sbx host API (so the host's broker still checks each call), and the script of the
 * including file run by sbx_plugin_invoke.
 *
 * The including file defines LUA_PLUGIN_SCRIPT (the script's text), and LUA_PLUGIN_METHOD
 * when its method is not "run", and includes this header: it is then a whole plugin. A script sees the call's
 * parameters (the input's key=value lines) as the table `params`, may call
 * `gained(text)` to report a privilege it held (a GAINED line), and answers what it
 * returns, as a string. A script's error is answered as "lua error: ..." with
 * SBX_ERR_INTERNAL; an allocation Lua cannot make is such an error ("not enough memory").
 * Link with -llua5.4.
 */
#ifndef SBX_LUA_PLUGIN_H
#define SBX_LUA_PLUGIN_H

#include "attack.h"

#include <lua5.4/lauxlib.h>
#include <lua5.4/lua.h>
#include <lua5.4/lualib.h>

/* The plugin's method: "run", or what the including file defines ("attack" for the
 * hostile scripts of the suite). */
#ifndef LUA_PLUGIN_METHOD
#define LUA_PLUGIN_METHOD "run"
#endif

#ifndef LUA_PLUGIN_SCRIPT
/* Included without a script (the build checks each header alone): a call says so. */
#define LUA_PLUGIN_SCRIPT "error('no script: define LUA_PLUGIN_SCRIPT before lua_plugin.h')"
#endif

/* The answer being built by the call in progress (`gained` writes into it). */
static atk_out *lua_plugin_out;

/* A host service that reads the value of a key (config_get, storage_get). */
typedef sbx_status (*lua_plugin_getter)(void *ctx, const char *key, size_t key_len,
                                        uint8_t *out, size_t out_cap, size_t *out_len);

/* Calls `get` with the script's key: the value (or nil) and the service's status. */
static int lua_plugin_get(lua_State *L, lua_plugin_getter get)
{
    size_t key_len = 0;
    const char *key = luaL_checklstring(L, 1, &key_len);
    uint8_t buf[1024];
    size_t len = 0;
    sbx_status status = get(atk_host->ctx, key, key_len, buf, sizeof buf, &len);
    if (status == SBX_OK) {
        lua_pushlstring(L, (const char *)buf, len < sizeof buf ? len : sizeof buf);
    } else {
        lua_pushnil(L);
    }
    lua_pushinteger(L, status);
    return 2;
}

static int lua_plugin_log(lua_State *L)
{
    size_t len = 0;
    const char *msg = luaL_checklstring(L, 1, &len);
    lua_pushinteger(L, atk_host->log(atk_host->ctx, SBX_LOG_INFO, msg, len));
    return 1;
}

static int lua_plugin_config(lua_State *L)
{
    return lua_plugin_get(L, atk_host->config_get);
}

static int lua_plugin_storage_get(lua_State *L)
{
    return lua_plugin_get(L, atk_host->storage_get);
}

static int lua_plugin_storage_put(lua_State *L)
{
    size_t key_len = 0;
    size_t value_len = 0;
    const char *key = luaL_checklstring(L, 1, &key_len);
    const char *value = luaL_checklstring(L, 2, &value_len);
    lua_pushinteger(L, atk_host->storage_put(atk_host->ctx, key, key_len, (const uint8_t *)value,
                                             value_len));
    return 1;
}

static int lua_plugin_notify(lua_State *L)
{
    size_t len = 0;
    const char *msg = luaL_checklstring(L, 1, &len);
    lua_pushinteger(L, atk_host->notify_user(atk_host->ctx, msg, len));
    return 1;
}

static int lua_plugin_clock(lua_State *L)
{
    uint64_t now = 0;
    sbx_status status = atk_host->clock_now(atk_host->ctx, &now);
    if (status == SBX_OK) {
        lua_pushinteger(L, (lua_Integer)now);
    } else {
        lua_pushnil(L);
    }
    lua_pushinteger(L, status);
    return 2;
}

static int lua_plugin_gained(lua_State *L)
{
    const char *what = luaL_checkstring(L, 1);
    atk_gained(lua_plugin_out, "lua: %s", what);
    return 0;
}

/* The `params` table: the input's key=value lines. */
static void lua_plugin_params(lua_State *L, const atk_input *in)
{
    lua_newtable(L);
    size_t pos = 0;
    while (pos < in->len) {
        const char *line = (const char *)in->data + pos;
        size_t len = 0;
        while (pos + len < in->len && line[len] != '\n') {
            len++;
        }
        const char *eq = (const char *)memchr(line, '=', len);
        if (eq != NULL) {
            lua_pushlstring(L, line, (size_t)(eq - line));
            lua_pushlstring(L, eq + 1, len - (size_t)(eq - line) - 1);
            lua_settable(L, -3);
        }
        pos += len + 1;
    }
    lua_setglobal(L, "params");
}

static sbx_status lua_plugin_run(const atk_input *in, atk_out *out)
{
    static const luaL_Reg host[] = {
        {"log", lua_plugin_log},
        {"config", lua_plugin_config},
        {"storage_get", lua_plugin_storage_get},
        {"storage_put", lua_plugin_storage_put},
        {"notify", lua_plugin_notify},
        {"clock", lua_plugin_clock},
        {NULL, NULL},
    };
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        atk_printf(out, "lua error: no state");
        return SBX_ERR_INTERNAL;
    }
    lua_plugin_out = out;
    luaL_openlibs(L);
    luaL_newlib(L, host);
    lua_setglobal(L, "host");
    lua_pushcfunction(L, lua_plugin_gained);
    lua_setglobal(L, "gained");
    lua_plugin_params(L, in);
    static const char script[] = LUA_PLUGIN_SCRIPT;
    sbx_status status = SBX_OK;
    if (luaL_loadbuffer(L, script, sizeof script - 1, "script") != LUA_OK ||
        lua_pcall(L, 0, 1, 0) != LUA_OK) {
        atk_printf(out, "lua error: %s", lua_tostring(L, -1));
        status = SBX_ERR_INTERNAL;
    } else {
        size_t len = 0;
        const char *answer = luaL_tolstring(L, -1, &len);
        atk_put(out, answer, len);
    }
    lua_close(L);
    lua_plugin_out = NULL;
    return status;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE(LUA_PLUGIN_METHOD, lua_plugin_run)
ATK_DEFAULT_SHUTDOWN()

#endif /* SBX_LUA_PLUGIN_H */
