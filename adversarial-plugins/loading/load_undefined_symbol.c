/*
 * load_undefined_symbol — calls a function no library defines
 * (sbx_host_backdoor). Loaded with lazy binding it loads fine and dies with a
 * symbol lookup error at the first call (the suite builds it with -z lazy, so the
 * host's dlopen flags decide); loaded with RTLD_NOW it must be refused at load.
 */
#include "attack.h"

extern int sbx_host_backdoor(const char *request);

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_printf(out, "backdoor answered %d\n", sbx_host_backdoor("open"));
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
