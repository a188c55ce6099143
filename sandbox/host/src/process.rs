//! What procfs says about one runner process: its state, its threads' states, its CPU
//! time and peak memory. Read through the `procfs` crate under an injected root
//! ([`crate::config::HostPaths::proc_root`]), so the host's reading is tested against a
//! fake tree.

use std::path::{Path, PathBuf};

use nix::unistd::Pid;

/// A process's directory of procfs.
#[derive(Debug, Clone)]
pub struct ProcessView {
    dir: PathBuf,
}

/// CPU time and peak resident memory of a live process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// User and system time, microseconds.
    pub cpu_us: u64,
    /// User time alone, microseconds.
    pub cpu_user_us: u64,
    /// System time alone, microseconds.
    pub cpu_system_us: u64,
    /// Peak resident set (VmHWM), KiB.
    pub peak_rss_kib: u64,
}

impl ProcessView {
    /// Process `pid` under the procfs mounted at `proc_root`.
    pub fn new(proc_root: &Path, pid: Pid) -> ProcessView {
        ProcessView {
            dir: proc_root.join(pid.as_raw().to_string()),
        }
    }

    fn process(&self) -> Option<procfs::process::Process> {
        procfs::process::Process::new_with_root(self.dir.clone()).ok()
    }

    /// The one-letter state of the process (its main thread's), or `None` once its
    /// directory is gone.
    pub fn state(&self) -> Option<char> {
        Some(self.process()?.stat().ok()?.state)
    }

    /// No thread of the process is still running: each is stopped, or has ended.
    pub fn every_thread_stopped(&self) -> bool {
        let Some(tasks) = self.process().and_then(|p| p.tasks().ok()) else {
            return true;
        };
        tasks.flatten().all(|task| {
            // A thread whose stat is gone has ended.
            task.stat()
                .map_or(true, |s| matches!(s.state, 'T' | 't' | 'Z' | 'X'))
        })
    }

    /// The process's children, by pid: its main thread's `children` file, or, on a kernel
    /// built without that file, every process of the tree whose parent it is. None once
    /// it is gone.
    pub fn children(&self) -> Vec<Pid> {
        let Some(process) = self.process() else {
            return Vec::new();
        };
        match process.task_main_thread().and_then(|t| t.children()) {
            Ok(pids) => pids
                .into_iter()
                .filter_map(|pid| i32::try_from(pid).ok().map(Pid::from_raw))
                .collect(),
            Err(_) => self.children_by_parent(process.pid),
        }
    }

    /// Every process of the tree whose parent is `parent`.
    fn children_by_parent(&self, parent: i32) -> Vec<Pid> {
        let Some(root) = self.dir.parent() else {
            return Vec::new();
        };
        procfs::process::all_processes_with_root(root)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|p| p.stat().ok())
            .filter(|s| s.ppid == parent && s.pid != parent)
            .map(|s| Pid::from_raw(s.pid))
            .collect()
    }

    /// The process's id in the innermost pid namespace it is in (`NSpid`'s last field), or
    /// `None` once it is gone.
    pub fn innermost_pid(&self) -> Option<i32> {
        self.process()?.status().ok()?.nspid?.last().copied()
    }

    /// CPU time and peak memory so far, or `None` once the process is gone.
    pub fn usage(&self) -> Option<Usage> {
        let process = self.process()?;
        let stat = process.stat().ok()?;
        let hz = procfs::ticks_per_second().max(1);
        let peak_rss_kib = process.status().ok().and_then(|s| s.vmhwm).unwrap_or(0);
        let us = |ticks: u64| ticks * 1_000_000 / hz;
        Some(Usage {
            cpu_us: us(stat.utime + stat.stime),
            cpu_user_us: us(stat.utime),
            cpu_system_us: us(stat.stime),
            peak_rss_kib,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `stat` line of a process in `state` with `utime` and `stime` ticks (the command
    /// has a space and a parenthesis, as a hostile plugin's may).
    fn stat(pid: i32, state: char, utime: u64, stime: u64) -> String {
        format!(
            "{pid} (sbx run) x) {state} 1 {pid} {pid} 0 -1 4194560 0 0 0 0 {utime} {stime} 0 0 20 0 1 0 100 1000000 100 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
        )
    }

    fn fake_process(root: &Path, pid: i32, state: char, threads: &[(i32, char)]) {
        let dir = root.join(pid.to_string());
        std::fs::create_dir_all(dir.join("task")).expect("dirs");
        std::fs::write(dir.join("stat"), stat(pid, state, 250, 50)).expect("stat");
        // A real status file (the parser wants its many fields), with a known peak.
        let status: String = std::fs::read_to_string("/proc/self/status")
            .expect("this process's status")
            .lines()
            .map(|l| {
                if l.starts_with("VmHWM:") {
                    "VmHWM:\t    2048 kB\n".to_owned()
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(dir.join("status"), status).expect("status");
        for (tid, s) in threads {
            let t = dir.join("task").join(tid.to_string());
            std::fs::create_dir_all(&t).expect("task");
            std::fs::write(t.join("stat"), stat(*tid, *s, 0, 0)).expect("task stat");
        }
    }

    #[test]
    fn children_come_from_the_children_file_or_else_from_every_parent() {
        let root = tempfile::tempdir().expect("tempdir");
        fake_process(root.path(), 41, 'S', &[(41, 'S')]);
        // The fake stat names pid 1 as every process's parent.
        let init = root.path().join("1");
        fake_process(root.path(), 1, 'S', &[(1, 'S')]);
        fake_process(root.path(), 7, 'S', &[(7, 'S')]);
        let view = |pid| ProcessView::new(root.path(), Pid::from_raw(pid));
        // No children file: the kernel has none; every process whose parent it is.
        let mut by_parent = view(1).children();
        by_parent.sort();
        assert_eq!(by_parent, [Pid::from_raw(7), Pid::from_raw(41)]);
        std::fs::write(init.join("task/1/children"), "41 ").expect("children");
        assert_eq!(view(1).children(), [Pid::from_raw(41)]);
        assert!(view(99).children().is_empty());
    }

    #[test]
    fn state_usage_and_threads_come_from_the_tree_given() {
        let root = tempfile::tempdir().expect("tempdir");
        fake_process(root.path(), 41, 'T', &[(41, 'T'), (42, 't')]);
        fake_process(root.path(), 51, 'T', &[(51, 'T'), (52, 'R')]);
        let stopped = ProcessView::new(root.path(), Pid::from_raw(41));
        assert_eq!(stopped.state(), Some('T'));
        assert!(stopped.every_thread_stopped());
        let hz = procfs::ticks_per_second();
        assert_eq!(
            stopped.usage(),
            Some(Usage {
                cpu_us: 300 * 1_000_000 / hz,
                cpu_user_us: 250 * 1_000_000 / hz,
                cpu_system_us: 50 * 1_000_000 / hz,
                peak_rss_kib: 2048
            })
        );
        // One thread still running: the pause is not done.
        let half = ProcessView::new(root.path(), Pid::from_raw(51));
        assert!(!half.every_thread_stopped());
        // A process that is gone has no state and no usage.
        let gone = ProcessView::new(root.path(), Pid::from_raw(61));
        assert_eq!(gone.state(), None);
        assert_eq!(gone.usage(), None);
        assert!(gone.every_thread_stopped());
    }
}
