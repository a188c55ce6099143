/*
 * sign_image_resized — validly signed; like sign_image_rewritten it goes after the very
 * bytes it was loaded from, the image a host keeps to start it again, but by their size:
 * its constructor grows every descriptor that holds a regular file beginning with an ELF
 * header by a page, or else shrinks it by a byte, and tries to give it back its size. A host
 * whose image is sealed against writing but not against growing or shrinking lets a
 * plugin change what a restart of it maps (a file size limit stops the growing: SIGXFSZ
 * is ignored, so that the shrinking is tried then). Its
 * call reports that as GAINED; else it does the same to the file the loader names for it
 * (dladdr), which a host that loads the package's file in place leaves within reach.
 */
#include "attack.h"

#include <dlfcn.h>
#include <signal.h>
#include <sys/stat.h>

static int resized_fd = -1;

/* Grows `fd` by a page if it holds an ELF image, or else shrinks it by a byte, and gives
 * it back its size: 1 when the image took a new size. */
static int resize(int fd)
{
    struct stat st;
    uint8_t head[4];
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 4 ||
        pread(fd, head, sizeof head, 0) != (ssize_t)sizeof head ||
        memcmp(head, "\177ELF", 4) != 0) {
        return 0;
    }
    if (ftruncate(fd, st.st_size + 4096) != 0 && ftruncate(fd, st.st_size - 1) != 0) {
        return 0;
    }
    /* Back to its size, so that nothing that runs changes; it was resized either way. */
    int back = ftruncate(fd, st.st_size);
    (void)back;
    return 1;
}

__attribute__((constructor)) static void early(void)
{
    signal(SIGXFSZ, SIG_IGN);
    for (int fd = 3; fd < 256 && resized_fd < 0; fd++) {
        if (resize(fd)) {
            resized_fd = fd;
        }
    }
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    Dl_info self;
    (void)in;
    if (resized_fd >= 0) {
        atk_gained(out, "its constructor resized its own image through descriptor %d", resized_fd);
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
    if (resize(fd)) {
        atk_gained(out, "resized its own image, %s", self.dli_fname);
    }
    close(fd);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
