//! Spawning the runner: the one function that forks and execs (`spawn_runner`).
//!
//! The host is multi-threaded, so between `fork` and `execve` the child makes only
//! async-signal-safe calls (dup2, close_range, setsid, prctl, getppid, sigprocmask, execve,
//! write, _exit) on memory prepared before the fork. Everything else — identity, namespaces,
//! Landlock, rlimits, seccomp — happens in the runner after exec, where it is a fresh
//! single-threaded process and can use ordinary code.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::unistd::Pid;

use sbx_contract::fds::{
    CHANNEL_FD, LIVENESS_FD, PAYLOAD_WINDOW_FD, PLUGIN_FD, RING_FD, VIOLATION_FD,
};

/// Failure to start the runner.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// Preparing descriptors or arguments failed.
    #[error("cannot prepare the runner: {0}")]
    Prepare(#[source] io::Error),
    /// `fork` failed.
    #[error("fork failed: {0}")]
    Fork(#[source] io::Error),
    /// The child could not exec the runner.
    #[error("cannot execute runner {path}: {source}")]
    Exec {
        path: String,
        #[source]
        source: io::Error,
    },
    /// The runner did not stop for its uid and gid maps in time.
    #[error("the runner did not stop for its id maps within {0:?}")]
    IdMapTimeout(std::time::Duration),
    /// Waiting for the runner to stop failed.
    #[error("waiting for the runner to stop for its id maps: {0}")]
    IdMapWait(#[source] io::Error),
}

/// Writes the uid and gid maps of a runner that stopped itself in its new user namespace
/// (`RunnerConfig::ids_mapped_by_host`), each mapping `id` to itself and nothing else, and
/// continues it. The runner never has to make itself dumpable to write them.
///
/// Waits at most `within` for the stop. A runner that ends instead is left as it is, for
/// the caller to reap and report; a write that fails (the runner's unshare failed, so its
/// namespace is the host's) is the runner's to see and report, since it checks its maps.
pub fn map_runner_ids(pid: Pid, id: u32, within: std::time::Duration) -> Result<(), SpawnError> {
    use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
    let until = std::time::Instant::now() + within;
    // Looked at, not consumed: an exit stays for the caller's wait4.
    let peek = WaitPidFlag::WSTOPPED | WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT;
    loop {
        match waitid(Id::Pid(pid), peek | WaitPidFlag::WNOHANG) {
            Ok(WaitStatus::Stopped(..)) => break,
            Ok(WaitStatus::StillAlive) if std::time::Instant::now() < until => {
                std::thread::sleep(STOP_LOOKED_AT_EVERY);
            }
            Ok(WaitStatus::StillAlive) => return Err(SpawnError::IdMapTimeout(within)),
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(SpawnError::IdMapWait(e.into())),
        }
    }
    // The stop, consumed now that it is seen.
    let _ = waitid(Id::Pid(pid), WaitPidFlag::WSTOPPED | WaitPidFlag::WNOHANG);
    let proc = format!("/proc/{pid}");
    // setgroups first: a gid map is refused while the namespace may still call setgroups.
    for (file, text) in [
        ("setgroups", "deny".to_owned()),
        ("uid_map", format!("{id} {id} 1")),
        ("gid_map", format!("{id} {id} 1")),
    ] {
        let _ = std::fs::write(format!("{proc}/{file}"), text);
    }
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT);
    Ok(())
}

/// How often the host looks whether a runner has stopped for its maps: every moment between
/// its stop and the look is activation time (a sleep of a millisecond cost half of one on
/// average). A look is one `waitid`.
const STOP_LOOKED_AT_EVERY: std::time::Duration = std::time::Duration::from_micros(50);

/// Gives up on a runner not yet handed to its supervisor: kills and reaps it, so that
/// nothing of it is left behind.
pub fn kill_and_reap(pid: Pid) {
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    let _ = nix::sys::wait::waitpid(pid, None);
}

/// A started runner: its pid and the host ends of its descriptors.
#[derive(Debug)]
pub struct RunnerProcess {
    /// Process id (in the host's pid namespace).
    pub pid: Pid,
    /// Host end of the channel socketpair.
    pub channel: OwnedFd,
    /// Read end of the violation pipe.
    pub violations: OwnedFd,
    /// Host end of the liveness socketpair.
    pub liveness: OwnedFd,
}

/// Forks and execs `runner` with `args`, the environment `env` alone (empty but for the
/// development mode's sanitizer preload), stdin/stdout on /dev/null,
/// stderr there too unless `placed` names another descriptor for it, the channel on fd 3, the violation pipe on fd 4, the liveness socket on fd 5,
/// the sealed plugin (when given) on fd 6, the payload window (when given) on fd 7, the
/// low-latency mode's ring memory (when given) on fd 8 and nothing else open (`close_inherited`; without it, a descriptor of the host's that is not
/// close-on-exec stays open for the runner to close: the conformance suite's way to show
/// the runner's own closing alone).
///
/// The fork happens on one long-lived spawner thread: the kernel sends the parent-death
/// signal when the *thread* that forked exits, so forking from a short-lived caller thread
/// (a worker pool, a request handler) would kill the runner with it.
pub fn spawn_runner(
    runner: &Path,
    args: &[String],
    env: &[String],
    placed: Placed<'_>,
    cgroups: &[std::path::PathBuf],
    close_inherited: bool,
) -> Result<RunnerProcess, SpawnError> {
    type Job = (
        std::path::PathBuf,
        Vec<String>,
        Vec<String>,
        [Option<OwnedFd>; 3],
        Option<OwnedFd>,
        Vec<std::path::PathBuf>,
        bool,
        std::sync::mpsc::Sender<Result<RunnerProcess, SpawnError>>,
    );
    static SPAWNER: std::sync::OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<Job>>> =
        std::sync::OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        // Never joined: it lives as long as the process, which is the point.
        let _ = std::thread::Builder::new()
            .name("sbx-spawner".into())
            .spawn(move || {
                // Every signal blocked on this thread, so none can run a host handler in a
                // child between fork and exec; the child resets them before exec.
                // SAFETY: sigfillset and pthread_sigmask on a local set for this thread.
                unsafe {
                    let mut all: libc::sigset_t = std::mem::zeroed();
                    libc::sigfillset(&mut all);
                    libc::pthread_sigmask(libc::SIG_SETMASK, &all, std::ptr::null_mut());
                }
                for (runner, args, env, optional, stderr, cgroups, close, reply) in rx {
                    let sent = fork_exec(&runner, &args, &env, optional, stderr, &cgroups, close);
                    let _ = reply.send(sent);
                }
            });
        std::sync::Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = std::sync::mpsc::channel();
    // Copies above 10 (close-on-exec) the spawner thread owns until the child has them on
    // fds 6 to 8.
    let above_ten = |fd: Option<std::os::fd::BorrowedFd<'_>>| {
        fd.map(above).transpose().map_err(SpawnError::Prepare)
    };
    let optional = [
        above_ten(placed.plugin)?,
        above_ten(placed.window)?,
        above_ten(placed.ring)?,
    ];
    let stderr = above_ten(placed.stderr)?;
    let job = (
        runner.to_path_buf(),
        args.to_vec(),
        env.to_vec(),
        optional,
        stderr,
        cgroups.to_vec(),
        close_inherited,
        reply_tx,
    );
    let sent = spawner
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send(job)
        .is_ok();
    if !sent {
        return Err(SpawnError::Prepare(io::Error::other(
            "spawner thread is gone",
        )));
    }
    reply_rx.recv().unwrap_or_else(|_| {
        Err(SpawnError::Prepare(io::Error::other(
            "spawner thread is gone",
        )))
    })
}

/// The descriptors a runner may be given besides those every runner gets.
#[derive(Debug, Clone, Copy, Default)]
pub struct Placed<'a> {
    /// The sealed plugin, for fd 6.
    pub plugin: Option<std::os::fd::BorrowedFd<'a>>,
    /// The payload window, for fd 7.
    pub window: Option<std::os::fd::BorrowedFd<'a>>,
    /// The low-latency mode's ring memory, for fd 8.
    pub ring: Option<std::os::fd::BorrowedFd<'a>>,
    /// Where the runner's stderr goes: the development mode's pipe, which carries what a
    /// sanitizer's runtime reports; none: /dev/null.
    pub stderr: Option<std::os::fd::BorrowedFd<'a>>,
}

/// Where each of [`Placed`]'s descriptors goes, in its order.
const OPTIONAL_FDS: [RawFd; 3] = [PLUGIN_FD, PAYLOAD_WINDOW_FD, RING_FD];

fn fork_exec(
    runner: &Path,
    args: &[String],
    env: &[String],
    optional: [Option<OwnedFd>; 3],
    stderr: Option<OwnedFd>,
    cgroups: &[std::path::PathBuf],
    close_inherited: bool,
) -> Result<RunnerProcess, SpawnError> {
    let prep = SpawnError::Prepare;
    // Host ends are close-on-exec; the child ends are moved to 3, 4 and 5 by dup2, which
    // clears close-on-exec on the copies only.
    let (host_end, child_end) = stream_pair().map_err(prep)?;
    let (viol_read, viol_write) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| prep(e.into()))?;
    let (live_host, live_child) = stream_pair().map_err(prep)?;
    // Reports exec failure: stays open (close-on-exec) until exec succeeds.
    let (err_read, err_write) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| prep(e.into()))?;
    let devnull = nix::fcntl::open(
        "/dev/null",
        nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| prep(e.into()))?;
    // dup2 onto 3 to 6 must not clobber a source: move every source above 10 first.
    let child_end = above(child_end).map_err(prep)?;
    let viol_write = above(viol_write).map_err(prep)?;
    let live_child = above(live_child).map_err(prep)?;
    let devnull = above(devnull).map_err(prep)?;
    let err_write = above(err_write).map_err(prep)?;

    let path =
        CString::new(runner.as_os_str().as_bytes()).map_err(|e| prep(io::Error::other(e)))?;
    let mut argv_c = vec![path.clone()];
    for a in args {
        argv_c.push(CString::new(a.as_bytes()).map_err(|e| prep(io::Error::other(e)))?);
    }
    let cgroup_c = cgroups
        .iter()
        .map(|p| CString::new(p.as_os_str().as_bytes()).map_err(|e| prep(io::Error::other(e))))
        .collect::<Result<Vec<_>, _>>()?;
    let cgroup_ptrs: Vec<*const libc::c_char> = cgroup_c.iter().map(|c| c.as_ptr()).collect();
    let mut argv: Vec<*const libc::c_char> = argv_c.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let env_c = env
        .iter()
        .map(|e| CString::new(e.as_bytes()).map_err(|e| prep(io::Error::other(e))))
        .collect::<Result<Vec<_>, _>>()?;
    let mut envp: Vec<*const libc::c_char> = env_c.iter().map(|e| e.as_ptr()).collect();
    envp.push(std::ptr::null());
    let host_pid = std::process::id() as libc::pid_t;
    let fds = ChildFds {
        channel: child_end.as_raw_fd(),
        violations: viol_write.as_raw_fd(),
        liveness: live_child.as_raw_fd(),
        devnull: devnull.as_raw_fd(),
        stderr: stderr
            .as_ref()
            .map_or(devnull.as_raw_fd(), |fd| fd.as_raw_fd()),
        err: err_write.as_raw_fd(),
        optional: optional
            .each_ref()
            .map(|fd| fd.as_ref().map_or(-1, |fd| fd.as_raw_fd())),
        cgroups: &cgroup_ptrs,
        close_inherited,
    };

    // SAFETY: fork in a multi-threaded process; the child only runs `child_after_fork`,
    // which makes async-signal-safe calls on memory prepared above and never returns.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(SpawnError::Fork(io::Error::last_os_error()));
    }
    if pid == 0 {
        // SAFETY: we are the child of fork; see `child_after_fork`.
        unsafe { child_after_fork(&fds, host_pid, path.as_ptr(), argv.as_ptr(), envp.as_ptr()) }
    }
    drop(child_end);
    drop(optional);
    drop(stderr);
    drop(viol_write);
    drop(live_child);
    drop(devnull);
    drop(err_write);
    let pid = Pid::from_raw(pid);

    // EOF on the error pipe means exec succeeded; four bytes are the child's errno.
    let mut errno = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match nix::unistd::read(&err_read, &mut errno[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => {
                // Cannot tell whether exec worked: leave nothing behind.
                kill_and_reap(pid);
                return Err(prep(e.into()));
            }
        }
    }
    if got == 4 {
        // The child has exited with 127; reap it so no zombie is left.
        let _ = nix::sys::wait::waitpid(pid, None);
        return Err(SpawnError::Exec {
            path: runner.display().to_string(),
            source: io::Error::from_raw_os_error(i32::from_ne_bytes(errno)),
        });
    }
    Ok(RunnerProcess {
        pid,
        channel: host_end,
        violations: viol_read,
        liveness: live_host,
    })
}

struct ChildFds<'a> {
    channel: RawFd,
    violations: RawFd,
    liveness: RawFd,
    devnull: RawFd,
    /// The descriptor for stderr: `devnull`, or the development mode's pipe.
    stderr: RawFd,
    err: RawFd,
    /// The sealed plugin, the payload window and the ring (each above 10), or -1 each:
    /// for [`OPTIONAL_FDS`].
    optional: [RawFd; 3],
    /// `cgroup.procs` files to join before exec (NUL-terminated paths).
    cgroups: &'a [*const libc::c_char],
    /// Close every descriptor not placed (see [`spawn_runner`]).
    close_inherited: bool,
}

/// A connected pair of stream sockets, both close-on-exec.
fn stream_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::sys::socket::socketpair(
        nix::sys::socket::AddressFamily::Unix,
        nix::sys::socket::SockType::Stream,
        None,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
    )?)
}

/// Duplicates `fd` to a number >= 10 (close-on-exec); an owned original is closed once
/// duplicated, a borrowed one stays its owner's.
fn above(fd: impl AsFd) -> io::Result<OwnedFd> {
    let new = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(10))?;
    // SAFETY: F_DUPFD_CLOEXEC returned a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// The child between fork and exec. Async-signal-safe calls only; never returns.
///
/// # Safety
/// Must be called only in the child of `fork`, with pointers valid in the parent's memory
/// image (the child has a copy).
unsafe fn child_after_fork(
    fds: &ChildFds<'_>,
    host_pid: libc::pid_t,
    path: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
) -> ! {
    // SAFETY: each call below is async-signal-safe and uses only descriptors and pointers
    // prepared before fork.
    unsafe {
        // Die with the host: the runner must never outlive the process supervising it.
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
            fail(fds.err);
        }
        // The host may have died between fork and prctl.
        if libc::getppid() != host_pid {
            libc::_exit(127);
        }
        // Into the plugin's cgroups before exec: the cap binds from the runner's first
        // instruction. open/write/close are async-signal-safe.
        for &procs in fds.cgroups {
            let fd = libc::open(procs, libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                fail(fds.err);
            }
            libc::close(fd);
        }
        // Own session: no controlling terminal to inject into, and killpg reaches only us.
        if libc::setsid() < 0 {
            fail(fds.err);
        }
        for (from, to) in [
            (fds.devnull, 0),
            (fds.devnull, 1),
            (fds.stderr, 2),
            (fds.channel, CHANNEL_FD),
            (fds.violations, VIOLATION_FD),
            (fds.liveness, LIVENESS_FD),
        ] {
            if libc::dup2(from, to) < 0 {
                fail(fds.err);
            }
        }
        let mut last_kept = LIVENESS_FD;
        for (from, to) in fds.optional.into_iter().zip(OPTIONAL_FDS) {
            if from >= 0 {
                if libc::dup2(from, to) < 0 {
                    fail(fds.err);
                }
                last_kept = to;
            }
        }
        // A slot left empty below the last one placed is outside the range closed next:
        // nothing may stay there.
        for (from, to) in fds.optional.into_iter().zip(OPTIONAL_FDS) {
            if from < 0 && to < last_kept {
                libc::close(to);
            }
        }
        // Every other descriptor is closed, except the error pipe, which is close-on-exec
        // and must survive until exec to report a failure.
        if fds.close_inherited && fds.err > last_kept + 1 {
            libc::syscall(
                libc::SYS_close_range,
                (last_kept + 1) as libc::c_uint,
                (fds.err - 1) as libc::c_uint,
                0 as libc::c_uint,
            );
        }
        if fds.close_inherited {
            libc::syscall(
                libc::SYS_close_range,
                (fds.err + 1) as libc::c_uint,
                libc::c_uint::MAX,
                0 as libc::c_uint,
            );
        }
        // Ignored dispositions survive exec: reset every signal to its default, then unblock
        // (the spawner thread forks with everything blocked) right before exec.
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        for sig in 1..libc::SIGRTMAX() {
            libc::sigaction(sig, &dfl, std::ptr::null_mut());
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        libc::execve(path, argv, envp);
        fail(fds.err)
    }
}

/// Writes errno to the error pipe and exits. Async-signal-safe.
///
/// # Safety
/// Child of fork only.
unsafe fn fail(err_fd: RawFd) -> ! {
    // SAFETY: __errno_location, write and _exit are async-signal-safe.
    unsafe {
        let errno = *libc::__errno_location();
        let bytes = errno.to_ne_bytes();
        libc::write(err_fd, bytes.as_ptr().cast(), bytes.len());
        libc::_exit(127)
    }
}
