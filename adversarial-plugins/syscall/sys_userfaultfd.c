/*
 * sys_userfaultfd — creates a userfaultfd (the system call, then /dev/userfaultfd)
 * and registers a page with it. userfaultfd lets a process stall the kernel in the
 * middle of a copy from user memory: the standard tool for winning kernel race
 * conditions in exploits. No plugin needs it.
 */
#include "attack.h"

#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    long fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        atk_failed(out, "userfaultfd", errno);
        int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
        if (dev < 0) {
            atk_failed(out, "open /dev/userfaultfd", errno);
            return SBX_ERR_INTERNAL;
        }
        fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
        close(dev);
        if (fd < 0) {
            atk_failed(out, "USERFAULTFD_IOC_NEW", errno);
            return SBX_ERR_INTERNAL;
        }
    }
    atk_gained(out, "created a userfaultfd");
    struct uffdio_api api = {.api = UFFD_API, .features = 0, .ioctls = 0};
    if (ioctl((int)fd, UFFDIO_API, &api) == 0) {
        void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        struct uffdio_register reg;
        memset(&reg, 0, sizeof reg);
        reg.range.start = (uint64_t)(uintptr_t)page;
        reg.range.len = 4096;
        reg.mode = UFFDIO_REGISTER_MODE_MISSING;
        if (page != MAP_FAILED && ioctl((int)fd, UFFDIO_REGISTER, &reg) == 0) {
            atk_gained(out, "registered a page for user-handled faults");
        }
        if (page != MAP_FAILED) {
            munmap(page, 4096);
        }
    }
    close((int)fd);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
