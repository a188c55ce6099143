/*
 * crash_cpp_terminate — calls std::terminate() through the usual route: an
 * exception thrown out of a noexcept function. libstdc++ prints the exception and
 * aborts (SIGABRT).
 */
#include <stdexcept>

#include "attack.h"

namespace {

volatile bool g_fail = true;

void must_not_throw() noexcept
{
    struct Thrower {
        static void run()
        {
            if (g_fail) {
                throw std::logic_error("thrown through noexcept");
            }
        }
    };
    Thrower::run();
}

sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    (void)out;
    must_not_throw();
    return SBX_OK;
}

} // namespace

ATK_INVOKE_PLUGIN(attack)
