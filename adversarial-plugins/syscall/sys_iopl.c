/*
 * sys_iopl — asks for direct hardware port access with iopl(3) and ioperm on the
 * keyboard controller and PCI configuration ports. With port I/O a process talks
 * to devices behind the kernel's back (reset the machine, reprogram PCI devices).
 * It only asks; it never writes a port.
 */
#include "attack.h"

#include <sys/io.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    int done = 0;
    (void)in;
    if (iopl(3) == 0) {
        atk_gained(out, "iopl(3): every I/O port is open");
        iopl(0);
        done = 1;
    } else {
        atk_failed(out, "iopl", errno);
    }
    if (ioperm(0x60, 5, 1) == 0) {
        atk_gained(out, "ioperm on the keyboard controller ports");
        ioperm(0x60, 5, 0);
        done = 1;
    } else {
        atk_failed(out, "ioperm 0x60", errno);
    }
    if (ioperm(0xcf8, 8, 1) == 0) {
        atk_gained(out, "ioperm on the PCI configuration ports");
        ioperm(0xcf8, 8, 0);
        done = 1;
    } else {
        atk_failed(out, "ioperm 0xcf8", errno);
    }
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
