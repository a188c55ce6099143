//! A per-plugin memory and process cap enforced by a cgroup, with the best layer the kernel
//! offers: cgroup v2 when its hierarchy has the memory controller, else the v1 memory (and
//! pids) controllers, else nothing here (the runner's RLIMIT_AS remains). Which layer holds
//! is reported in the plugin's enforcement report as `cgroup.memory`.
//!
//! A CPU rate cap (a share of one CPU per 100 ms period) is enforced the same way, by the
//! v2 `cpu` controller beside the memory cap, else the v1 `cpu` controller; reported as
//! `cgroup.cpu`. A plugin at its rate is throttled by the kernel, not killed: the
//! supervisor reads the group's throttling counters after each call to report it.
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
    cpu: Option<CpuCap>,
}

/// The CPU rate cap of a group.
#[derive(Debug, Clone)]
struct CpuCap {
    /// `cpu.stat` of the group holding the cap, when one does.
    stat: Option<PathBuf>,
    /// CPU microseconds allowed per period.
    quota_us: u64,
    detail: String,
}

/// The scheduler's period for the CPU rate cap, microseconds.
pub const CPU_PERIOD_US: u64 = 100_000;

/// How much a group has been held back by its CPU rate cap so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuThrottling {
    /// Periods in which the group used up its quota and was stopped.
    pub periods: u64,
    /// Time its processes waited for the next period, microseconds.
    pub throttled_us: u64,
}

/// Where the kernel's cgroup hierarchies are mounted on a host.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The v2 hierarchy under `root` when its controllers include `memory`: `root` itself
/// (unified mode) or `root/unified` (hybrid mode).
fn v2_root(root: &Path) -> Option<PathBuf> {
    [root.to_path_buf(), root.join("unified")]
        .into_iter()
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
    /// Creates the group for one process of plugin `name` in the hierarchies under `root`
    /// ([`CGROUP_ROOT`] on a host), capped at `memory_bytes` and `pids` processes and
    /// threads, and at `cpu_percent` of one CPU when given. Never fails: without a usable
    /// cgroup the layer is [`CapLayer::None`] and the detail says why (and likewise for the
    /// CPU cap, see [`PluginCgroup::cpu_detail`]).
    pub fn create(
        root: &Path,
        name: &str,
        memory_bytes: u64,
        pids: u64,
        cpu_percent: Option<u32>,
    ) -> PluginCgroup {
        let leaf = unique(name);
        let mut group = PluginCgroup::create_memory(root, &leaf, memory_bytes, pids);
        if let Some(percent) = cpu_percent {
            group.cap_cpu(root, &leaf, percent);
        }
        group
    }

    fn create_memory(root: &Path, leaf: &str, memory_bytes: u64, pids: u64) -> PluginCgroup {
        if let Some(v2) = v2_root(root) {
            let root = v2;
            let parent = root.join("sbx");
            let dir = parent.join(leaf);
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
                        cpu: None,
                    };
                }
                Err(_) => {
                    let _ = std::fs::remove_dir(&dir);
                }
            }
        }
        let memory = root.join("memory");
        if memory.join("cgroup.procs").exists() {
            let dir = memory.join(leaf);
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
                let pids_dir = root.join("pids").join(leaf);
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
                    cpu: None,
                };
            }
            let _ = std::fs::remove_dir(&dir);
        }
        PluginCgroup {
            layer: CapLayer::None,
            dirs: Vec::new(),
            detail: "no cgroup with a memory controller is writable here; RLIMIT_AS only".into(),
            cpu: None,
        }
    }

    /// Adds the CPU rate cap: in the v2 group when its hierarchy has the `cpu` controller,
    /// else in a group of the v1 `cpu` controller.
    fn cap_cpu(&mut self, root: &Path, leaf: &str, percent: u32) {
        let quota_us = u64::from(percent.max(1)) * CPU_PERIOD_US / 100;
        if self.layer == CapLayer::V2 {
            let dir = &self.dirs[0];
            let root = dir.parent().and_then(Path::parent).map(Path::to_path_buf);
            let parent = dir.parent().map(Path::to_path_buf);
            let made = match (root, parent) {
                (Some(root), Some(parent)) => {
                    std::fs::write(root.join("cgroup.subtree_control"), "+cpu")
                        .and_then(|()| {
                            std::fs::write(parent.join("cgroup.subtree_control"), "+cpu")
                        })
                        .and_then(|()| {
                            std::fs::write(
                                dir.join("cpu.max"),
                                format!("{quota_us} {CPU_PERIOD_US}"),
                            )
                        })
                }
                _ => Err(std::io::Error::other("not a group of the sbx tree")),
            };
            if made.is_ok() {
                self.cpu = Some(CpuCap {
                    stat: Some(dir.join("cpu.stat")),
                    quota_us,
                    detail: format!(
                        "cgroup v2 {}: cpu.max {quota_us} {CPU_PERIOD_US} ({percent}% of one CPU)",
                        dir.display()
                    ),
                });
                return;
            }
        }
        let dir = root.join("cpu").join(leaf);
        let made = std::fs::create_dir(&dir)
            .and_then(|()| std::fs::write(dir.join("cpu.cfs_period_us"), CPU_PERIOD_US.to_string()))
            .and_then(|()| std::fs::write(dir.join("cpu.cfs_quota_us"), quota_us.to_string()));
        match made {
            Ok(()) => {
                self.cpu = Some(CpuCap {
                    stat: Some(dir.join("cpu.stat")),
                    quota_us,
                    detail: format!(
                        "cgroup v1 {}: cpu.cfs_quota_us {quota_us} per {CPU_PERIOD_US} ({percent}% of one CPU)",
                        dir.display()
                    ),
                });
                self.dirs.push(dir);
            }
            Err(e) => {
                let _ = std::fs::remove_dir(&dir);
                self.cpu = Some(CpuCap {
                    stat: None,
                    quota_us,
                    detail: format!(
                        "no writable cgroup CPU controller ({e}): no rate cap, RLIMIT_CPU bounds the total only"
                    ),
                });
            }
        }
    }

    /// Whether a CPU rate cap was asked for, whether it holds, and what is in force.
    pub fn cpu_detail(&self) -> Option<(bool, &str)> {
        self.cpu
            .as_ref()
            .map(|c| (c.stat.is_some(), c.detail.as_str()))
    }

    /// CPU microseconds the rate cap allows per [`CPU_PERIOD_US`], when it holds.
    pub fn cpu_quota_us(&self) -> Option<u64> {
        self.cpu
            .as_ref()
            .filter(|c| c.stat.is_some())
            .map(|c| c.quota_us)
    }

    /// How much the CPU rate cap has held the group back so far (`None` without a cap).
    pub fn cpu_throttling(&self) -> Option<CpuThrottling> {
        let text = std::fs::read_to_string(self.cpu.as_ref()?.stat.as_ref()?).ok()?;
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|n| n.trim().parse::<u64>().ok())
        };
        Some(CpuThrottling {
            periods: field("nr_throttled ").unwrap_or(0),
            // v2 counts microseconds, v1 nanoseconds.
            throttled_us: field("throttled_usec ")
                .or_else(|| field("throttled_time ").map(|ns| ns / 1000))
                .unwrap_or(0),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The group's directory in each hierarchy it joined.
    fn dirs(group: &PluginCgroup) -> Vec<PathBuf> {
        group
            .procs_files()
            .iter()
            .map(|f| f.parent().expect("a group directory").to_path_buf())
            .collect()
    }

    #[test]
    fn a_v2_hierarchy_with_memory_gets_every_cap_in_one_group() {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::write(root.path().join("cgroup.controllers"), "cpu memory pids\n").expect("w");
        let group = PluginCgroup::create(root.path(), "p", 64 << 20, 16, Some(25));
        assert_eq!(group.layer(), CapLayer::V2);
        let [dir] = dirs(&group).try_into().expect("one group");
        assert_eq!(dir.parent(), Some(root.path().join("sbx").as_path()));
        assert_eq!(read(&dir.join("memory.max")), (64u64 << 20).to_string());
        assert_eq!(read(&dir.join("memory.swap.max")), "0");
        assert_eq!(read(&dir.join("pids.max")), "16");
        assert_eq!(read(&dir.join("cpu.max")), "25000 100000");
        assert_eq!(
            read(&root.path().join("sbx/cgroup.subtree_control")),
            "+cpu"
        );
        assert_eq!(group.cpu_quota_us(), Some(25_000));
        assert!(group.cpu_detail().is_some_and(|(held, _)| held));
        std::fs::write(
            dir.join("cpu.stat"),
            "usage_usec 9\nnr_throttled 3\nthrottled_usec 1500\n",
        )
        .expect("w");
        assert_eq!(
            group.cpu_throttling(),
            Some(CpuThrottling {
                periods: 3,
                throttled_us: 1500
            })
        );
        assert!(!group.oom_killed());
        std::fs::write(dir.join("memory.events"), "oom 1\noom_kill 1\n").expect("w");
        assert!(group.oom_killed());
    }

    #[test]
    fn a_hybrid_host_without_v2_memory_uses_the_v1_controllers() {
        let root = tempfile::tempdir().expect("tempdir");
        let r = root.path();
        std::fs::write(r.join("cgroup.controllers"), "cpu pids\n").expect("w");
        std::fs::create_dir_all(r.join("unified")).expect("d");
        std::fs::write(r.join("unified/cgroup.controllers"), "\n").expect("w");
        for c in ["memory", "pids", "cpu"] {
            std::fs::create_dir_all(r.join(c)).expect("d");
        }
        std::fs::write(r.join("memory/cgroup.procs"), "").expect("w");
        let group = PluginCgroup::create(r, "p", 32 << 20, 8, Some(50));
        assert_eq!(group.layer(), CapLayer::V1);
        let [memory, pids, cpu] = dirs(&group).try_into().expect("three groups");
        assert!(memory.starts_with(r.join("memory")), "{memory:?}");
        assert_eq!(
            read(&memory.join("memory.limit_in_bytes")),
            (32u64 << 20).to_string()
        );
        assert_eq!(
            read(&memory.join("memory.memsw.limit_in_bytes")),
            (32u64 << 20).to_string()
        );
        assert!(pids.starts_with(r.join("pids")), "{pids:?}");
        assert_eq!(read(&pids.join("pids.max")), "8");
        assert!(cpu.starts_with(r.join("cpu")), "{cpu:?}");
        assert_eq!(read(&cpu.join("cpu.cfs_period_us")), "100000");
        assert_eq!(read(&cpu.join("cpu.cfs_quota_us")), "50000");
        // v1 counts throttled time in nanoseconds.
        std::fs::write(
            cpu.join("cpu.stat"),
            "nr_throttled 2\nthrottled_time 2000000\n",
        )
        .expect("w");
        assert_eq!(
            group.cpu_throttling(),
            Some(CpuThrottling {
                periods: 2,
                throttled_us: 2000
            })
        );
        std::fs::write(
            memory.join("memory.oom_control"),
            "oom_kill_disable 0\noom_kill 1\n",
        )
        .expect("w");
        assert!(group.oom_killed());
    }

    #[test]
    fn a_hybrid_host_with_memory_in_unified_uses_v2_there() {
        let root = tempfile::tempdir().expect("tempdir");
        let r = root.path();
        std::fs::create_dir_all(r.join("unified")).expect("d");
        std::fs::write(r.join("unified/cgroup.controllers"), "memory pids\n").expect("w");
        let group = PluginCgroup::create(r, "p", 1 << 20, 4, None);
        assert_eq!(group.layer(), CapLayer::V2);
        let [dir] = dirs(&group).try_into().expect("one group");
        assert!(dir.starts_with(r.join("unified/sbx")), "{dir:?}");
        assert_eq!(group.cpu_detail(), None);
    }

    #[test]
    fn without_a_writable_hierarchy_nothing_is_claimed() {
        let root = tempfile::tempdir().expect("tempdir");
        let group = PluginCgroup::create(root.path(), "p", 1 << 20, 4, Some(10));
        assert_eq!(group.layer(), CapLayer::None);
        assert!(group.procs_files().is_empty());
        assert!(
            group.detail().contains("RLIMIT_AS only"),
            "{}",
            group.detail()
        );
        let (held, detail) = group.cpu_detail().expect("a CPU cap was asked for");
        assert!(!held, "{detail}");
        assert_eq!(group.cpu_quota_us(), None);
        assert_eq!(group.cpu_throttling(), None);
        assert!(!group.oom_killed());
    }
}
