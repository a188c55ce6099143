/*
 * fs_surface_load — measures the file-system surface a constructor has. The loader
 * needs the plugin, its libraries and /etc/ld.so.cache (the suite's `loader_paths`);
 * anything else a constructor can open is a surface beyond it, whatever the route.
 * The constructor tries system files and directories that no loader needs and
 * stashes each one it could open; invoke reports them as GAINED lines.
 * Only open and close are used, which every loader stage must allow.
 */
#include "attack.h"

static char g_report[8192];
static size_t g_report_len;

/* Paths outside what the dynamic loader needs: system configuration, other
 * programs, users' homes, scratch, kernel interfaces. None is a symbolic link into
 * a library directory on the systems the suite runs on. */
static const char *const k_probes[] = {
    "/etc/passwd",  "/etc/hostname", "/etc/hosts", "/etc",          "/usr/bin",
    "/usr/share",   "/usr/include",  "/usr/local", "/usr/sbin",     "/bin/sh",
    "/root",        "/home",         "/tmp",       "/var",          "/var/log",
    "/opt",         "/srv",          "/",          "/proc/self/status",
    "/proc/1/status", "/sys/kernel", "/dev/null",  "/run",
};

__attribute__((constructor)) static void early(void)
{
    for (size_t i = 0; i < sizeof k_probes / sizeof k_probes[0]; i++) {
        int fd = open(k_probes[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            continue;
        }
        close(fd);
        int n = snprintf(g_report + g_report_len, sizeof g_report - g_report_len,
                         "GAINED a constructor opened %s, which no loader needs\n", k_probes[i]);
        if (n > 0 && (size_t)n < sizeof g_report - g_report_len) {
            g_report_len += (size_t)n;
        }
    }
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_put(out, g_report, g_report_len);
    atk_printf(out, "surface probed at load: %zu paths\n", sizeof k_probes / sizeof k_probes[0]);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
