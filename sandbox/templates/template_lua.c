/*
 * template_lua.c — a plugin that embeds Lua 5.4 with discipline, to copy and adapt.
 *
 * A plugin that runs scripts is still a plugin: the sandbox confines its process
 * whatever a script does. The embedding adds its own discipline on top, so that a script
 * fails in the interpreter, with a message, before it ever reaches the sandbox's limits:
 *   - only the libraries a script needs are opened: base (without dofile, loadfile and
 *     load, so no code is loaded from elsewhere), string, table, math, utf8, coroutine;
 *     not io, os, package or debug;
 *   - its memory is bounded by the allocator (SCRIPT_MEMORY bytes): past it, an
 *     allocation fails and Lua raises "not enough memory";
 *   - its instructions are bounded by a count hook (SCRIPT_STEPS): past it, the script is
 *     stopped with an error it cannot catch (time inside one C function, such as a costly
 *     pattern match, is left to the sandbox's CPU limit);
 *   - it reaches the host only through the `host` table, whose functions call the host
 *     API, which the host checks like any native call (here: host.log).
 *
 * Method:
 *   run   input = a Lua chunk; output = what it returns, as a string
 *         ("lua error: ..." with SBX_ERR_INVALID_ARGUMENT when it fails)
 *
 * Build it like the suite does (Debian: liblua5.4-dev):
 *   cc -std=c11 -shared -fPIC -O2 -Wall -Wextra -Werror -I sandbox/include \
 *      -o template_lua.so template_lua.c -llua5.4
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua5.4/lauxlib.h>
#include <lua5.4/lua.h>
#include <lua5.4/lualib.h>

#include "sbx_plugin.h"

SBX_DECLARE_PLUGIN_ABI();

/* The most memory one script may hold. */
#define SCRIPT_MEMORY ((size_t)64 << 20)
/* The most VM instructions one script may run (checked every STEP_CHECK of them). */
#define SCRIPT_STEPS 50000000L
#define STEP_CHECK 10000

static const sbx_host_api *g_host = NULL;

/* The allocator's account: bytes held by the running script's state. */
typedef struct {
    size_t used;
} budget;

/* lua_Alloc with a ceiling: refusing an allocation makes Lua raise "not enough memory". */
static void *bounded_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    budget *b = (budget *)ud;
    size_t old = ptr != NULL ? old_size : 0;
    if (new_size == 0) {
        free(ptr);
        b->used -= old;
        return NULL;
    }
    if (new_size > old && b->used + (new_size - old) > SCRIPT_MEMORY) {
        return NULL;
    }
    void *moved = realloc(ptr, new_size);
    if (moved != NULL) {
        b->used = b->used - old + new_size;
    }
    return moved;
}

/* Stops a script that has run SCRIPT_STEPS instructions. Past the bound the hook fires on
 * every instruction and raises each time, so a script that catches the error (pcall in a
 * loop) cannot run on: every instruction of its handler raises again. (Time spent inside
 * one C function, a costly pattern match, is not counted: the sandbox's CPU limit bounds
 * it.) */
static void step_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_getfield(L, LUA_REGISTRYINDEX, "template_lua.steps");
    lua_Integer steps = lua_tointeger(L, -1) + STEP_CHECK;
    lua_pop(L, 1);
    lua_pushinteger(L, steps);
    lua_setfield(L, LUA_REGISTRYINDEX, "template_lua.steps");
    if (steps > SCRIPT_STEPS) {
        lua_sethook(L, step_hook, LUA_MASKCOUNT, 1);
        luaL_error(L, "the script ran more than %d instructions", (int)SCRIPT_STEPS);
    }
}

/* The script's answer as a string, under protection: a __tostring that raises or answers
 * something else is the script's error, not a panic of the plugin. */
static int answer_text(lua_State *L)
{
    luaL_tolstring(L, 1, NULL);
    return 1;
}

/* host.log(text): one log record through the host, whose status it returns. */
static int host_log(lua_State *L)
{
    size_t len = 0;
    const char *msg = luaL_checklstring(L, 1, &len);
    lua_pushinteger(L, g_host->log(g_host->ctx, SBX_LOG_INFO, msg, len));
    return 1;
}

/* Opens the libraries a script may use, and the `host` table. */
static void open_libraries(lua_State *L)
{
    static const luaL_Reg safe[] = {
        {LUA_GNAME, luaopen_base},        {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table},  {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8}, {LUA_COLIBNAME, luaopen_coroutine},
    };
    for (size_t i = 0; i < sizeof safe / sizeof safe[0]; i++) {
        luaL_requiref(L, safe[i].name, safe[i].func, 1);
        lua_pop(L, 1);
    }
    /* Nothing that loads code from a file or a string. */
    static const char *const removed[] = {"dofile", "loadfile", "load"};
    for (size_t i = 0; i < sizeof removed / sizeof removed[0]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, removed[i]);
    }
    static const luaL_Reg host[] = {{"log", host_log}, {NULL, NULL}};
    luaL_newlib(L, host);
    lua_setglobal(L, "host");
}

/* Runs one script; its answer (or its error) goes into out, within out_cap. */
static sbx_status run(const uint8_t *script, size_t script_len, uint8_t *output,
                      size_t output_cap, size_t *output_len)
{
    budget b = {0};
    lua_State *L = lua_newstate(bounded_alloc, &b);
    if (L == NULL) {
        return SBX_ERR_INTERNAL;
    }
    open_libraries(L);
    lua_sethook(L, step_hook, LUA_MASKCOUNT, STEP_CHECK);
    sbx_status status = SBX_OK;
    const char *text = NULL;
    size_t len = 0;
    /* "t": text chunks only; precompiled bytecode is not verified by Lua. */
    int failed = luaL_loadbufferx(L, (const char *)script, script_len, "script", "t") != LUA_OK ||
                 lua_pcall(L, 0, 1, 0) != LUA_OK;
    if (!failed) {
        lua_pushcfunction(L, answer_text);
        lua_insert(L, -2);
        failed = lua_pcall(L, 1, 1, 0) != LUA_OK;
    }
    if (failed) {
        const char *why = lua_tostring(L, -1);
        lua_pushfstring(L, "lua error: %s", why != NULL ? why : "(an error that is not text)");
        status = SBX_ERR_INVALID_ARGUMENT;
    }
    text = lua_tolstring(L, -1, &len);
    *output_len = len;
    if (len > output_cap) {
        status = status == SBX_OK ? SBX_ERR_BUFFER_TOO_SMALL : status;
        len = output_cap;
    }
    memcpy(output, text, len);
    lua_close(L);
    return status;
}

sbx_status sbx_plugin_init(const sbx_host_api *host, const uint8_t *config, size_t config_len)
{
    (void)config;
    (void)config_len;
    if (host == NULL || host->abi_version != SBX_ABI_VERSION) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    g_host = host;
    return SBX_OK;
}

sbx_status sbx_plugin_invoke(const char *method, size_t method_len, const uint8_t *input,
                             size_t input_len, uint8_t *output, size_t output_cap,
                             size_t *output_len)
{
    *output_len = 0;
    if (method_len != 3 || memcmp(method, "run", 3) != 0) {
        return SBX_ERR_UNKNOWN_METHOD;
    }
    return run(input, input_len, output, output_cap, output_len);
}

void sbx_plugin_shutdown(void)
{
    g_host = NULL;
}
