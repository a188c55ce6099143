//! Outer safety limits around a whole case, so a destructive plugin under a sandbox that
//! does not confine it (the no-isolation control) cannot take the machine down.
//!
//! The best layer the kernel offers is used and reported: a cgroup v2 group with `pids.max`
//! and `memory.max` when the v2 hierarchy has those controllers, else the v1 `pids` and
//! `memory` controllers, else nothing but the address-space rlimit.

use std::path::{Path, PathBuf};

/// Largest number of processes and threads of one case.
pub const CASE_PIDS: u64 = 512;
/// Largest memory of one case.
pub const CASE_MEMORY: u64 = 4 << 30;

/// Which cgroup layer holds the cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupLayer {
    /// A v2 directory with pids and memory controllers.
    V2(PathBuf),
    /// v1 pids and memory hierarchies (the memory one may be missing).
    V1 {
        /// Parent under the pids hierarchy.
        pids: PathBuf,
        /// Parent under the memory hierarchy.
        memory: Option<PathBuf>,
    },
    /// No usable cgroup.
    None(String),
}

/// Outer limits of a run.
#[derive(Debug, Clone)]
pub struct Outer {
    /// The cgroup layer.
    pub layer: CgroupLayer,
}

impl Outer {
    /// Detects what the kernel offers and creates the run's parent groups (named `run`).
    pub fn detect(run: &str) -> Outer {
        let v2 = Path::new("/sys/fs/cgroup");
        let controllers =
            std::fs::read_to_string(v2.join("cgroup.controllers")).unwrap_or_default();
        if controllers.split_whitespace().any(|c| c == "pids")
            && controllers.split_whitespace().any(|c| c == "memory")
        {
            let dir = v2.join(run);
            let _ = std::fs::write(v2.join("cgroup.subtree_control"), "+pids +memory");
            if std::fs::create_dir_all(&dir).is_ok()
                && std::fs::write(dir.join("cgroup.subtree_control"), "+pids +memory").is_ok()
            {
                return Outer {
                    layer: CgroupLayer::V2(dir),
                };
            }
        }
        let pids = v2.join("pids");
        if pids.join("cgroup.procs").exists() {
            let dir = pids.join(run);
            if std::fs::create_dir_all(&dir).is_ok() {
                let memory = v2.join("memory");
                let memory = memory
                    .join("cgroup.procs")
                    .exists()
                    .then(|| memory.join(run))
                    .filter(|d| std::fs::create_dir_all(d).is_ok());
                return Outer {
                    layer: CgroupLayer::V1 { pids: dir, memory },
                };
            }
        }
        Outer {
            layer: CgroupLayer::None("no cgroup with a pids controller is writable".into()),
        }
    }

    /// Does any layer bound the number of processes?
    pub fn bounds_processes(&self) -> bool {
        !matches!(self.layer, CgroupLayer::None(_))
    }

    /// One line for the report.
    pub fn describe(&self) -> String {
        match &self.layer {
            CgroupLayer::V2(d) => format!(
                "cgroup v2 {} (pids.max {CASE_PIDS}, memory.max {} GiB)",
                d.display(),
                CASE_MEMORY >> 30
            ),
            CgroupLayer::V1 { pids, memory } => format!(
                "cgroup v1 pids {} (pids.max {CASE_PIDS}){}",
                pids.display(),
                memory
                    .as_ref()
                    .map(|_| format!(", memory ({} GiB)", CASE_MEMORY >> 30))
                    .unwrap_or_default()
            ),
            CgroupLayer::None(why) => format!("no cgroup ({why}); RLIMIT_AS only"),
        }
    }

    /// Creates the case's groups and returns the guard arguments that put the case in them.
    pub fn case_args(&self, case: &str) -> Vec<String> {
        let mut args = vec!["--address-space".to_string(), CASE_MEMORY.to_string()];
        for dir in self.case_dirs(case) {
            if std::fs::create_dir_all(&dir).is_ok() {
                let _ = std::fs::write(dir.join("pids.max"), CASE_PIDS.to_string());
                let _ = std::fs::write(dir.join("memory.max"), CASE_MEMORY.to_string());
                let _ = std::fs::write(dir.join("memory.limit_in_bytes"), CASE_MEMORY.to_string());
                args.push("--cgroup".into());
                args.push(dir.to_string_lossy().into_owned());
            }
        }
        args
    }

    /// Removes the case's groups (they are empty once the guard has reaped everything).
    pub fn cleanup(&self, case: &str) {
        for dir in self.case_dirs(case) {
            let _ = std::fs::remove_dir(&dir);
        }
    }

    /// Removes the run's parent groups.
    pub fn cleanup_run(&self) {
        match &self.layer {
            CgroupLayer::V2(d) => {
                let _ = std::fs::remove_dir(d);
            }
            CgroupLayer::V1 { pids, memory } => {
                let _ = std::fs::remove_dir(pids);
                if let Some(m) = memory {
                    let _ = std::fs::remove_dir(m);
                }
            }
            CgroupLayer::None(_) => {}
        }
    }

    fn case_dirs(&self, case: &str) -> Vec<PathBuf> {
        match &self.layer {
            CgroupLayer::V2(d) => vec![d.join(case)],
            CgroupLayer::V1 { pids, memory } => {
                let mut v = vec![pids.join(case)];
                if let Some(m) = memory {
                    v.push(m.join(case));
                }
                v
            }
            CgroupLayer::None(_) => Vec::new(),
        }
    }
}
