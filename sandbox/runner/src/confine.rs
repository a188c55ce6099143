//! The confinement sequence, in one function, a step per line, in the order it must run.
//!
//! Runs in the runner right after exec: a fresh single-threaded process holding the
//! descriptors the host placed (the channel on fd 3, the violation pipe on 4, ...; the host
//! closed the rest, and the first step closes any it left), with no plugin byte loaded yet.
//! Every step
//! records what it achieved in the [`EnforcementReport`]; a step the kernel refuses is
//! recorded as unavailable, never skipped silently.

use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, LandlockStatus, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope, path_beneath_rules,
};

use sbx_contract::config::{Layers, RunnerConfig};
use sbx_contract::enforcement::{EnforcementReport, LOAD_GUARD_LAYER, Status};
use sbx_contract::fds::{CHANNEL_FD, LIVENESS_FD, PAYLOAD_WINDOW_FD, PLUGIN_FD, VIOLATION_FD};
use sbx_policy::seccomp::{PolicyError, SeccompPolicy, Substitutions};

/// The Landlock ABI whose rights the runner asks for (filesystem, TCP, signal and abstract
/// unix socket scopes). Newer kernels enforce it fully; older ones partially (reported).
pub const LANDLOCK_ABI: ABI = ABI::V6;

/// A confinement step failed in a way that makes running unsafe or impossible.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfineError {
    /// The runner was not started with its descriptors in place.
    #[error("descriptor {fd} is not open: the runner must be started by the host")]
    MissingDescriptor { fd: RawFd },
    /// The host died before confinement finished.
    #[error("the host (pid {expected}) is gone")]
    HostGone { expected: u32 },
    /// A step failed after it had started changing the process (cannot continue safely).
    #[error("{step}: {source}")]
    Step {
        step: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The seccomp policy does not compile.
    #[error("seccomp policy: {0}")]
    Policy(#[from] PolicyError),
}

/// The result of [`confine`]: what is in force, and the tighter seccomp stage to install once
/// the plugin is loaded.
pub struct Confined {
    /// What is in force.
    pub report: EnforcementReport,
    /// The `plugin` stage filter, when seccomp is on.
    pub plugin_stage: Option<Vec<seccompiler::BpfProgram>>,
    /// The listener of the `load_guard` stage, when seccomp is on: the host must hold it
    /// before the loader's first call beyond the `plugin` stage, which waits for it.
    pub load_guard: Option<OwnedFd>,
}

/// Confines the current process. See the module documentation for the contract.
pub fn confine(cfg: &RunnerConfig) -> Result<Confined, ConfineError> {
    let mut report = EnforcementReport::default();
    let layers = cfg.layers;
    // Our own descriptors must be there, and nothing else may be inherited.
    let placed = placed_descriptors(cfg);
    check_descriptors(&placed, layers.runner_closes_descriptors, &mut report)?;
    // rlimits first: lowering needs no privilege and they bind everything after, the loader
    // included (all but the process cap, set once the user namespace is made).
    apply_rlimits(cfg, &mut report)?;
    // Whether the host writes the user namespace's maps, and whether the plugin gets a uid
    // of its own, depend on the identity we start as.
    let started_as_root = nix::unistd::geteuid().is_root();
    // To tell, once namespaces are made, whether this process is in a user namespace of its
    // own (made even where mapping its ids then failed).
    let user_namespace_at_start = std::fs::read_link("/proc/self/ns/user").ok();
    let ids_by_host = cfg.ids_mapped_by_host(started_as_root);
    // Leave root before creating namespaces, so the user namespace maps an unprivileged uid.
    drop_identity(cfg, &mut report)?;
    // Changing credentials clears the parent-death signal: set it again, then check the host.
    rearm_parent_death(cfg.host_pid)?;
    // Namespaces need capabilities inside the new user namespace: before they are dropped.
    let pid_namespace = unshare_namespaces(layers, ids_by_host, &mut report);
    // Before the first fork. Set inside the user namespace, the cap counts the tasks of the
    // namespace alone: the kernel holds each namespace's count to the cap its tasks have, and
    // the count of the uid outside to the cap of the namespace's creator, as it was when
    // the namespace was made (the host's, not this one).
    apply_process_cap(
        cfg,
        started_as_root,
        user_namespace_at_start.as_deref(),
        &mut report,
    )?;
    // Not dumpable from here on, and nobody attached while the runner still was.
    seal_dumpable()?;
    // The pid namespace's init and the plugin's process start here, while they still hold
    // their user namespace's capabilities: the plugin's process needs them to make its
    // root (and /proc of its namespace, which only a process inside it can mount). The
    // init and the runner's first process drop them at once and only wait.
    if pid_namespace {
        super::init::start_plugin_process(|| hold_no_privilege(layers), &placed).map_err(
            |source| ConfineError::Step {
                step: "pid namespace: starting the plugin's process",
                source,
            },
        )?;
        report.record(
            "namespace.pid",
            Status::Applied,
            "the plugin's process is pid 2 of a pid namespace of its own, beside an init that holds nothing: no process of the host or of another plugin has an id in it; the runner's first process waits outside it and ends as it ends",
        );
    }
    // Before the capabilities go (mount and pivot_root need them) and before Landlock,
    // which forbids both.
    enter_empty_root(cfg, pid_namespace, &mut report)?;
    // Capabilities last among privileged steps: dropping the bounding set needs CAP_SETPCAP.
    drop_capabilities(layers, &mut report)?;
    // no_new_privs: required for unprivileged Landlock and seccomp; forbids gaining privilege by exec.
    set_no_new_privs(layers, &mut report)?;
    // Landlock: the plugin file and the loader's paths, read-only; no TCP; no signals or
    // abstract sockets out of the sandbox.
    restrict_landlock(cfg, &mut report);
    // glibc sizes its malloc arenas by the CPU count, which it reads from /sys the first time
    // a ninth thread allocates under contention: an openat the filter kills, at random, in
    // an honest multi-threaded plugin. A fixed limit means it never asks.
    limit_malloc_arenas();
    // It also reads /proc/sys/vm/overcommit_memory the first time a thread's arena gives
    // memory back: asked now, the answer is kept for the process's life.
    settle_heap_shrink_check();
    // The SIGSYS handler must be in place before the filter that raises SIGSYS.
    super::violation::install_handler(cfg.development).map_err(|source| ConfineError::Step {
        step: "SIGSYS handler",
        source,
    })?;
    if cfg.development && layers.seccomp {
        // Weaker than configured: what strictness refuses, and every report shows.
        report.record(
            "seccomp.refusal",
            Status::Partial,
            "development mode: a call the filter refuses is reported (its arguments, the plugin's frames) and fails with EPERM, and the plugin goes on; the kill list still ends it. Not for production",
        );
    }
    // Seccomp last: from here on, every syscall of the loader and of plugin constructors is filtered.
    let (plugin_stage, load_guard) = install_seccomp(layers, &mut report)?.unzip();
    Ok(Confined {
        report,
        plugin_stage,
        load_guard,
    })
}

/// Fixes glibc's malloc arena limit (`M_ARENA_MAX`), so that no allocation ever has to read
/// the CPU count from the file system.
fn limit_malloc_arenas() {
    // SAFETY: mallopt changes a malloc tunable of this process; no pointer is involved, and no
    // other thread runs yet.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, MALLOC_ARENAS) };
}

/// Makes glibc decide, once and before the filter, how it gives a thread's arena memory back:
/// the first time it does (`shrink_heap`), it opens /proc/sys/vm/overcommit_memory and keeps
/// the answer in a static. Under the filter that open kills an honest plugin whose thread
/// frees a large block. A thread of this runner's frees blocks of its arena here, enough for
/// a trim: blocks below the mmap threshold (128 KiB) come from the arena, and freed together
/// they leave a top chunk beyond the trim threshold and pad (128 KiB each by default). Were
/// the open refused (Landlock is in force already), glibc keeps that answer all the same.
/// The blocks are never written: the trim counts their size, not their pages, and faulting
/// 400 KiB in was most of this step's cost at every activation.
fn settle_heap_shrink_check() {
    const BLOCK: usize = 100 << 10;
    let trim = std::thread::Builder::new().spawn(|| {
        let blocks: Vec<Vec<u8>> = (0..4).map(|_| Vec::with_capacity(BLOCK)).collect();
        drop(std::hint::black_box(blocks));
    });
    if let Ok(thread) = trim {
        let _ = thread.join();
    }
}

/// glibc's malloc arenas: its own default on a machine of one or two CPUs, enough for the
/// threads a plugin may have.
const MALLOC_ARENAS: libc::c_int = 8;

fn io_err(step: &'static str) -> impl FnOnce(nix::errno::Errno) -> ConfineError {
    move |e| ConfineError::Step {
        step,
        source: e.into(),
    }
}

/// The descriptors the host placed for this runner, in ascending order.
fn placed_descriptors(cfg: &RunnerConfig) -> Vec<i32> {
    let mut placed = vec![CHANNEL_FD, VIOLATION_FD, LIVENESS_FD];
    if cfg.plugin_fd {
        placed.push(PLUGIN_FD);
    }
    if cfg.payload_window > 0 {
        placed.push(PAYLOAD_WINDOW_FD);
    }
    placed
}

fn check_descriptors(
    ours: &[i32],
    close_others: bool,
    report: &mut EnforcementReport,
) -> Result<(), ConfineError> {
    let last = *ours.last().unwrap_or(&LIVENESS_FD);
    for &fd in ours {
        // SAFETY: F_GETFD only queries the descriptor table.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err(ConfineError::MissingDescriptor { fd });
        }
    }
    if !close_others {
        report.record(
            "descriptors",
            Status::Disabled,
            "switched off: descriptors the host left open stay",
        );
        return Ok(());
    }
    // SAFETY: closes descriptors above ours; none of them is owned by Rust code yet.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            (last + 1) as libc::c_uint,
            libc::c_uint::MAX,
            0 as libc::c_uint,
        )
    };
    if rc != 0 {
        return Err(ConfineError::Step {
            step: "close inherited descriptors",
            source: std::io::Error::last_os_error(),
        });
    }
    report.record(
        "descriptors",
        Status::Applied,
        format!("every descriptor above {last} closed"),
    );
    Ok(())
}

fn apply_rlimits(cfg: &RunnerConfig, report: &mut EnforcementReport) -> Result<(), ConfineError> {
    use nix::sys::resource::{Resource, setrlimit};
    let l = cfg.limits;
    let table = [
        ("rlimit.core", Resource::RLIMIT_CORE, 0, 0),
        (
            "rlimit.as",
            Resource::RLIMIT_AS,
            l.address_space_bytes,
            l.address_space_bytes,
        ),
        // Soft limit sends SIGXCPU; the hard limit one second later is a SIGKILL that cannot be ignored.
        (
            "rlimit.cpu",
            Resource::RLIMIT_CPU,
            l.cpu_seconds,
            l.cpu_seconds.saturating_add(1),
        ),
        (
            "rlimit.nofile",
            Resource::RLIMIT_NOFILE,
            l.open_files,
            l.open_files,
        ),
        (
            "rlimit.fsize",
            Resource::RLIMIT_FSIZE,
            l.file_size_bytes,
            l.file_size_bytes,
        ),
    ];
    for (name, resource, soft, hard) in table {
        // A core dump would write plugin memory to disk: it stays off even in mutants.
        if !cfg.layers.rlimits && name != "rlimit.core" {
            report.record(name, Status::Disabled, "switched off");
            continue;
        }
        setrlimit(resource, soft, hard).map_err(io_err(name))?;
        report.record(name, Status::Applied, format!("soft {soft}, hard {hard}"));
    }
    Ok(())
}

/// Sets RLIMIT_NPROC, the plugin's process and thread cap ([`process_cap`]);
/// `started_as_root`: the runner started as root (and left it for the uid its host chose,
/// unless the identity layer is off); `user_namespace_at_start`: the user namespace it
/// started in.
fn apply_process_cap(
    cfg: &RunnerConfig,
    started_as_root: bool,
    user_namespace_at_start: Option<&std::path::Path>,
    report: &mut EnforcementReport,
) -> Result<(), ConfineError> {
    const NAME: &str = "rlimit.nproc";
    if !cfg.layers.rlimits {
        report.record(NAME, Status::Disabled, "switched off");
        return Ok(());
    }
    let own_user_namespace = counts_tasks_per_user_namespace()
        && user_namespace_at_start.is_some_and(|before| {
            std::fs::read_link("/proc/self/ns/user").is_ok_and(|now| now != before)
        });
    let cap = process_cap(cfg, own_user_namespace, started_as_root);
    nix::sys::resource::setrlimit(
        nix::sys::resource::Resource::RLIMIT_NPROC,
        cap.limit,
        cap.limit,
    )
    .map_err(io_err(NAME))?;
    // Outside a user namespace of its own, the kernel holds root to no process cap.
    let still_root = !own_user_namespace && nix::unistd::getuid().is_root();
    match cap.shared_with {
        _ if still_root => report.record(
            NAME,
            Status::Partial,
            format!(
                "{}, which holds nothing: the runner is still root, and the kernel holds root \
                 to RLIMIT_NPROC only in a user namespace of its own",
                cap.limit
            ),
        ),
        Some(tasks) => report.record(
            NAME,
            Status::Partial,
            format!(
                "{0}: {1} for the plugin above the {tasks} other tasks its uid already had, a \
                 count it shares with every process of that user",
                cap.limit, cfg.limits.processes
            ),
        ),
        None => report.record(
            NAME,
            Status::Applied,
            format!(
                "{}, counted over the tasks of {}",
                cap.limit,
                if own_user_namespace {
                    "the plugin's own user namespace"
                } else {
                    "the uid its host gave it"
                }
            ),
        ),
    }
    Ok(())
}

/// Whether the kernel counts RLIMIT_NPROC per user namespace (Linux 5.14 and later): before,
/// it counted a uid's tasks across the machine, in whatever namespace.
fn counts_tasks_per_user_namespace() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut numbers = release
        .split(|c: char| !c.is_ascii_digit())
        .map_while(|n| n.parse::<u32>().ok());
    (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0)) >= (5, 14)
}

/// RLIMIT_NPROC for the plugin, and the tasks it is counted with when its count is not its own.
struct ProcessCap {
    limit: u64,
    shared_with: Option<u64>,
}

/// The kernel (5.14 and later) counts RLIMIT_NPROC per user namespace and uid: over the
/// tasks of a uid in one namespace, and again over those of the uid outside that made it. In
/// a user namespace of its own the count is the plugin's alone, whoever the host is.
/// Without one (or on an older kernel), the count is the uid's across the machine: a root
/// host gives each plugin a uid of its own (one it may share by configuration:
/// `UnprivilegedId::Fixed`), and the cap is exact; a host that is not root cannot: the
/// plugin shares the uid, and the count, with every process of that user, so the cap is set
/// that many tasks above what they already hold (a later process of the user narrows it;
/// only a cgroup gives an exact cap).
fn process_cap(cfg: &RunnerConfig, own_user_namespace: bool, started_as_root: bool) -> ProcessCap {
    // The liveness thread and the init outside the pid namespace are the runner's, not the plugin's.
    let wanted = cfg
        .limits
        .processes
        .saturating_add(sbx_contract::fds::RUNNER_OWN_TASKS);
    let uid = nix::unistd::getuid();
    if own_user_namespace || started_as_root {
        return ProcessCap {
            limit: wanted,
            shared_with: None,
        };
    }
    // The runner's own task is the plugin's, as it is under a uid of its own.
    let others = tasks_of(uid.as_raw()).saturating_sub(1);
    ProcessCap {
        limit: wanted.saturating_add(others),
        shared_with: Some(others),
    }
}

/// Tasks (threads) of every process whose real uid is `uid`, this runner included.
fn tasks_of(uid: u32) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut tasks = 0u64;
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .as_encoded_bytes()
            .iter()
            .all(u8::is_ascii_digit)
        {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|value| value.parse::<u64>().ok())
        };
        if field("Uid:") == Some(u64::from(uid)) {
            tasks += field("Threads:").unwrap_or(1);
        }
    }
    tasks
}

fn drop_identity(cfg: &RunnerConfig, report: &mut EnforcementReport) -> Result<(), ConfineError> {
    let euid = nix::unistd::geteuid();
    if !cfg.layers.drop_identity {
        report.record(
            "identity",
            Status::Disabled,
            format!("switched off; uid {euid}"),
        );
        return Ok(());
    }
    if !euid.is_root() {
        report.record(
            "identity",
            Status::NotNeeded,
            format!("not root (uid {euid})"),
        );
        return Ok(());
    }
    let runner = std::process::id();
    let id = cfg
        .unprivileged_id
        .for_runner(runner)
        .ok_or(ConfineError::Step {
            step: "unprivileged id",
            source: std::io::Error::other(format!(
                "{:?} plus process id {runner} is past the largest uid",
                cfg.unprivileged_id
            )),
        })?;
    let gid = nix::unistd::Gid::from_raw(id);
    let uid = nix::unistd::Uid::from_raw(id);
    nix::unistd::setgroups(&[]).map_err(io_err("setgroups"))?;
    nix::unistd::setresgid(gid, gid, gid).map_err(io_err("setresgid"))?;
    // Leaving uid 0 without SECBIT_KEEP_CAPS empties every capability set.
    nix::unistd::setresuid(uid, uid, uid).map_err(io_err("setresuid"))?;
    report.record(
        "identity",
        Status::Applied,
        match cfg.unprivileged_id {
            sbx_contract::config::UnprivilegedId::PerPlugin { base } => format!(
                "uid/gid 0 -> {id} (this plugin's own: {base} + runner pid {runner}), no supplementary groups"
            ),
            sbx_contract::config::UnprivilegedId::Fixed(_) => {
                format!("uid/gid 0 -> {id} (shared by every plugin), no supplementary groups")
            }
        },
    );
    Ok(())
}

fn rearm_parent_death(host_pid: u32) -> Result<(), ConfineError> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) } != 0 {
        return Err(ConfineError::Step {
            step: "PR_SET_PDEATHSIG",
            source: std::io::Error::last_os_error(),
        });
    }
    if nix::unistd::getppid().as_raw() as u32 != host_pid {
        return Err(ConfineError::HostGone { expected: host_pid });
    }
    Ok(())
}

/// The namespaces; the user namespace's maps written by the host when `ids_by_host`
/// (`RunnerConfig::ids_mapped_by_host`), by the runner otherwise.
/// Unshares the namespaces, recording each; whether the next child will be in a pid
/// namespace of its own (its entry is recorded once the child runs).
fn unshare_namespaces(layers: Layers, ids_by_host: bool, report: &mut EnforcementReport) -> bool {
    use nix::sched::{CloneFlags, unshare};
    let names = ["user", "net", "mount", "ipc", "uts", "pid"];
    if !layers.namespaces {
        for n in names {
            report.record(format!("namespace.{n}"), Status::Disabled, "switched off");
        }
        return false;
    }
    let uid = nix::unistd::geteuid().as_raw();
    let gid = nix::unistd::getegid().as_raw();
    let user = if ids_by_host {
        // Leaving root made the process non-dumpable and its /proc/self/*_map root's: the
        // host writes them while the runner is stopped, and it never becomes dumpable.
        let unshared = unshare(CloneFlags::CLONE_NEWUSER).map_err(|e| e.to_string());
        // The host waits for this stop whatever unshare did, then continues the runner.
        let stopped = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP)
            .map_err(|e| format!("stopping for the host to map the ids: {e}"));
        unshared
            .and(stopped)
            .and_then(|()| check_ids_mapped(uid, gid))
            .map(|()| "by the host; the runner was never dumpable")
    } else {
        // Its host's own uid: dumpable anyway, to nothing that is not its host already.
        set_dumpable(true);
        let mapped = unshare(CloneFlags::CLONE_NEWUSER)
            .and_then(|()| map_ids(uid, gid))
            .map_err(|e| e.to_string());
        set_dumpable(false);
        mapped.map(|()| "by the runner, which runs as its host's uid")
    };
    match user {
        Ok(by) => report.record(
            "namespace.user",
            Status::Applied,
            format!("uid {uid} and gid {gid} mapped to themselves {by}, nothing else mapped"),
        ),
        Err(e) => report.record("namespace.user", Status::Unavailable, e),
    }
    for (name, flag, detail) in [
        (
            "net",
            CloneFlags::CLONE_NEWNET,
            "no interface but a down loopback",
        ),
        ("mount", CloneFlags::CLONE_NEWNS, "private mount table"),
        (
            "ipc",
            CloneFlags::CLONE_NEWIPC,
            "no System V IPC or POSIX queues shared",
        ),
        ("uts", CloneFlags::CLONE_NEWUTS, "private hostname"),
    ] {
        match unshare(flag) {
            Ok(()) => report.record(format!("namespace.{name}"), Status::Applied, detail),
            Err(e) => report.record(
                format!("namespace.{name}"),
                Status::Unavailable,
                format!("{e}"),
            ),
        }
    }
    // The namespace holds the runner's next child, not the runner: the plugin's process,
    // started once every other layer is in force (`init`).
    match unshare(CloneFlags::CLONE_NEWPID) {
        Ok(()) => true,
        Err(e) => {
            report.record("namespace.pid", Status::Unavailable, format!("{e}"));
            false
        }
    }
}

fn set_dumpable(on: bool) {
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, libc::c_ulong::from(on), 0, 0, 0) };
}

/// Non-dumpable: no process of the same uid can ptrace the runner or read its /proc
/// memory. Fails if a tracer attached while it was dumpable.
fn seal_dumpable() -> Result<(), ConfineError> {
    set_dumpable(false);
    let status =
        std::fs::read_to_string("/proc/self/status").map_err(|source| ConfineError::Step {
            step: "read /proc/self/status",
            source,
        })?;
    let tracer = status
        .lines()
        .find_map(|l| l.strip_prefix("TracerPid:"))
        .map(str::trim)
        .unwrap_or("0");
    if tracer != "0" {
        return Err(ConfineError::Step {
            step: "ptrace check",
            source: std::io::Error::other(format!("traced by pid {tracer}")),
        });
    }
    Ok(())
}

/// Whether the host mapped `uid` and `gid` to themselves, and nothing else, in the runner's
/// user namespace.
fn check_ids_mapped(uid: u32, gid: u32) -> Result<(), String> {
    for (file, id) in [("uid_map", uid), ("gid_map", gid)] {
        let path = format!("/proc/self/{file}");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?;
        let lines: Vec<Vec<&str>> = text
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        let expected = [id.to_string(), id.to_string(), "1".to_owned()];
        if lines.len() != 1 || lines[0] != expected {
            return Err(format!(
                "the host did not map {file} to {id} alone: {:?}",
                text.trim()
            ));
        }
    }
    Ok(())
}

fn map_ids(uid: u32, gid: u32) -> nix::Result<()> {
    use std::io::Write;
    let write = |path: &str, text: String| -> nix::Result<()> {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
    };
    // An unprivileged process may map only its own ids, and gid_map needs setgroups denied.
    write("/proc/self/setgroups", "deny".into())?;
    write("/proc/self/uid_map", format!("{uid} {uid} 1"))?;
    write("/proc/self/gid_map", format!("{gid} {gid} 1"))
}

/// The plugin's root: an empty one ([`super::root`]) where the mount namespace is the
/// runner's own, and for a sealed plugin (loaded through `/proc/self/fd`) the pid namespace
/// too.
fn enter_empty_root(
    cfg: &RunnerConfig,
    pid_namespace: bool,
    report: &mut EnforcementReport,
) -> Result<(), ConfineError> {
    if !cfg.layers.namespaces {
        report.record("root", Status::Disabled, "namespaces switched off");
        return Ok(());
    }
    if report
        .get("namespace.mount")
        .is_none_or(|l| l.status != Status::Applied)
    {
        report.record("root", Status::Unavailable, "no mount namespace of its own");
        return Ok(());
    }
    if cfg.plugin_fd && !pid_namespace {
        report.record(
            "root",
            Status::Unavailable,
            "a sealed plugin is loaded through /proc, which only a pid namespace of its own can have",
        );
        return Ok(());
    }
    let plugin = (!cfg.plugin_fd).then_some(cfg.plugin.as_path());
    match super::root::enter_empty_root(&cfg.loader_paths, plugin, cfg.plugin_fd) {
        Ok(root) => {
            let bound = root
                .bound
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            let proc = if root.proc {
                "; /proc of the plugin's pid namespace"
            } else {
                ""
            };
            report.record(
                "root",
                Status::Applied,
                format!(
                    "an empty tmpfs, read-only, holding only {bound}{proc}: no other host path exists for the plugin, not even to stat"
                ),
            );
            Ok(())
        }
        // Half made: the process holds no more than what was bound so far.
        Err(e) if e.switched => Err(ConfineError::Step {
            step: "empty root",
            source: e.source,
        }),
        Err(e) => {
            report.record("root", Status::Unavailable, e.to_string());
            Ok(())
        }
    }
}

/// Empties the capability sets and sets no_new_privs (as `layers` say), for the pid
/// namespace's init and the runner's first process: they start before the plugin's process
/// drops its own, and need none to wait.
fn hold_no_privilege(layers: Layers) -> std::io::Result<()> {
    let mut unused = EnforcementReport::default();
    drop_capabilities(layers, &mut unused).map_err(std::io::Error::other)?;
    if layers.no_new_privs {
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Empties every capability set (and the bounding set, where it can); the report says
/// what was dropped.
fn drop_capabilities(layers: Layers, report: &mut EnforcementReport) -> Result<(), ConfineError> {
    if !layers.drop_capabilities {
        report.record("capabilities", Status::Disabled, "switched off");
        return Ok(());
    }
    // SAFETY: prctl with integer arguments only.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    };
    let mut bounding_cleared = true;
    for cap in 0..64 {
        // SAFETY: prctl with integer arguments only.
        let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
        if rc != 0 {
            match nix::errno::Errno::last() {
                nix::errno::Errno::EINVAL => break, // past the last capability
                _ => bounding_cleared = false,      // no CAP_SETPCAP (no user namespace)
            }
        }
    }
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [CapData::default(); 2];
    // SAFETY: capset reads a valid header and two data elements, as version 3 requires.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    if rc != 0 {
        return Err(ConfineError::Step {
            step: "capset",
            source: std::io::Error::last_os_error(),
        });
    }
    let (effective, permitted) = current_capabilities();
    if effective != 0 || permitted != 0 {
        return Err(ConfineError::Step {
            step: "capset",
            source: std::io::Error::other(format!(
                "capabilities remain: effective {effective:#x}, permitted {permitted:#x}"
            )),
        });
    }
    let (status, detail) = if bounding_cleared {
        (
            Status::Applied,
            "effective, permitted, inheritable, ambient and bounding sets empty",
        )
    } else {
        // Without the bounding set a file capability could be gained by exec; exec is
        // refused by seccomp and no_new_privs forbids the gain anyway.
        (
            Status::Partial,
            "effective, permitted, inheritable and ambient sets empty; bounding set kept (no CAP_SETPCAP)",
        )
    };
    report.record("capabilities", status, detail);
    Ok(())
}

/// `_LINUX_CAPABILITY_VERSION_3`.
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The calling process's effective and permitted capability sets (64-bit masks).
pub fn current_capabilities() -> (u64, u64) {
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget writes two data elements for version 3, which `data` holds.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    if rc != 0 {
        return (u64::MAX, u64::MAX);
    }
    let join = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
    (
        join(data[0].effective, data[1].effective),
        join(data[0].permitted, data[1].permitted),
    )
}

fn set_no_new_privs(layers: Layers, report: &mut EnforcementReport) -> Result<(), ConfineError> {
    if !layers.no_new_privs {
        report.record("no_new_privs", Status::Disabled, "switched off");
        return Ok(());
    }
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(ConfineError::Step {
            step: "PR_SET_NO_NEW_PRIVS",
            source: std::io::Error::last_os_error(),
        });
    }
    report.record("no_new_privs", Status::Applied, "set");
    Ok(())
}

fn restrict_landlock(cfg: &RunnerConfig, report: &mut EnforcementReport) {
    let names = ["landlock.fs", "landlock.net", "landlock.scope"];
    if !cfg.layers.landlock {
        for n in names {
            report.record(n, Status::Disabled, "switched off");
        }
        return;
    }
    let abi = LANDLOCK_ABI;
    let mut paths = vec![cfg.plugin.clone()];
    paths.extend(cfg.loader_paths.iter().cloned());
    let result = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(abi))
        .and_then(|r| r.handle_access(AccessNet::from_all(abi)))
        .and_then(|r| r.scope(Scope::from_all(abi)))
        .and_then(|r| r.create())
        .and_then(|r| r.add_rules(path_beneath_rules(&paths, AccessFs::from_read(abi))))
        .and_then(|r| r.restrict_self());
    match result {
        Ok(status) => {
            let kernel = match status.landlock {
                LandlockStatus::Available { effective_abi, .. } => format!("{effective_abi:?}"),
                other => format!("{other:?}"),
            };
            let s = match status.ruleset {
                RulesetStatus::FullyEnforced => Status::Applied,
                RulesetStatus::PartiallyEnforced => Status::Partial,
                RulesetStatus::NotEnforced => Status::Unavailable,
            };
            let allowed = paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            report.record(
                "landlock.fs",
                s,
                format!("kernel ABI {kernel}, ruleset {abi:?}; read-only: {allowed}; nothing else"),
            );
            report.record("landlock.net", s, "TCP bind and connect refused");
            report.record(
                "landlock.scope",
                s,
                "no signals or abstract unix sockets outside the sandbox",
            );
        }
        Err(e) => {
            for n in names {
                report.record(n, Status::Unavailable, e.to_string());
            }
        }
    }
}

/// Installs the `loader` stage and the `load_guard` above it: the `plugin` stage to install
/// once loaded, and the guard's listener.
fn install_seccomp(
    layers: Layers,
    report: &mut EnforcementReport,
) -> Result<Option<(Vec<seccompiler::BpfProgram>, OwnedFd)>, ConfineError> {
    if !layers.seccomp {
        report.record("seccomp", Status::Disabled, "switched off");
        return Ok(None);
    }
    let policy = SeccompPolicy::reference()?;
    let subst = Substitutions {
        pid: std::process::id(),
    };
    // Compile everything before installing anything: after the first filter, a compile
    // failure could not even be reported.
    let first = policy.compile_first_stage("loader", subst)?;
    let guard = policy.compile_notifying_stage("load_guard", subst)?;
    // The plugin stage: its errno answers (a read-only open fails with EACCES), then its
    // allowlist.
    let mut plugin = policy.compile_stage_errno("plugin", subst)?;
    plugin.push(policy.compile_stage("plugin", subst)?);
    for filter in &first {
        seccompiler::apply_filter(filter).map_err(|e| ConfineError::Step {
            step: "seccomp",
            source: std::io::Error::other(e),
        })?;
    }
    // Last: a call it hands to the listener waits until the host holds it.
    let listener = install_with_listener(&guard).map_err(|source| ConfineError::Step {
        step: "seccomp load guard",
        source,
    })?;
    report.record(
        "seccomp",
        Status::Applied,
        format!(
            "x86_64 only; {} allow rules at load, {} once loaded; kill: {}; errno: {}, {} more once loaded",
            policy.stage_rules("loader")?.len(),
            policy.stage_rules("plugin")?.len(),
            policy.kill.len(),
            policy.errno.len(),
            policy.stages.get("plugin").map_or(0, |s| s.errno.len())
        ),
    );
    report.record(
        LOAD_GUARD_LAYER,
        Status::Applied,
        "every call the loader is allowed beyond the plugin's waits for the host, which lets it through only until the plugin is loaded: a Loaded the plugin forges ends the loader's rights as the runner's does",
    );
    Ok(Some((plugin, listener)))
}

/// Installs `filter` on this thread with a new listener (`SECCOMP_FILTER_FLAG_NEW_LISTENER`),
/// and returns the listener.
fn install_with_listener(filter: &seccompiler::BpfProgram) -> std::io::Result<OwnedFd> {
    let prog = libc::sock_fprog {
        len: u16::try_from(filter.len()).map_err(std::io::Error::other)?,
        // seccompiler's instruction has the kernel's layout (`#[repr(C)]`, code, jt, jf, k).
        filter: filter.as_ptr().cast::<libc::sock_filter>().cast_mut(),
    };
    // SAFETY: seccomp(2) copies the program `prog` describes (valid for the call) into the
    // kernel and keeps no pointer to it; no_new_privs is set (seccompiler's filters before
    // this one needed it too).
    let fd = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
            &prog as *const libc::sock_fprog,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let fd = i32::try_from(fd).map_err(std::io::Error::other)?;
    // SAFETY: seccomp returned a fresh descriptor, the listener, which nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// NUL-terminated copy of a path, for dlopen.
pub fn c_path(p: &std::path::Path) -> Option<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes()).ok()
}
