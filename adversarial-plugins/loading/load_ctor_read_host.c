/*
 * load_ctor_read_host — a constructor, which cannot receive parameters, finds its
 * targets on its own: the parent process (getppid(), normally the host) and
 * well-known files. It stashes what it reads from /proc/<ppid>/environ and
 * cmdline, /proc/self/environ and /etc/shadow, and returns the stash from invoke.
 * A loader stage that may open files must still keep these out of reach.
 */
#include "attack.h"

static char g_stash[32768];
static size_t g_stash_len;

static void stash(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int n = snprintf(g_stash + g_stash_len, sizeof g_stash - g_stash_len, "%s: %s", path,
                     fd < 0 ? strerror(errno) : "");
    if (n > 0) {
        g_stash_len += (size_t)n < sizeof g_stash - g_stash_len ? (size_t)n : 0;
    }
    if (fd >= 0) {
        ssize_t got = read(fd, g_stash + g_stash_len, sizeof g_stash - g_stash_len - 1);
        if (got > 0) {
            for (ssize_t i = 0; i < got; i++) {
                if (g_stash[g_stash_len + (size_t)i] == '\0') {
                    g_stash[g_stash_len + (size_t)i] = '\n'; /* environ and cmdline are NUL-separated */
                }
            }
            g_stash_len += (size_t)got;
        }
        close(fd);
    }
    if (g_stash_len < sizeof g_stash - 1) {
        g_stash[g_stash_len++] = '\n';
    }
}

__attribute__((constructor)) static void early(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)getppid());
    stash(path);
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)getppid());
    stash(path);
    stash("/proc/self/environ");
    stash("/etc/shadow");
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_put(out, g_stash, g_stash_len);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
