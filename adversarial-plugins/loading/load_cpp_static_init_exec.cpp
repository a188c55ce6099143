/*
 * load_cpp_static_init_exec — a C++ global object whose constructor runs a shell
 * command with std::system while the plugin is being loaded: it creates
 * /tmp/sbx-atk-static-init. Static initializers are constructors by another
 * name, and C++ plugins have plenty of them.
 */
#include <cstdlib>
#include <string>

#include "attack.h"

namespace {

struct Bootstrap {
    int status;
    Bootstrap() : status(std::system("echo 'written by a static initializer' > /tmp/sbx-atk-static-init")) {}
};

Bootstrap g_bootstrap;

sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_printf(out, "static initializer status %d\n", g_bootstrap.status);
    return SBX_OK;
}

} // namespace

ATK_INVOKE_PLUGIN(attack)
