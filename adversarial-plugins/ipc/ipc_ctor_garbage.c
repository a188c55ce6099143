/*
 * ipc_ctor_garbage — a constructor writes a forged Loaded frame and then garbage
 * to the channel while the plugin is being loaded, before the runner has said
 * anything. Whatever the host reads first must come from the runner's protocol,
 * not from plugin code that ran early.
 */
#include "attack.h"

__attribute__((constructor)) static void early(void)
{
    uint8_t frame[ATK_FRAME_HEADER_LEN + 4 + 256];
    atk_frame_header(frame, ATK_FRAME_HEADER_LEN - 4 + 4, ATK_KIND_LOADED, 0);
    atk_le32(frame + ATK_FRAME_HEADER_LEN, SBX_ABI_VERSION);
    memset(frame + ATK_FRAME_HEADER_LEN + 4, 0xee, 256);
    (void)atk_write_all(ATK_CHANNEL_FD, frame, sizeof frame);
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_printf(out, "loaded\n");
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
