/*
 * crash_cpp_static_init_throw — a global object whose constructor throws. Static
 * initializers run inside dlopen(), before the host has called anything; the
 * exception has no handler and std::terminate aborts the process in the middle of
 * loading. The host must record a crash at load, and survive.
 */
#include <stdexcept>
#include <string>

#include "attack.h"

namespace {

struct Registry {
    std::string name;
    Registry() : name("registry")
    {
        if (!name.empty()) {
            throw std::runtime_error("static initialization failed");
        }
    }
};

Registry g_registry;

sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_printf(out, "loaded %s\n", g_registry.name.c_str());
    return SBX_OK;
}

} // namespace

ATK_INVOKE_PLUGIN(attack)
