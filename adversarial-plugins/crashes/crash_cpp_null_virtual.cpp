/*
 * crash_cpp_null_virtual — calls a virtual method through a null object pointer
 * (loading the vtable faults: SIGSEGV), the typical use-after-reset bug of C++
 * plugin code.
 */
#include "attack.h"

namespace atk_null_virtual {

struct Shape {
    int corners = 3;
    virtual ~Shape() = default;
    virtual int sides() const { return corners; }
};

Shape *volatile g_shape = nullptr;

} // namespace atk_null_virtual

namespace {

sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_printf(out, "sides %d\n", atk_null_virtual::g_shape->sides());
    return SBX_OK;
}

} // namespace

ATK_INVOKE_PLUGIN(attack)
