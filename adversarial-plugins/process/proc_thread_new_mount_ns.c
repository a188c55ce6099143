/*
 * proc_thread_new_mount_ns — clones a thread (CLONE_THREAD, the only clone the filter
 * allows) that also asks for a new mount namespace (CLONE_NEWNS): a filter whose
 * namespace mask lost that flag lets the thread be made, and it reports GAINED.
 */
#include "thread_in_namespace.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    return atk_thread_in_namespace(CLONE_NEWNS, "mount", out);
}

ATK_INVOKE_PLUGIN(attack)
