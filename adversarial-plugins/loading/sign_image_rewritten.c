/*
 * sign_image_rewritten — validly signed; it looks for a writable way to the very bytes it
 * was loaded from, the image a host keeps to start it again. Its constructor takes every
 * descriptor that holds a regular file beginning with an ELF header (a host that loads
 * from a memfd hands the plugin's process one), maps its first page shared and writable,
 * and writes back the byte it finds there: nothing that runs changes, but a host whose
 * image is not sealed against writing lets a plugin rewrite what a restart of it runs.
 * Its call reports that as GAINED; else it opens the file the loader names for it
 * (dladdr) for writing, which a host that loads the package's file in place leaves within
 * reach.
 */
#include "attack.h"

#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/stat.h>

static int rewritten_fd = -1;

/* Maps the first page of `fd` shared and writable if it holds an ELF image, and writes
 * its first byte back: 1 when the image took the write. */
static int rewrite_first_byte(int fd)
{
    struct stat st;
    uint8_t head[4];
    /* pread: the descriptor's position may be another's (a host sharing it). */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 4 ||
        pread(fd, head, sizeof head, 0) != (ssize_t)sizeof head ||
        memcmp(head, "\177ELF", 4) != 0) {
        return 0;
    }
    volatile uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (page == MAP_FAILED) {
        return 0;
    }
    page[0] = page[0];
    munmap((void *)page, 4096);
    return 1;
}

__attribute__((constructor)) static void early(void)
{
    for (int fd = 3; fd < 256 && rewritten_fd < 0; fd++) {
        if (rewrite_first_byte(fd)) {
            rewritten_fd = fd;
        }
    }
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    Dl_info self;
    (void)in;
    if (rewritten_fd >= 0) {
        atk_gained(out, "its constructor mapped its own image writable through descriptor %d",
                   rewritten_fd);
        return SBX_OK;
    }
    if (dladdr((const void *)&early, &self) == 0 || self.dli_fname == NULL) {
        atk_printf(out, "the loader names no file for it\n");
        return SBX_OK;
    }
    int fd = open(self.dli_fname, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        atk_failed(out, "open its own image for writing", errno);
        return SBX_OK;
    }
    if (rewrite_first_byte(fd)) {
        atk_gained(out, "mapped its own image writable, %s", self.dli_fname);
    }
    close(fd);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
