//! The runner's first process, outside the plugin's pid namespace, and the namespace's init.
//!
//! `unshare(CLONE_NEWPID)` puts the caller's next children, not the caller, in the new
//! namespace, and a process whose pid namespace for children is not its own cannot start
//! threads. So the runner forks twice, once its identity, namespaces and dumpability are
//! set and while it still holds its user namespace's capabilities (the plugin's process
//! needs them to make its root and mount `/proc` of its namespace, which only a process
//! inside it can); the init and the runner's first process drop them at once:
//! - first the namespace's init, pid 1: it holds nothing and only waits, so that the
//!   plugin's process is not pid 1 (the kernel drops the signals an init sends itself that
//!   it has no handler for: a plugin's `abort()` would not end it), and it takes everything
//!   in the namespace with it when it ends;
//! - then the process that runs the plugin, pid 2, which goes on to load and serve it, where
//!   no process of the host or of another plugin has an id at all.
//!
//! The runner's first process stays outside, between the host and the plugin: it holds none
//! of the runner's descriptors, reaps the plugin's process, ends the init, and ends as the
//! plugin's process ended (its exit code, or the signal that killed it), so that the host's
//! reaping of the runner tells how the plugin ended. The host signals the plugin's process
//! itself (it finds it among the runner's children in `/proc`), so nothing needs
//! forwarding; both children die with the runner (`PR_SET_PDEATHSIG`).
//!
//! The runner is single-threaded here (its liveness thread starts after confinement), so
//! every side of each fork may do anything.

use std::os::fd::{AsFd, OwnedFd, RawFd};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, raise, sigprocmask};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

use sbx_contract::exit_code;

/// Starts the namespace's init, then the process that runs the plugin, in the pid
/// namespace the runner unshared. Returns in the plugin's process; the runner waits for it
/// and never returns.
/// `hold_no_privilege` runs first in the init and in the runner's first process, which need
/// none of what the plugin's process still holds here.
/// `placed` are the descriptors the host placed for the runner, which the init and the
/// runner's first process let go of.
pub fn start_plugin_process(
    hold_no_privilege: impl Fn() -> std::io::Result<()>,
    placed: &[RawFd],
) -> std::io::Result<()> {
    // The runner holds the write end until it ends: a child that sees it hang up knows the
    // runner ended before the child asked to end with it.
    let (alive_r, alive_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    // SAFETY: the runner is single-threaded here (see the module documentation).
    let init = match unsafe { fork() }? {
        ForkResult::Child => {
            drop(alive_w);
            if die_with_runner(alive_r).is_err() || hold_no_privilege().is_err() {
                std::process::exit(exit_code::CONFINEMENT);
            }
            drop_runner_descriptors(placed);
            wait_as_namespace_init()
        }
        ForkResult::Parent { child } => child,
    };
    // SAFETY: as above; the init is a process of its own.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            drop(alive_w);
            die_with_runner(alive_r)
        }
        Ok(ForkResult::Parent { child }) => {
            drop(alive_r);
            if hold_no_privilege().is_err() {
                let _ = kill(child, Signal::SIGKILL);
                let _ = kill(init, Signal::SIGKILL);
                std::process::exit(exit_code::CONFINEMENT);
            }
            drop_runner_descriptors(placed);
            wait_for_plugin(child, init, alive_w)
        }
        Err(e) => {
            let _ = kill(init, Signal::SIGKILL);
            let _ = waitpid(init, None);
            Err(e.into())
        }
    }
}

/// Ends this process when the runner ends, and checks the runner did not end before.
fn die_with_runner(alive_r: OwnedFd) -> std::io::Result<()> {
    // SAFETY: prctl(PR_SET_PDEATHSIG) with a signal number; no pointer.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut fds = [PollFd::new(alive_r.as_fd(), PollFlags::POLLIN)];
    let runner_gone = poll(&mut fds, PollTimeout::ZERO).is_ok()
        && fds[0]
            .revents()
            .is_some_and(|r| r.intersects(PollFlags::POLLHUP | PollFlags::POLLIN));
    if runner_gone {
        std::process::exit(exit_code::CONFINEMENT);
    }
    Ok(())
}

/// Lets go of the descriptors the host placed for the runner: the plugin's process holds
/// its own copies, and nothing else uses them. Only those: a number the host did not place
/// may be a descriptor of this process's own (the pipe above), which closing would break.
fn drop_runner_descriptors(placed: &[RawFd]) {
    for &fd in placed {
        // SAFETY: closing descriptors nothing in this process uses from here on.
        unsafe { libc::close(fd) };
    }
}

/// The namespace's init: waits until the runner's end ends it (it has no child to reap:
/// the plugin's process is the runner's, and cannot start one).
fn wait_as_namespace_init() -> ! {
    loop {
        nix::unistd::pause();
    }
}

/// The runner: reaps the plugin's process, ends the init, and ends as the plugin's process
/// ended.
fn wait_for_plugin(plugin: Pid, init: Pid, alive_w: OwnedFd) -> ! {
    let ended = loop {
        match waitpid(plugin, None) {
            Ok(WaitStatus::Exited(_, code)) => break Ok(code),
            Ok(WaitStatus::Signaled(_, signal, _)) => break Err(signal),
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            // No child to wait for: nothing of the plugin is left to end as.
            Err(_) => break Ok(exit_code::CONFINEMENT),
        }
    };
    // The init's end takes anything left in the namespace with it; reaped here, it is not
    // left to whoever adopts the runner's orphans.
    let _ = kill(init, Signal::SIGKILL);
    let _ = waitpid(init, None);
    drop(alive_w);
    match ended {
        Ok(code) => std::process::exit(code),
        Err(signal) => end_by(signal),
    }
}

/// Ends this process by `signal`, as the plugin's process was ended: its default action,
/// unblocked (a core is never written: the runner is not dumpable).
fn end_by(signal: Signal) -> ! {
    // SAFETY: setting a signal's default disposition; no handler is involved.
    let _ = unsafe { nix::sys::signal::signal(signal, nix::sys::signal::SigHandler::SigDfl) };
    let mut only = SigSet::empty();
    only.add(signal);
    let _ = sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&only), None);
    let _ = raise(signal);
    // A signal whose default action is not to end the process.
    std::process::exit(128 + signal as i32)
}
