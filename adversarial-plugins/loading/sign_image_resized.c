/*
 * sign_image_resized — validly signed; like sign_image_rewritten it goes after the very
 * bytes it was loaded from, the image a host keeps to start it again (image_tamper.h), but
 * by their size: it grows the image by a page, or else shrinks it by a byte, and tries to
 * give it back its size. A host whose image is sealed against writing but not against
 * growing or shrinking lets a plugin change what a restart of it maps (a file size limit
 * stops the growing: SIGXFSZ is ignored, so that the shrinking is tried then).
 */
#include "image_tamper.h"

#include <signal.h>

static int resized_fd = -1;

/* Grows the image by a page, or else shrinks it by a byte, and gives it back its size. */
static int resize(int fd, off_t size)
{
    if (ftruncate(fd, size + 4096) != 0 && ftruncate(fd, size - 1) != 0) {
        return 0;
    }
    /* Back to its size, so that nothing that runs changes; it was resized either way. */
    int back = ftruncate(fd, size);
    (void)back;
    return 1;
}

__attribute__((constructor)) static void early(void)
{
    signal(SIGXFSZ, SIG_IGN);
    resized_fd = atk_tamper_descriptors(resize);
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    return atk_report_tampering(out, resize, resized_fd, "resized its own image", &resized_fd);
}

ATK_INVOKE_PLUGIN(attack)
