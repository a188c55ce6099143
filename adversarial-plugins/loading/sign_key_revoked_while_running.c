/*
 * sign_key_revoked_while_running — a validly signed package whose signer's key
 * the harness revokes while the plugin runs (package =
 * "key_revoked_while_running"). Its call starts a thread that logs a heartbeat
 * every 20 ms for a minute, then answers. Trust in the key is gone from the
 * revocation on: a sandbox that only refuses the key at later loads leaves the
 * plugin running, and its heartbeats keep coming and its next call is served. Nor may
 * the revoked code run once more on its way out: its shutdown, which a sandbox that
 * ends the plugin gracefully instead of killing it calls, reports that it ran.
 */
#include "attack.h"

#include <pthread.h>
#include <stdio.h>
#include <time.h>

static void *heartbeat(void *arg)
{
    struct timespec ts = {0, 20000000};
    (void)arg;
    for (int i = 0; i < 3000; ++i) {
        char line[64];
        int n = snprintf(line, sizeof line, "sbx-atk heartbeat %d", i);
        if (atk_host != NULL && n > 0) {
            atk_host->log(atk_host->ctx, SBX_LOG_INFO, line, (size_t)n);
        }
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static int started;
    pthread_t thread;
    (void)in;
    if (!started) {
        if (pthread_create(&thread, NULL, heartbeat, NULL) != 0) {
            atk_failed(out, "pthread_create", errno);
            return SBX_ERR_INTERNAL;
        }
        pthread_detach(thread);
        started = 1;
    }
    atk_printf(out, "running; a heartbeat every 20 ms\n");
    return SBX_OK;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_DEFAULT_INVOKE(attack)

void sbx_plugin_shutdown(void)
{
    static const char line[] = "GAINED sbx_plugin_shutdown ran after its signer's key was revoked";
    if (atk_host != NULL) {
        atk_host->log(atk_host->ctx, SBX_LOG_INFO, line, sizeof line - 1);
    }
}
