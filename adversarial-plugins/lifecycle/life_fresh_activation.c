/*
 * life_fresh_activation — tries to carry state from one activation of it to the next.
 * Its init (once per activation) looks for what an earlier activation left in its process:
 * a variable of its image, and an environment variable naming the process that set it.
 * Each call reports what its init found, with a GAINED line each, and leaves both marks
 * for the next activation. Its case unloads it after one call and loads it again: a
 * sandbox that starts every activation from nothing shows its init nothing; one that
 * loads it again into a process it kept (or a pool that takes a runner back) shows it
 * what it left. Asked "fault", it leaves its marks and dies of SIGSEGV, for the host to
 * restart it (the package's case).
 */
#include "attack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char mark_name[] = "SBX_EARLIER_ACTIVATION";

/* Set by an activation's calls; a fresh image starts with it clear. */
static volatile int planted;

/* What this activation's init found. */
static int found_variable;
static char found_environment[64];

sbx_status sbx_plugin_init(const sbx_host_api *host, const uint8_t *config, size_t config_len)
{
    /* Each process of it lives this long at least, for the restart watch to see it. */
    const struct timespec linger = {0, 100 * 1000000L};
    const char *earlier = getenv(mark_name);
    (void)config;
    (void)config_len;
    atk_host = host;
    found_variable = planted;
    if (earlier != NULL) {
        snprintf(found_environment, sizeof found_environment, "%s", earlier);
    }
    nanosleep(&linger, NULL);
    return SBX_OK;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char pid[32];
    if (found_variable) {
        atk_gained(out, "a variable of its image set by an earlier activation");
    }
    if (found_environment[0] != '\0') {
        atk_gained(out, "the environment an earlier activation left (%s=%s)", mark_name,
                   found_environment);
    }
    planted = 1;
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    setenv(mark_name, pid, 1);
    if (in->len == 5 && memcmp(in->data, "fault", 5) == 0) {
        volatile int *nowhere = NULL;
        *nowhere = 1;
    }
    if (!found_variable && found_environment[0] == '\0') {
        atk_printf(out, "fresh");
    }
    return SBX_OK;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INVOKE(attack)
ATK_DEFAULT_SHUTDOWN()
