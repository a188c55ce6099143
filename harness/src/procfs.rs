//! What the harness reads of `/proc`: a process tree, its CPU time, its peak memory, its
//! threads and descriptors. (The census of what a plugin's process was handed is
//! `handed.rs`'s.)

use std::path::Path;

use crate::session::BAIT_FD;

/// Descendants of `root` (not `root` itself), from `/proc`, with their `stat` fields.
pub fn descendants(root: i32) -> Vec<(i32, String, String)> {
    let mut parent_of = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The name is between the first '(' and the last ')': it may hold anything.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_string();
        let mut rest = stat[close + 1..].split_whitespace();
        let state = rest.next().unwrap_or("?").to_string();
        let ppid = rest.next().and_then(|p| p.parse::<i32>().ok()).unwrap_or(0);
        parent_of.push((pid, ppid, name, state));
    }
    let mut found = vec![root];
    let mut out = Vec::new();
    // Fixed point over the parent relation; bounded by the number of processes.
    let mut changed = true;
    while changed {
        changed = false;
        for (pid, ppid, name, state) in &parent_of {
            if found.contains(ppid) && !found.contains(pid) {
                found.push(*pid);
                out.push((*pid, name.clone(), state.clone()));
                changed = true;
            }
        }
    }
    out
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
    // SAFETY: sysconf reads a constant of the system; no pointer is involved.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let ticks: u64 = tree_pids(adapter)
        .iter()
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // After the name (which may hold anything): state, then fields 4 to 13, then
            // utime, stime, cutime and cstime (fields 14 to 17 of proc(5)).
            // cutime and cstime are the children it has reaped.
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            let own_and_reaped = fields.get(11..15)?;
            own_and_reaped
                .iter()
                .map(|f| f.parse::<u64>().ok())
                .sum::<Option<u64>>()
        })
        .sum();
    ticks * 1000 / ticks_per_second
}

/// The largest peak resident size (KiB, `VmHWM`) among the adapter and its live
/// descendants. The guard's figure at the end is the largest of every process of the case,
/// these and the ones still to come.
pub fn tree_peak_rss_kib(adapter: i32) -> u64 {
    tree_pids(adapter)
        .iter()
        .filter_map(|pid| status_number(*pid, "VmHWM:"))
        .max()
        .unwrap_or(0)
}

/// The number of a field of /proc/PID/status (`Threads:`, `VmHWM:` in kB, ...).
pub fn status_number(pid: i32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Facts about the adapter's descendants, read from /proc while the case still runs.
pub fn tree_facts(adapter: i32, secret: &Path) -> TreeFacts {
    let mut facts = TreeFacts {
        zombies: 0,
        max_fds: 0,
        max_threads: 0,
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
        let threads = status_number(pid, "Threads:").unwrap_or(0);
        facts.max_threads = facts.max_threads.max(threads);
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        let mut count = 0;
        let mut holds = false;
        for fd in fds.flatten() {
            count += 1;
            if pid != adapter
                && fd.file_name().to_str() == Some(&BAIT_FD.to_string())
                && std::fs::read_link(fd.path()).ok().as_deref() == Some(secret)
            {
                holds = true;
            }
        }
        facts.max_fds = facts.max_fds.max(count);
        facts.bait_holders += u64::from(holds);
    }
    facts
}
