/*
 * proc_execve_shell — replaces the runner with /bin/sh running a command that
 * copies the secret into the forbidden directory; if execve is refused it tries
 * execveat and fexecve. Executing a program is executing code the sandbox never
 * vetted, with a fresh image that has none of the plugin's restrictions on
 * library calls.
 */
#include "attack.h"

#include <sys/syscall.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char secret[2048];
    char dir[2048];
    char command[4500];
    if (!atk_param(in, "secret_path", secret, sizeof secret) ||
        !atk_param(in, "forbidden_dir", dir, sizeof dir)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    snprintf(command, sizeof command, "cat '%s' > '%s/sbx-atk-shell'; id >> '%s/sbx-atk-shell'",
             secret, dir, dir);
    char *const argv[] = {(char *)"sh", (char *)"-c", command, NULL};
    char *const envp[] = {(char *)"PATH=/usr/bin:/bin", NULL};
    execve("/bin/sh", argv, envp);
    atk_failed(out, "execve /bin/sh", errno);
    syscall(SYS_execveat, AT_FDCWD, "/bin/sh", argv, envp, 0);
    atk_failed(out, "execveat /bin/sh", errno);
    int fd = open("/bin/sh", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        fexecve(fd, argv, envp);
        atk_failed(out, "fexecve /bin/sh", errno);
        close(fd);
    }
    return SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
