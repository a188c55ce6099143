/*
 * ipc_ctor_forged_error — a constructor writes an Error frame on the channel, as the runner
 * does when it cannot load a plugin, and then keeps dlopen() from returning. A host that
 * takes the frame for the runner's own refusal and waits for the runner to exit leaves the
 * constructor running, with the loader's rights, until the load deadline. Without a process
 * boundary the frame lands in the host's own protocol stream and the load never ends.
 */
#include "attack.h"

#include <time.h>

__attribute__((constructor)) static void early(void)
{
    static const char message[] = "dlopen: the plugin could not be loaded";
    const uint32_t message_len = sizeof message - 1;
    uint8_t frame[ATK_FRAME_HEADER_LEN + 8 + sizeof message - 1];
    atk_frame_header(frame, ATK_FRAME_HEADER_LEN - 4 + 8 + message_len, ATK_KIND_ERROR, 0);
    atk_le32(frame + ATK_FRAME_HEADER_LEN, (uint32_t)SBX_ERR_INTERNAL);
    atk_le32(frame + ATK_FRAME_HEADER_LEN + 4, message_len);
    memcpy(frame + ATK_FRAME_HEADER_LEN + 8, message, message_len);
    (void)atk_write_all(ATK_CHANNEL_FD, frame, sizeof frame);
    for (;;) {
        struct timespec ts = {.tv_sec = 3600, .tv_nsec = 0};
        nanosleep(&ts, NULL);
    }
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_printf(out, "loaded\n");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
