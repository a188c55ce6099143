/*
 * crash_cpp_exception_escape — lets a std::runtime_error escape
 * sbx_plugin_invoke. The C ABI has no exceptions: the unwinder runs into the
 * host's frames (C or Rust, which abort on a foreign exception) or finds no
 * handler and calls std::terminate. The host must see a crash, and survive it.
 */
#include <stdexcept>
#include <string>

#include "attack.h"

namespace {

sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)out;
    throw std::runtime_error("escaping the C ABI with " + std::to_string(in->len) + " bytes of input");
}

} // namespace

ATK_INVOKE_PLUGIN(attack)
