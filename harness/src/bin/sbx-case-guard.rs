//! `sbx-case-guard`: owns one conformance case's process tree (see `sbx_harness::guard`).
//!
//! usage: sbx-case-guard --report-fd N [--nproc N] [--address-space BYTES] [--nofile N]
//!                       [--cgroup DIR]... -- ADAPTER [ARGS...]
//!
//! The guard is single-threaded: `Command::spawn` is safe to use here.

use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sbx_harness::guard::{GuardReport, GuardStarted, LeftProcess};
use sbx_harness::procfs::descendants;

static SIGURG_COUNT: AtomicU64 = AtomicU64::new(0);
static TERMINATE: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigurg(_: libc::c_int) {
    SIGURG_COUNT.fetch_add(1, Ordering::Relaxed);
}

extern "C" fn on_sigterm(_: libc::c_int) {
    TERMINATE.store(true, Ordering::Relaxed);
}

struct Args {
    report_fd: i32,
    nproc: Option<u64>,
    address_space: Option<u64>,
    nofile: Option<u64>,
    cgroups: Vec<String>,
    command: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args {
        report_fd: -1,
        nproc: None,
        address_space: None,
        nofile: None,
        cgroups: Vec::new(),
        command: Vec::new(),
    };
    let number = |v: Option<String>, what: &str| -> Result<u64, String> {
        v.ok_or(format!("{what} needs a value"))?
            .parse()
            .map_err(|_| format!("{what}: not a number"))
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--report-fd" => parsed.report_fd = number(args.next(), "--report-fd")? as i32,
            "--nproc" => parsed.nproc = Some(number(args.next(), "--nproc")?),
            "--address-space" => {
                parsed.address_space = Some(number(args.next(), "--address-space")?)
            }
            "--nofile" => parsed.nofile = Some(number(args.next(), "--nofile")?),
            "--cgroup" => parsed
                .cgroups
                .push(args.next().ok_or("--cgroup needs a dir")?),
            "--" => {
                parsed.command = args.collect();
                break;
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if parsed.report_fd < 3 || parsed.command.is_empty() {
        return Err("usage: sbx-case-guard --report-fd N [limits] -- ADAPTER [ARGS...]".into());
    }
    Ok(parsed)
}

fn install(signal: libc::c_int, handler: extern "C" fn(libc::c_int)) {
    // SAFETY: a zeroed sigaction with a handler that only touches atomics
    // (async-signal-safe), an empty mask and no flags.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signal, &action, std::ptr::null_mut());
    }
}

fn set_limit(resource: libc::__rlimit_resource_t, value: u64) -> std::io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    // SAFETY: setrlimit with a valid pointer to a local struct.
    if unsafe { libc::setrlimit(resource, &lim) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// A pseudo-terminal that becomes the adapter's controlling terminal, as the terminal a
/// user's host runs in would be. The guard holds the master, to see what reaches the
/// terminal, and a slave descriptor, so that it never hangs up while the case runs.
struct Terminal {
    master: OwnedFd,
    _slave: OwnedFd,
    slave_path: CString,
}

fn open_terminal() -> std::io::Result<Terminal> {
    let fail = || Err(std::io::Error::last_os_error());
    // SAFETY: posix_openpt returns a new descriptor or -1.
    let master = unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
    if master < 0 {
        return fail();
    }
    // SAFETY: a descriptor just created, owned by nothing else.
    let master = unsafe { OwnedFd::from_raw_fd(master) };
    let fd = master.as_raw_fd();
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: grantpt, unlockpt and ptsname_r on our master, into a buffer of its length;
    // fcntl sets O_NONBLOCK on it.
    unsafe {
        if libc::grantpt(fd) != 0
            || libc::unlockpt(fd) != 0
            || libc::ptsname_r(fd, name.as_mut_ptr(), name.len()) != 0
            || libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK) != 0
        {
            return fail();
        }
    }
    // SAFETY: ptsname_r wrote a NUL-terminated path into `name`.
    let slave_path = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }.to_owned();
    // SAFETY: open of a path we hold, as a new descriptor.
    let slave = unsafe {
        libc::open(
            slave_path.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if slave < 0 {
        return fail();
    }
    Ok(Terminal {
        master,
        // SAFETY: a descriptor just created, owned by nothing else.
        _slave: unsafe { OwnedFd::from_raw_fd(slave) },
        slave_path,
    })
}

impl Terminal {
    /// What reached the terminal: its byte count and the first of them, as text.
    fn drain(&self) -> (u64, String) {
        let mut total = 0u64;
        let mut first = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: a non-blocking read into a buffer of its length.
            let n =
                unsafe { libc::read(self.master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
            total += n as u64;
            if first.len() < 160 {
                first.extend_from_slice(&buf[..(n as usize).min(160 - first.len())]);
            }
        }
        (total, String::from_utf8_lossy(&first).into_owned())
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sbx-case-guard: {e}");
            return ExitCode::from(64);
        }
    };
    // SAFETY: the harness passed this descriptor open for us; nothing else owns it.
    let mut report = unsafe { std::fs::File::from_raw_fd(args.report_fd) };
    // SAFETY: F_SETFD on our own descriptor: the adapter must not inherit the report pipe.
    unsafe { libc::fcntl(args.report_fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    // SAFETY: prctl with integer arguments; makes orphans of the case our children.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    // Without SA_RESTART, so a SIGTERM interrupts the blocking waitpid below.
    install(libc::SIGURG, on_sigurg);
    install(libc::SIGTERM, on_sigterm);
    let mut warnings = Vec::new();
    for dir in &args.cgroups {
        let me = std::process::id().to_string();
        if let Err(e) = std::fs::write(format!("{dir}/cgroup.procs"), &me) {
            warnings.push(format!("cgroup {dir}: {e}"));
        }
    }
    for (resource, value, name) in [
        (libc::RLIMIT_NPROC, args.nproc, "RLIMIT_NPROC"),
        (libc::RLIMIT_AS, args.address_space, "RLIMIT_AS"),
        (libc::RLIMIT_NOFILE, args.nofile, "RLIMIT_NOFILE"),
    ] {
        if let Some(v) = value
            && let Err(e) = set_limit(resource, v)
        {
            warnings.push(format!("{name}: {e}"));
        }
    }
    let terminal = match open_terminal() {
        Ok(t) => Some(t),
        Err(e) => {
            warnings.push(format!("no terminal for the adapter: {e}"));
            None
        }
    };
    let mut command = Command::new(&args.command[0]);
    command.args(&args.command[1..]);
    if let Some(path) = terminal.as_ref().map(|t| t.slave_path.clone()) {
        // SAFETY: between fork and exec only setsid, open, ioctl and close, all
        // async-signal-safe (and this guard is single-threaded).
        unsafe {
            command.pre_exec(move || {
                // A session of its own whose controlling terminal is ours.
                libc::setsid();
                let fd = libc::open(path.as_ptr(), libc::O_RDWR);
                if fd >= 0 {
                    libc::ioctl(fd, libc::TIOCSCTTY, 0);
                    libc::close(fd);
                }
                Ok(())
            })
        };
    }
    let child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sbx-case-guard: cannot start {}: {e}", args.command[0]);
            return ExitCode::from(69);
        }
    };
    let adapter = child.id() as i32;
    let started = GuardStarted {
        adapter_pid: adapter,
        limit_warnings: warnings,
    };
    let _ = writeln!(
        report,
        "{}",
        serde_json::to_string(&started).unwrap_or_default()
    );
    let mut result = GuardReport::default();
    // Wait for the adapter, reaping whatever else ends meanwhile (orphans are ours now).
    loop {
        if TERMINATE.load(Ordering::Relaxed) && !result.adapter_killed_by_guard {
            result.adapter_killed_by_guard = true;
            // SAFETY: kill on a pid we own (our child, not yet reaped).
            unsafe { libc::kill(adapter, libc::SIGKILL) };
        }
        let mut status = 0;
        // SAFETY: waitpid with a valid status pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid == adapter {
            if libc::WIFEXITED(status) {
                result.adapter_exit_code = Some(libc::WEXITSTATUS(status));
            } else if libc::WIFSIGNALED(status) {
                result.adapter_signal = Some(libc::WTERMSIG(status));
            }
            break;
        }
        if pid < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD) {
            break;
        }
    }
    // A process of a dying tree gets a moment to end (a sandbox that killed its plugin as
    // it exited has not waited for it): it is left when it still runs 50 ms on. An adapter
    // that ended everything before it exited leaves nothing to wait for.
    let me = std::process::id() as i32;
    let alive = || -> Vec<LeftProcess> {
        descendants(me)
            .into_iter()
            .filter(|(_, _, state)| state != "Z")
            .map(|(pid, name, state)| LeftProcess { pid, name, state })
            .collect()
    };
    // Zombies are reaped as they come: a pid namespace's init that is ending waits until
    // every process of its namespace is reaped, and those whose parent was outside it are
    // this guard's to reap now (their parent ended with the adapter).
    let until = Instant::now() + Duration::from_millis(50);
    reap_ended_children();
    result.left = alive();
    while !result.left.is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
        reap_ended_children();
        result.left = alive();
    }
    // Kill and reap everything, repeatedly: a fork bomb forks while we kill.
    for _ in 0..200 {
        let rest = descendants(me);
        if rest.is_empty() {
            break;
        }
        for (pid, _, _) in &rest {
            // SAFETY: kill on a descendant pid of ours; at worst ESRCH.
            unsafe { libc::kill(*pid, libc::SIGKILL) };
        }
        reap_ended_children();
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: getrusage with a valid pointer to a zeroed struct.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u
    };
    result.peak_rss_kib = usage.ru_maxrss.max(0) as u64;
    let micros = |t: libc::timeval| t.tv_sec.max(0) as u64 * 1_000_000 + t.tv_usec.max(0) as u64;
    result.cpu_us = micros(usage.ru_utime) + micros(usage.ru_stime);
    result.sigurg_received = SIGURG_COUNT.load(Ordering::Relaxed);
    if let Some(t) = &terminal {
        (result.terminal_bytes, result.terminal_excerpt) = t.drain();
    }
    let _ = writeln!(
        report,
        "{}",
        serde_json::to_string(&result).unwrap_or_default()
    );
    ExitCode::SUCCESS
}

/// Reaps every child of this guard that has ended, without waiting for one that has not.
fn reap_ended_children() {
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a valid status pointer, non-blocking.
        if unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) } <= 0 {
            break;
        }
    }
}
