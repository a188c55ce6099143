/*
 * compat_zlib — an honest workload on a real library: zlib (Debian's zlib1g). Builds
 * 256 KiB of text from the input, compresses it at level 9, decompresses it, checks
 * the round trip and answers "bytes=N roundtrip=ok crc32=XXXXXXXX". A sandbox must let
 * a plugin compress and decompress in memory.
 */
/* attack.h first: it sets the feature macros the system headers read. */
#include "attack.h"

#include <stdlib.h>
#include <zlib.h>

#define PLAIN_BYTES (256u * 1024u)

static sbx_status roundtrip(const atk_input *in, atk_out *out)
{
    static const char fallback[] = "conformance";
    const uint8_t *seed = in->len > 0 ? in->data : (const uint8_t *)fallback;
    size_t seed_len = in->len > 0 ? in->len : sizeof fallback - 1;
    uint8_t *plain = malloc(PLAIN_BYTES);
    uLongf packed_len = compressBound(PLAIN_BYTES);
    uint8_t *packed = malloc(packed_len);
    uLongf back_len = PLAIN_BYTES;
    uint8_t *back = malloc(back_len);
    sbx_status status = SBX_ERR_INTERNAL;
    if (plain == NULL || packed == NULL || back == NULL) {
        atk_printf(out, "no memory");
        goto done;
    }
    for (size_t i = 0; i < PLAIN_BYTES; i++) {
        /* The seed, with a counter folded in so that it compresses but not to nothing. */
        plain[i] = (uint8_t)(seed[i % seed_len] + (uint8_t)(i / 4096));
    }
    int rc = compress2(packed, &packed_len, plain, PLAIN_BYTES, Z_BEST_COMPRESSION);
    if (rc != Z_OK) {
        atk_printf(out, "compress2: %d", rc);
        goto done;
    }
    rc = uncompress(back, &back_len, packed, packed_len);
    if (rc != Z_OK || back_len != PLAIN_BYTES || memcmp(back, plain, PLAIN_BYTES) != 0) {
        atk_printf(out, "uncompress: %d, %lu bytes", rc, (unsigned long)back_len);
        goto done;
    }
    atk_printf(out, "bytes=%u roundtrip=ok crc32=%08lx", PLAIN_BYTES,
               crc32(0L, back, (uInt)back_len));
    status = SBX_OK;
done:
    free(plain);
    free(packed);
    free(back);
    return status;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE("roundtrip", roundtrip)
ATK_DEFAULT_SHUTDOWN()
