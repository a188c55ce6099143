/*
 * sys_modify_ldt — installs a 16-bit data segment in its local descriptor table
 * with modify_ldt and reads the table back. 16-bit segments and the LDT are
 * legacy machinery behind several kernel vulnerabilities (espfix, SYSRET
 * issues); a plugin has no use for them.
 */
#include "attack.h"

#include <asm/ldt.h>
#include <sys/syscall.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    struct user_desc desc;
    (void)in;
    memset(&desc, 0, sizeof desc);
    desc.entry_number = 0;
    desc.base_addr = 0;
    desc.limit = 0xffff;
    desc.seg_32bit = 0; /* a 16-bit segment */
    desc.contents = 0;  /* data */
    desc.useable = 1;
    if (syscall(SYS_modify_ldt, 1, &desc, sizeof desc) != 0) {
        atk_failed(out, "modify_ldt write", errno);
        return SBX_ERR_INTERNAL;
    }
    atk_gained(out, "installed a 16-bit LDT segment");
    uint8_t table[16];
    long n = syscall(SYS_modify_ldt, 0, table, sizeof table);
    atk_printf(out, "read %ld bytes of the LDT\n", n);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
