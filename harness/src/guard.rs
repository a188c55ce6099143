//! The case guard: a small process between the harness and an adapter that owns the
//! case's process tree.
//!
//! The harness trusts nothing the adapter says about its processes, so each case's
//! adapter runs under `sbx-case-guard`, which is a child subreaper: every process the
//! case creates, however it double-forks or calls `setsid`, stays its descendant. When
//! the adapter exits (or the harness asks, with SIGTERM), the guard lists what is still
//! alive (the `process_left` evidence), kills and reaps it all, and reports the case's
//! peak memory and CPU time from its own `getrusage(RUSAGE_CHILDREN)`, not from the
//! adapter. It also counts the SIGURG signals it receives: hostile plugins broadcast
//! SIGURG (`kill(-1, SIGURG)`) as a harmless stand-in for a destructive signal.
//!
//! The guard writes JSON lines to its report descriptor: first [`GuardStarted`], last
//! [`GuardReport`].

use serde::{Deserialize, Serialize};

/// First report line: the adapter is running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardStarted {
    /// Pid of the adapter.
    pub adapter_pid: i32,
    /// Outer limits that could not be applied (text), for the evidence.
    pub limit_warnings: Vec<String>,
}

/// A process of the case that was still alive after its adapter exited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftProcess {
    /// Pid.
    pub pid: i32,
    /// `comm`.
    pub name: String,
    /// State letter from `/proc/<pid>/stat`.
    pub state: String,
}

/// Last report line.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GuardReport {
    /// The adapter's exit code, when it exited.
    pub adapter_exit_code: Option<i32>,
    /// The signal that ended the adapter, when one did.
    pub adapter_signal: Option<i32>,
    /// The guard killed the adapter (the harness asked, with SIGTERM).
    pub adapter_killed_by_guard: bool,
    /// Processes alive after the adapter exited (zombies not counted).
    pub left: Vec<LeftProcess>,
    /// Peak resident set of the largest process of the case, KiB.
    pub peak_rss_kib: u64,
    /// CPU time of every process of the case, microseconds.
    pub cpu_us: u64,
    /// SIGURG signals the guard received.
    pub sigurg_received: u64,
    /// Bytes that appeared on the adapter's controlling terminal (a pseudo-terminal the
    /// guard holds), and the first of them, for evidence.
    #[serde(default)]
    pub terminal_bytes: u64,
    /// The first bytes seen on the terminal, as text.
    #[serde(default)]
    pub terminal_excerpt: String,
}
