//! A per-plugin memory and process cap enforced by a cgroup, with the best layer the kernel
//! offers: cgroup v2 when its hierarchy has the memory controller, else the v1 memory (and
//! pids) controllers, else nothing here (the runner's RLIMIT_AS remains). Which layer holds
//! is reported in the plugin's enforcement report as `cgroup.memory`.
//!
//! The runner joins the group between fork and exec (it writes `0` to each `cgroup.procs`),
//! so the cap binds before the runner's first instruction and long before any plugin byte.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The layer that enforces the memory cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapLayer {
    /// cgroup v2 `memory.max` and `pids.max`.
    V2,
    /// cgroup v1 `memory.limit_in_bytes` (and `pids.max` when the pids controller is there).
    V1,
    /// No cgroup: only the runner's RLIMIT_AS.
    None,
}

/// The cgroup(s) of one plugin process; removed on drop.
#[derive(Debug)]
pub struct PluginCgroup {
    layer: CapLayer,
    dirs: Vec<PathBuf>,
    detail: String,
}

fn v2_root() -> Option<PathBuf> {
    ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .iter()
        .map(PathBuf::from)
        .find(|p| {
            std::fs::read_to_string(p.join("cgroup.controllers"))
                .is_ok_and(|c| c.split_whitespace().any(|x| x == "memory"))
        })
}

fn unique(name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "sbx-{}-{}-{}",
        name,
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl PluginCgroup {
    /// Creates the group for one process of plugin `name`, capped at `memory_bytes` and
    /// `pids` processes and threads. Never fails: without a usable cgroup the layer is
    /// [`CapLayer::None`] and the detail says why.
    pub fn create(name: &str, memory_bytes: u64, pids: u64) -> PluginCgroup {
        let leaf = unique(name);
        if let Some(root) = v2_root() {
            let parent = root.join("sbx");
            let dir = parent.join(&leaf);
            let made = std::fs::create_dir_all(&parent)
                .and_then(|()| std::fs::write(root.join("cgroup.subtree_control"), "+memory +pids"))
                .and_then(|()| {
                    std::fs::write(parent.join("cgroup.subtree_control"), "+memory +pids")
                })
                .and_then(|()| std::fs::create_dir(&dir))
                .and_then(|()| std::fs::write(dir.join("memory.max"), memory_bytes.to_string()))
                .and_then(|()| std::fs::write(dir.join("memory.swap.max"), "0").or(Ok(())))
                .and_then(|()| std::fs::write(dir.join("pids.max"), pids.to_string()));
            match made {
                Ok(()) => {
                    return PluginCgroup {
                        layer: CapLayer::V2,
                        detail: format!(
                            "cgroup v2 {}: memory.max {memory_bytes}, pids.max {pids}",
                            dir.display()
                        ),
                        dirs: vec![dir],
                    };
                }
                Err(_) => {
                    let _ = std::fs::remove_dir(&dir);
                }
            }
        }
        let memory = Path::new("/sys/fs/cgroup/memory");
        if memory.join("cgroup.procs").exists() {
            let dir = memory.join(&leaf);
            let made = std::fs::create_dir(&dir).and_then(|()| {
                std::fs::write(dir.join("memory.limit_in_bytes"), memory_bytes.to_string())
            });
            if made.is_ok() {
                // Swap would let the group exceed its cap on disk: cap it too where possible.
                let _ = std::fs::write(
                    dir.join("memory.memsw.limit_in_bytes"),
                    memory_bytes.to_string(),
                );
                let mut dirs = vec![dir.clone()];
                let mut detail = format!(
                    "cgroup v1 {}: memory.limit_in_bytes {memory_bytes}",
                    dir.display()
                );
                let pids_dir = Path::new("/sys/fs/cgroup/pids").join(&leaf);
                if std::fs::create_dir(&pids_dir)
                    .and_then(|()| std::fs::write(pids_dir.join("pids.max"), pids.to_string()))
                    .is_ok()
                {
                    detail.push_str(&format!(", pids.max {pids}"));
                    dirs.push(pids_dir);
                }
                return PluginCgroup {
                    layer: CapLayer::V1,
                    dirs,
                    detail,
                };
            }
            let _ = std::fs::remove_dir(&dir);
        }
        PluginCgroup {
            layer: CapLayer::None,
            dirs: Vec::new(),
            detail: "no cgroup with a memory controller is writable here; RLIMIT_AS only".into(),
        }
    }

    /// The layer in force.
    pub fn layer(&self) -> CapLayer {
        self.layer
    }

    /// What is in force, for the enforcement report.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The `cgroup.procs` files the runner joins before exec.
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.join("cgroup.procs")).collect()
    }

    /// Whether the kernel OOM-killed a process of the group (its memory cap was reached).
    pub fn oom_killed(&self) -> bool {
        let count = |file: PathBuf| {
            std::fs::read_to_string(file).ok().and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("oom_kill "))
                    .and_then(|n| n.trim().parse::<u64>().ok())
            })
        };
        match self.layer {
            CapLayer::V2 => count(self.dirs[0].join("memory.events")).unwrap_or(0) > 0,
            CapLayer::V1 => count(self.dirs[0].join("memory.oom_control")).unwrap_or(0) > 0,
            CapLayer::None => false,
        }
    }
}

impl Drop for PluginCgroup {
    fn drop(&mut self) {
        for d in &self.dirs {
            // The process has been reaped before this runs; a group with a lingering
            // process (never the case for a reaped runner) is left rather than waited for.
            let _ = std::fs::remove_dir(d);
        }
    }
}
