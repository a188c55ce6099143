/*
 * fs_surface_load — measures the file-system surface a constructor has. The loader
 * needs the plugin, its libraries and /etc/ld.so.cache (the suite's `loader_paths`);
 * anything else a constructor can open is a surface beyond it, whatever the route.
 * The constructor tries system files and directories that no loader needs and
 * stashes each one it could open; invoke reports them as GAINED lines. It also
 * tries the directory the plugin itself was loaded from (found with dladdr, which
 * reads the loader's own records): the plugin file is needed, its neighbours are not.
 * Only open and close are used, which every loader stage must allow.
 */
#include "attack.h"

#include <dlfcn.h>
#include <libgen.h>

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

static void probe(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    close(fd);
    int n = snprintf(g_report + g_report_len, sizeof g_report - g_report_len,
                     "GAINED a constructor opened %s, which no loader needs\n", path);
    if (n > 0 && (size_t)n < sizeof g_report - g_report_len) {
        g_report_len += (size_t)n;
    }
}

__attribute__((constructor)) static void early(void)
{
    Dl_info self;
    char own_dir[4096];
    for (size_t i = 0; i < sizeof k_probes / sizeof k_probes[0]; i++) {
        probe(k_probes[i]);
    }
    if (dladdr((void *)probe, &self) != 0 && self.dli_fname != NULL &&
        strlen(self.dli_fname) < sizeof own_dir) {
        strcpy(own_dir, self.dli_fname);
        probe(dirname(own_dir));
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
