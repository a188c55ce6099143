//! What the harness reads of `/proc`: a process tree, its CPU time, its peak memory, its
//! threads and descriptors. (The census of what a plugin's process was handed is
//! `handed.rs`'s.)

use std::path::Path;

use crate::session::BAIT_FD;

/// Descendants of `root` (not `root` itself), from `/proc`, with their command names and
/// states (`R`, `S`, `Z`, ...). A process that ends while it is read is left out.
pub fn descendants(root: i32) -> Vec<(i32, String, String)> {
    below(root)
        .into_iter()
        .map(|p| (p.pid, p.comm, p.state.to_string()))
        .collect()
}

/// A process below a root, as [`below`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Below {
    /// Its pid.
    pub pid: i32,
    /// Its parent's pid.
    pub ppid: i32,
    /// Its command name.
    pub comm: String,
    /// Its state (`R`, `S`, `Z`, ...).
    pub state: char,
}

/// Descendants of `root` (not `root` itself), with their parents, from one reading of
/// `/proc`. A process that ends while it is read is left out.
pub fn below(root: i32) -> Vec<Below> {
    let Ok(all) = procfs::process::all_processes() else {
        return Vec::new();
    };
    let stats: Vec<procfs::process::Stat> = all.flatten().filter_map(|p| p.stat().ok()).collect();
    let mut found = vec![root];
    let mut out = Vec::new();
    // Fixed point over the parent relation; bounded by the number of processes.
    let mut changed = true;
    while changed {
        changed = false;
        for stat in &stats {
            if found.contains(&stat.ppid) && !found.contains(&stat.pid) {
                found.push(stat.pid);
                out.push(Below {
                    pid: stat.pid,
                    ppid: stat.ppid,
                    comm: stat.comm.clone(),
                    state: stat.state,
                });
                changed = true;
            }
        }
    }
    out
}

/// The words of [`crate::protocol::CONFINEMENT_WORDS`] that hold for process `pid`, as
/// `/proc` shows it: a system call filter, `no_new_privs`, no effective capability, and
/// each namespace not the harness's own. `None` when it cannot be read (it ended).
pub fn confinement_of(pid: i32) -> Option<std::collections::BTreeSet<&'static str>> {
    let process = procfs::process::Process::new(pid).ok()?;
    let status = process.status().ok()?;
    let mut words = std::collections::BTreeSet::new();
    if status.seccomp.is_some_and(|mode| mode != 0) {
        words.insert("seccomp");
    }
    if status.nonewprivs == Some(1) {
        words.insert("no_new_privs");
    }
    if status.capeff == 0 {
        words.insert("capabilities_dropped");
    }
    for (word, ns) in [
        ("namespace.user", "user"),
        ("namespace.pid", "pid"),
        ("namespace.net", "net"),
        ("namespace.mount", "mnt"),
        ("namespace.ipc", "ipc"),
        ("namespace.uts", "uts"),
    ] {
        let theirs = std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).ok()?;
        let ours = std::fs::read_link(format!("/proc/self/ns/{ns}")).ok()?;
        if theirs != ours {
            words.insert(word);
        }
    }
    Some(words)
}

/// The processes within a plugin's reach that hold an effective capability: those of
/// `plugin` that run it, and those of `tree` that share a user namespace of their own (not
/// the harness's) with one of them, such as a namespace's init or a process between the
/// host and the plugin. `(pid, name, CapEff)`. Whatever privilege they keep, a plugin that
/// gets at them has.
pub fn privileged_in_reach(plugin: &[i32], tree: &[i32]) -> Vec<(i32, String, u64)> {
    let user_ns = |pid: i32| std::fs::read_link(format!("/proc/{pid}/ns/user")).ok();
    let ours = user_ns(std::process::id() as i32);
    let theirs: Vec<_> = plugin
        .iter()
        .filter_map(|p| user_ns(*p))
        .filter(|ns| Some(ns) != ours.as_ref())
        .collect();
    let beside = tree
        .iter()
        .filter(|pid| !plugin.contains(pid))
        .filter(|pid| user_ns(**pid).is_some_and(|ns| theirs.contains(&ns)));
    plugin
        .iter()
        .chain(beside)
        .filter_map(|&pid| {
            let process = procfs::process::Process::new(pid).ok()?;
            let status = process.status().ok()?;
            // A zombie holds nothing, whatever its last capabilities read.
            let alive = !status.state.starts_with('Z');
            (alive && status.capeff != 0).then_some((pid, status.name, status.capeff))
        })
        .collect()
}

/// Facts about the adapter's process tree at its worst.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TreeFacts {
    /// Zombie processes under the adapter.
    pub zombies: u64,
    /// Descriptors of the process that held the most.
    pub max_fds: u64,
    /// Threads of the process that had the most.
    pub max_threads: u64,
    /// Threads of the processes that run the plugin, all together (its processes count
    /// once each, as their main threads).
    pub plugin_threads: u64,
    /// Processes below the adapter holding the host's descriptor of the secret.
    pub bait_holders: u64,
}

/// The adapter and its live descendants.
pub fn tree_pids(adapter: i32) -> Vec<i32> {
    let mut pids: Vec<i32> = descendants(adapter)
        .into_iter()
        .map(|(pid, _, _)| pid)
        .collect();
    pids.push(adapter);
    pids
}

/// CPU time (ms) the adapter and its live descendants have used so far, all threads, and
/// the children they reaped, from /proc: what a stretch of the case costs is the
/// difference of two readings.
pub fn tree_cpu_ms(adapter: i32) -> u64 {
    let ticks: u64 = tree_pids(adapter)
        .into_iter()
        .filter_map(|pid| {
            let stat = procfs::process::Process::new(pid).ok()?.stat().ok()?;
            // cutime and cstime are the children it has reaped.
            let reaped = u64::try_from(stat.cutime.max(0) + stat.cstime.max(0)).unwrap_or(0);
            Some(stat.utime + stat.stime + reaped)
        })
        .sum();
    ticks * 1000 / procfs::ticks_per_second().max(1)
}

/// The largest peak resident size (KiB, `VmHWM`) among the adapter and its live
/// descendants. The guard's figure at the end is the largest of every process of the case,
/// these and the ones still to come.
pub fn tree_peak_rss_kib(adapter: i32) -> u64 {
    tree_pids(adapter)
        .into_iter()
        .filter_map(|pid| status(pid)?.vmhwm)
        .max()
        .unwrap_or(0)
}

/// The threads of `pids` that are running or runnable (`R`), each as `pid/tid (R)`. A
/// thread stopped by a signal is `T`, one held by a cgroup freezer sleeps (`S` or `D`):
/// neither runs, however the sandbox paused it.
pub fn threads_running(pids: &[i32]) -> Vec<String> {
    pids.iter()
        .filter_map(|&pid| Some((pid, procfs::process::Process::new(pid).ok()?.tasks().ok()?)))
        .flat_map(|(pid, tasks)| {
            tasks.flatten().filter_map(move |task| {
                let state = task.stat().ok()?.state;
                (state == 'R').then(|| format!("{pid}/{} ({state})", task.tid))
            })
        })
        .collect()
}

/// Threads of `pids` together, those still there.
pub fn threads_of(pids: &[i32]) -> u64 {
    pids.iter()
        .filter_map(|&pid| status(pid))
        .map(|s| s.threads)
        .sum()
}

/// `/proc/PID/status`, when the process is still there.
fn status(pid: i32) -> Option<procfs::process::Status> {
    procfs::process::Process::new(pid).ok()?.status().ok()
}

/// Facts about the adapter's descendants, read from /proc while the case still runs.
pub fn tree_facts(adapter: i32, secret: &Path) -> TreeFacts {
    let mut facts = TreeFacts {
        zombies: 0,
        max_fds: 0,
        max_threads: 0,
        plugin_threads: 0,
        bait_holders: 0,
    };
    let mut pids: Vec<(i32, String)> = descendants(adapter)
        .into_iter()
        .map(|(p, _, s)| (p, s))
        .collect();
    pids.push((adapter, "R".into()));
    for (pid, state) in pids {
        if state == "Z" {
            facts.zombies += 1;
            continue;
        }
        let threads = status(pid).map_or(0, |s| s.threads);
        facts.max_threads = facts.max_threads.max(threads);
        let Some(fds) = procfs::process::Process::new(pid)
            .ok()
            .and_then(|p| p.fd().ok())
        else {
            continue;
        };
        let mut count = 0;
        let mut holds = false;
        for fd in fds.flatten() {
            count += 1;
            if pid != adapter
                && fd.fd == BAIT_FD
                && matches!(&fd.target, procfs::process::FDTarget::Path(p) if p == secret)
            {
                holds = true;
            }
        }
        facts.max_fds = facts.max_fds.max(count);
        facts.bait_holders += u64::from(holds);
    }
    facts
}

/// When process `pid` started, in milliseconds of the boot clock ([`boot_clock_ms`]), to
/// the kernel's clock tick (floored); `None` once it is gone.
pub fn start_boot_ms(pid: i32) -> Option<u64> {
    let ticks = procfs::process::Process::new(pid)
        .ok()?
        .stat()
        .ok()?
        .starttime;
    Some(ticks * 1000 / procfs::ticks_per_second().max(1))
}

/// The clock a process's start time is read on (`CLOCK_BOOTTIME`), now, in milliseconds.
pub fn boot_clock_ms() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME).map_or(0, |t| {
        t.tv_sec() as u64 * 1000 + t.tv_nsec() as u64 / 1_000_000
    })
}

/// The resolution of [`start_boot_ms`], in milliseconds: one clock tick.
pub fn start_resolution_ms() -> u64 {
    1000_u64.div_ceil(procfs::ticks_per_second().max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    /// Processes of a user namespace of their own, as root in it: the one that runs "the
    /// plugin" (`exec sleep`) and one beside it (`sleep &`), both with every capability.
    #[test]
    fn privileged_processes_of_the_plugin_and_beside_it_in_its_user_namespace_are_found() {
        let mut child = Command::new("unshare")
            .args([
                "--user",
                "--map-root-user",
                "sh",
                "-c",
                "sleep 30 & exec sleep 31",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("unshare");
        let plugin = child.id() as i32;
        let until = Instant::now() + Duration::from_secs(20);
        let beside = loop {
            let tree: Vec<i32> = descendants(plugin).iter().map(|(p, ..)| *p).collect();
            let execed = std::fs::read_to_string(format!("/proc/{plugin}/cmdline"))
                .is_ok_and(|c| c.starts_with("sleep\0"));
            if execed && !tree.is_empty() || Instant::now() > until {
                break tree;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        // The harness (root, every capability) is in the tree but not in the namespace.
        let me = std::process::id() as i32;
        let mut all = beside.clone();
        all.extend([plugin, me]);
        let found = privileged_in_reach(&[plugin], &all);
        let _ = child.kill();
        let _ = child.wait();
        for pid in &beside {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let mut expected = vec![plugin];
        expected.extend(&beside);
        assert_eq!(
            found.iter().map(|(pid, ..)| *pid).collect::<Vec<_>>(),
            expected,
            "{found:?}"
        );
        assert!(found.iter().all(|(_, _, capeff)| *capeff != 0));
    }
}
