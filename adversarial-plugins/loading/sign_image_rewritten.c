/*
 * sign_image_rewritten — validly signed; it looks for a writable way to the very bytes it
 * was loaded from, the image a host keeps to start it again (image_tamper.h): it maps the
 * image's first page shared and writable and writes back the byte it finds there. Nothing
 * that runs changes, but a host whose image is not sealed against writing lets a plugin
 * rewrite what a restart of it runs.
 */
#include "image_tamper.h"

#include <sys/mman.h>

static int rewritten_fd = -1;

/* Maps the image's first page shared and writable and writes its first byte back. */
static int rewrite_first_byte(int fd, off_t size)
{
    (void)size;
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
    rewritten_fd = atk_tamper_descriptors(rewrite_first_byte);
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    return atk_report_tampering(out, rewrite_first_byte, rewritten_fd,
                                "mapped its own image writable", &rewritten_fd);
}

ATK_INVOKE_PLUGIN(attack)
