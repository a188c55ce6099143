/*
 * life_hang_invoke — deadlocks inside sbx_plugin_invoke by locking a
 * non-recursive mutex twice: the thread sleeps in the kernel (futex) using no
 * CPU, so only a wall-clock deadline on the call notices.
 */
#include "attack.h"

#include <pthread.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    pthread_mutex_lock(&g_lock);
    pthread_mutex_lock(&g_lock); /* the default mutex type deadlocks here */
    atk_printf(out, "not reached\n");
    pthread_mutex_unlock(&g_lock);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
