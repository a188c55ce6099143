/*
 * sys_bpf — creates an eBPF map and loads a tiny socket-filter program with the
 * bpf system call. The BPF verifier and JIT are a large, often-exploited kernel
 * surface; no plugin needs them, so bpf must not be reachable.
 */
#include "attack.h"

#include <linux/bpf.h>
#include <sys/syscall.h>

static long sys_bpf(int cmd, union bpf_attr *attr)
{
    return syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    union bpf_attr attr;
    int done = 0;
    (void)in;
    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 8;
    attr.max_entries = 1;
    long map = sys_bpf(BPF_MAP_CREATE, &attr);
    if (map >= 0) {
        atk_gained(out, "created a BPF map (fd %ld)", map);
        close((int)map);
        done = 1;
    } else {
        atk_failed(out, "BPF_MAP_CREATE", errno);
    }
    /* r0 = 0; exit — the smallest valid program. */
    struct bpf_insn prog[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
        {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
    };
    static const char license[] = "GPL";
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insns = (uint64_t)(uintptr_t)prog;
    attr.insn_cnt = 2;
    attr.license = (uint64_t)(uintptr_t)license;
    long loaded = sys_bpf(BPF_PROG_LOAD, &attr);
    if (loaded >= 0) {
        atk_gained(out, "loaded a BPF program (fd %ld)", loaded);
        close((int)loaded);
        done = 1;
    } else {
        atk_failed(out, "BPF_PROG_LOAD", errno);
    }
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
