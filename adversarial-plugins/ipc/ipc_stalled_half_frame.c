/*
 * ipc_stalled_half_frame — writes 6 bytes of a frame header and then sleeps
 * forever with every signal blocked. A host that reads a frame without a
 * deadline hangs with it (slowloris); the read of a frame must be bounded in
 * time like the call itself.
 */
#include "attack.h"

#include <signal.h>
#include <time.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    uint8_t frame[ATK_FRAME_HEADER_LEN];
    sigset_t all;
    (void)in;
    atk_frame_header(frame, ATK_FRAME_HEADER_LEN - 4, ATK_KIND_HEARTBEAT, 0);
    int err = atk_write_all(ATK_CHANNEL_FD, frame, 6);
    if (err != 0) {
        atk_failed(out, "write to the channel", err);
        return SBX_ERR_INTERNAL;
    }
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        struct timespec ts = {3600, 0};
        nanosleep(&ts, NULL);
    }
    return SBX_ERR_INTERNAL; /* not reached */
}

ATK_INVOKE_PLUGIN(attack)
