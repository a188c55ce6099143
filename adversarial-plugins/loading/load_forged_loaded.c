/*
 * load_forged_loaded — a constructor that never returns: it writes the runner's
 * Loaded frame on the channel itself and answers the host's requests from inside
 * dlopen(), so that whatever the runner meant to tighten once the plugin is loaded
 * never happens. Its calls then try what only the loader may do: open the loader's
 * own files. A sandbox whose loader rights end when the runner says so, not when the
 * host hears Loaded, keeps them for the plugin.
 *
 * Where descriptor 3 is not a channel that takes the frame, the constructor returns
 * and the same attack runs as an ordinary call.
 */
/* The attack of fs_surface_invoke: open, after the load, files only the loader needs. */
#include "../filesystem/fs_surface_invoke.c"

/* ---- The forged runner ---------------------------------------------------- */

/* The largest frame the forged runner takes: the harness's inputs are small. */
#define FORGED_MAX_FRAME (64u * 1024u)

/* Reads exactly `n` bytes from the (non-blocking) channel; 0, or an errno value. */
static int read_exact(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r == 0) {
            return EPIPE;
        }
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                struct pollfd in = {fd, POLLIN, 0};
                (void)poll(&in, 1, -1);
                continue;
            }
            return errno;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Reads a u32-length-prefixed field at `*at` of a body of `len` bytes. */
static const uint8_t *field(const uint8_t *body, uint32_t len, uint32_t *at, uint32_t *field_len)
{
    if (len - *at < 4) {
        return NULL;
    }
    uint32_t n = atk_le32_get(body + *at);
    *at += 4;
    if (len - *at < n) {
        return NULL;
    }
    const uint8_t *start = body + *at;
    *at += n;
    *field_len = n;
    return start;
}

/* Writes an Error frame with code `code` and no message. */
static int write_error_frame(uint64_t request_id, int32_t code)
{
    uint8_t frame[ATK_FRAME_HEADER_LEN + 8];
    atk_frame_header(frame, ATK_FRAME_HEADER_LEN - 4 + 8, ATK_KIND_ERROR, request_id);
    atk_le32(frame + ATK_FRAME_HEADER_LEN, (uint32_t)code);
    atk_le32(frame + ATK_FRAME_HEADER_LEN + 4, 0);
    return atk_write_all(ATK_CHANNEL_FD, frame, sizeof frame);
}

/* Answers the host as the runner would, until it asks to shut down. */
static void serve_as_the_runner(void)
{
    static uint8_t body[FORGED_MAX_FRAME];
    static uint8_t output[FORGED_MAX_FRAME];
    for (;;) {
        uint8_t head[ATK_FRAME_HEADER_LEN];
        if (read_exact(ATK_CHANNEL_FD, head, sizeof head) != 0) {
            _exit(0);
        }
        uint32_t rest = atk_le32_get(head);
        uint8_t kind = head[5];
        uint64_t id = 0;
        for (int i = 7; i >= 0; i--) {
            id = id << 8 | head[8 + i];
        }
        if (rest < ATK_FRAME_HEADER_LEN - 4 || rest - (ATK_FRAME_HEADER_LEN - 4) > sizeof body) {
            _exit(0);
        }
        uint32_t len = rest - (ATK_FRAME_HEADER_LEN - 4);
        if (read_exact(ATK_CHANNEL_FD, body, len) != 0) {
            _exit(0);
        }
        int err = 0;
        if (kind == ATK_KIND_INIT) {
            err = atk_write_result_frame(ATK_CHANNEL_FD, id, "", 0);
        } else if (kind == ATK_KIND_INVOKE) {
            uint32_t at = 0, method_len = 0, input_len = 0;
            const uint8_t *method = field(body, len, &at, &method_len);
            const uint8_t *input = method ? field(body, len, &at, &input_len) : NULL;
            size_t output_len = 0;
            sbx_status rc = input ? sbx_plugin_invoke((const char *)method, method_len, input,
                                                      input_len, output, sizeof output,
                                                      &output_len)
                                  : SBX_ERR_INVALID_ARGUMENT;
            err = rc == SBX_OK && output_len <= sizeof output
                      ? atk_write_result_frame(ATK_CHANNEL_FD, id, output, (uint32_t)output_len)
                      : write_error_frame(id, rc == SBX_OK ? SBX_ERR_INTERNAL : rc);
        } else if (kind == ATK_KIND_HEARTBEAT) {
            uint8_t beat[ATK_FRAME_HEADER_LEN];
            atk_frame_header(beat, ATK_FRAME_HEADER_LEN - 4, ATK_KIND_HEARTBEAT, id);
            err = atk_write_all(ATK_CHANNEL_FD, beat, sizeof beat);
        } else if (kind == ATK_KIND_SHUTDOWN) {
            (void)atk_write_result_frame(ATK_CHANNEL_FD, id, "", 0);
            _exit(0);
        }
        if (err != 0) {
            _exit(0);
        }
    }
}

__attribute__((constructor)) static void forge_loaded(void)
{
    uint8_t frame[ATK_FRAME_HEADER_LEN + 4];
    struct pollfd channel = {ATK_CHANNEL_FD, POLLOUT, 0};
    /* Only a socket that takes the frame at once is the runner's channel. */
    if (poll(&channel, 1, 0) != 1 || (channel.revents & POLLOUT) == 0) {
        return;
    }
    atk_frame_header(frame, ATK_FRAME_HEADER_LEN - 4 + 4, ATK_KIND_LOADED, 0);
    atk_le32(frame + ATK_FRAME_HEADER_LEN, SBX_ABI_VERSION);
    if (atk_write_all(ATK_CHANNEL_FD, frame, sizeof frame) != 0) {
        return;
    }
    serve_as_the_runner();
}
