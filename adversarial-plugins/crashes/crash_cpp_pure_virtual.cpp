/*
 * crash_cpp_pure_virtual — calls a pure virtual function from a base-class
 * constructor (through a helper, so the compiler cannot see it). While the base
 * constructor runs, the object's vtable is the abstract base's: libstdc++ prints
 * "pure virtual method called" and terminates.
 */
#include "attack.h"

namespace atk_pure_virtual {

struct Base;
extern Base *volatile g_under_construction;
void describe();

struct Base {
    Base()
    {
        g_under_construction = this;
        describe();
    }
    virtual ~Base() = default;
    virtual int value() const = 0;
};

Base *volatile g_under_construction = nullptr;

__attribute__((noinline)) void describe()
{
    volatile int v = g_under_construction->value();
    (void)v;
}

struct Derived : Base {
    int value() const override { return 1; }
};

} // namespace atk_pure_virtual

namespace {

sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_pure_virtual::Derived d;
    atk_printf(out, "value %d\n", d.value());
    return SBX_OK;
}

} // namespace

ATK_INVOKE_PLUGIN(attack)
