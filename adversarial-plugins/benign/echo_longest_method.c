/*
 * echo_longest_method — benign: returns its input unchanged from a method whose name is
 * SBX_MAX_METHOD_LEN (256) bytes long, the longest the contract allows. A sandbox that
 * refuses it (a bound off by one) breaks a plugin the contract admits.
 */
#include "attack.h"

/* SBX_MAX_METHOD_LEN bytes: 246 'm's and "_256_bytes". */
#define LONGEST_METHOD "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm_256_bytes"

_Static_assert(sizeof LONGEST_METHOD - 1 == SBX_MAX_METHOD_LEN, "the longest method name");

static sbx_status echo(const atk_input *in, atk_out *out)
{
    return atk_echo(in, out);
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_METHOD_INVOKE(LONGEST_METHOD, echo)
ATK_DEFAULT_SHUTDOWN()
