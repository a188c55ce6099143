//! The host's side of the runner's `load_guard` seccomp stage.
//!
//! The runner installs, last of its filters and before any plugin code runs, a filter that
//! hands every call the loader may make beyond the `plugin` stage (opening files, mapping
//! them executable, installing filters) to a listener, and passes that listener to the host
//! with its confinement report. [`LoadGuard`] answers each such call "go on" from a thread of
//! its own until the plugin is loaded; then it closes the listener, and from that moment each
//! of those calls fails (`ENOSYS`) in the plugin's process, whatever runs in it.
//!
//! The runner installs the tighter `plugin` stage itself once dlopen() returns, and only then
//! reports `Loaded`. A constructor can keep dlopen() from returning and write `Loaded` on the
//! channel itself; no secret in the runner could tell that frame from the runner's, since the
//! plugin shares its process. The guard makes the forgery worthless instead: the loader's
//! rights end at `Loaded`, whoever sent it, because the host holds them.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::thread::JoinHandle;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// What `/proc/self/fd/N` names for a seccomp listener.
const LISTENER_LINK: &str = "anon_inode:seccomp notify";

/// Answers a runner's loader calls until [`LoadGuard::end`] (or drop).
pub struct LoadGuard {
    /// Closed to stop the thread: its end of the pipe then polls as hung up.
    stop: Option<OwnedFd>,
    thread: Option<JoinHandle<u64>>,
}

impl LoadGuard {
    /// Starts answering the calls `listener` hands over. `proc_root` is where this host's
    /// own process is seen (`/proc`): the descriptor must be a seccomp listener.
    pub fn watch(listener: OwnedFd, proc_root: &Path) -> io::Result<LoadGuard> {
        let link = std::fs::read_link(
            proc_root
                .join("self/fd")
                .join(listener.as_raw_fd().to_string()),
        )?;
        if link.as_os_str() != LISTENER_LINK {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the descriptor passed as the load guard's listener is {}",
                    link.display()
                ),
            ));
        }
        let (stopped, stop) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let thread = std::thread::Builder::new()
            .name("sbx-load-guard".into())
            .spawn(move || let_through_until_stopped(&listener, &stopped))?;
        Ok(LoadGuard {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops answering and closes the listener: from now on every call it handed over fails.
    /// Returns how many calls it let through.
    pub fn end(mut self) -> u64 {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> u64 {
        drop(self.stop.take());
        self.thread
            .take()
            .map_or(0, |t| t.join().unwrap_or_default())
    }
}

impl Drop for LoadGuard {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// The guard's thread: lets each handed-over call go on until `stopped` hangs up or the
/// runner is gone; returns the count. The listener is closed when it returns.
fn let_through_until_stopped(listener: &OwnedFd, stopped: &OwnedFd) -> u64 {
    let mut let_through = 0;
    loop {
        let mut fds = [
            PollFd::new(listener.as_fd(), PollFlags::POLLIN),
            PollFd::new(stopped.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(_) => return let_through,
        }
        let ready = |fd: &PollFd<'_>| fd.revents().unwrap_or(PollFlags::empty());
        if !ready(&fds[1]).is_empty() {
            return let_through;
        }
        let listener_ready = ready(&fds[0]);
        if listener_ready.contains(PollFlags::POLLIN) {
            match let_one_through(listener) {
                Ok(true) => let_through += 1,
                Ok(false) => {}
                // Not a listener this host can answer: stop, and every call fails.
                Err(_) => return let_through,
            }
        } else if !listener_ready.is_empty() {
            // Hung up: no process uses the filter any more.
            return let_through;
        }
    }
}

/// Receives one handed-over call and lets it go on; `false` when there was none to answer
/// (its caller died, or was interrupted, in between).
fn let_one_through(listener: &OwnedFd) -> io::Result<bool> {
    // SAFETY: seccomp_notif is plain data (integers and seccomp_data's integers); the kernel
    // requires it zeroed before it fills it.
    let mut notif: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    // SAFETY: NOTIF_RECV writes one seccomp_notif into `notif`, which outlives the call.
    let got = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_RECV,
            &mut notif as *mut libc::seccomp_notif,
        )
    };
    if got != 0 {
        return gone_meanwhile(io::Error::last_os_error());
    }
    let resp = libc::seccomp_notif_resp {
        id: notif.id,
        val: 0,
        error: 0,
        // Go on as if no filter had seen the call: its arguments are not read here at all,
        // so no check is made that the caller could race (only the moment decides).
        flags: libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
    };
    // SAFETY: NOTIF_SEND reads one seccomp_notif_resp from `resp`, which outlives the call.
    let sent = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SEND,
            &resp as *const libc::seccomp_notif_resp,
        )
    };
    if sent != 0 {
        return gone_meanwhile(io::Error::last_os_error());
    }
    Ok(true)
}

/// `Ok(false)` for the errors that only mean the call is gone (its caller died or its wait
/// was interrupted: ENOENT), the error itself otherwise.
fn gone_meanwhile(e: io::Error) -> io::Result<bool> {
    match e.raw_os_error() {
        Some(libc::ENOENT | libc::EINTR) => Ok(false),
        _ => Err(e),
    }
}
