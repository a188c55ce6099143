/*
 * proc_daemon_escape — the double fork of a daemon: fork, setsid, fork again,
 * and the grandchild (now re-parented away from the runner, in its own session)
 * sleeps for ten minutes. It reports the grandchild's pid through a pipe. A
 * process that outlives its runner keeps whatever the plugin had, unsupervised.
 */
#include "attack.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    int pipe_fds[2];
    (void)in;
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
        atk_failed(out, "pipe2", errno);
        pipe_fds[0] = pipe_fds[1] = -1;
    }
    pid_t child = fork();
    if (child < 0) {
        atk_failed(out, "fork", errno);
        return SBX_ERR_INTERNAL;
    }
    if (child == 0) {
        setsid();
        signal(SIGHUP, SIG_IGN);
        pid_t grandchild = fork();
        if (grandchild == 0) {
            pid_t self = getpid();
            if (pipe_fds[1] >= 0) {
                (void)atk_write_all(pipe_fds[1], &self, sizeof self);
                close(pipe_fds[1]);
            }
            struct timespec ts = {600, 0};
            nanosleep(&ts, NULL);
        }
        _exit(0);
    }
    waitpid(child, NULL, 0);
    if (pipe_fds[1] >= 0) {
        close(pipe_fds[1]);
    }
    pid_t daemon_pid = 0;
    if (pipe_fds[0] >= 0 && read(pipe_fds[0], &daemon_pid, sizeof daemon_pid) == sizeof daemon_pid) {
        atk_gained(out, "left daemon pid %d running", (int)daemon_pid);
    }
    if (pipe_fds[0] >= 0) {
        close(pipe_fds[0]);
    }
    return daemon_pid > 0 ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
