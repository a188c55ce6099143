/*
 * image_tamper.h — what the image attacks share (sign_image_rewritten, sign_image_resized):
 * they go after the very bytes the plugin was loaded from, the image a host keeps to start
 * it again. The constructor tries the plugin's tampering on every descriptor that holds a
 * regular file beginning with an ELF header (a host that loads from a memfd hands the
 * plugin's process one); the call reports that as GAINED, or else tries it on the file the
 * loader names for the plugin (dladdr), which a host that loads the package's file in place
 * leaves within reach. A tampering answers 1 when the image of `size` bytes took it.
 */
#ifndef SBX_IMAGE_TAMPER_H
#define SBX_IMAGE_TAMPER_H

#include "attack.h"

#include <dlfcn.h>
#include <sys/stat.h>

typedef int (*atk_tampering)(int fd, off_t size);

/* The size of the regular file `fd` holds if it begins with an ELF header, else -1. */
static inline off_t atk_elf_image_size(int fd)
{
    struct stat st;
    uint8_t head[4];
    /* pread: the descriptor's position may be another's (a host sharing it). */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 4 ||
        pread(fd, head, sizeof head, 0) != (ssize_t)sizeof head ||
        memcmp(head, "\177ELF", 4) != 0) {
        return -1;
    }
    return st.st_size;
}

/* `tamper` on `fd` if it holds an ELF image: 1 when the image took it. */
static inline int atk_tamper_image(int fd, atk_tampering tamper)
{
    off_t size = atk_elf_image_size(fd);
    return size >= 0 && tamper(fd, size);
}

/* The first descriptor whose ELF image took `tamper`, or -1: the constructor's part. */
static inline int atk_tamper_descriptors(atk_tampering tamper)
{
    for (int fd = 3; fd < 256; fd++) {
        if (atk_tamper_image(fd, tamper)) {
            return fd;
        }
    }
    return -1;
}

/* The call's part: reports what the constructor did through descriptor `tampered_fd`
 * (`tampered`: what, as words), or else tampers with the file the loader names for the
 * object holding `anchor` (an object of the plugin's own). */
static inline sbx_status atk_report_tampering(atk_out *out, atk_tampering tamper,
                                              int tampered_fd, const char *tampered,
                                              const void *anchor)
{
    Dl_info self;
    if (tampered_fd >= 0) {
        atk_gained(out, "its constructor %s through descriptor %d", tampered, tampered_fd);
        return SBX_OK;
    }
    if (dladdr(anchor, &self) == 0 || self.dli_fname == NULL) {
        atk_printf(out, "the loader names no file for it\n");
        return SBX_OK;
    }
    int fd = open(self.dli_fname, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        atk_failed(out, "open its own image for writing", errno);
        return SBX_OK;
    }
    if (atk_tamper_image(fd, tamper)) {
        atk_gained(out, "%s, %s", tampered, self.dli_fname);
    }
    close(fd);
    return SBX_OK;
}

#endif
