/*
 * proc_thread_new_ipc_ns — clones a thread (CLONE_THREAD, the only clone the filter
 * allows) that also asks for a new ipc namespace (CLONE_NEWIPC): a filter whose
 * namespace mask lost that flag lets the thread be made, and it reports GAINED.
 */
#include "thread_in_namespace.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    return atk_thread_in_namespace(CLONE_NEWIPC, "ipc", out);
}

ATK_INVOKE_PLUGIN(attack)
