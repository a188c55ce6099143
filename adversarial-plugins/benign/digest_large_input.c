/*
 * digest_large_input — benign: answers the length of its input and its FNV-1a 64-bit
 * digest, as text ("<length> <16 hex digits>"). Its case sends an input larger than a
 * frame carries under a policy whose output bound fits one: a sandbox that carries large
 * payloads some other way (the reference's payload window) must carry this input whole
 * though the answer is small.
 */
#include "attack.h"

static sbx_status digest(const atk_input *in, atk_out *out)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < in->len; i++) {
        h ^= in->data[i];
        h *= 0x100000001b3ull;
    }
    atk_printf(out, "%zu %016llx", in->len, (unsigned long long)h);
    return SBX_OK;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE("digest", digest)
ATK_DEFAULT_SHUTDOWN()
