//! The reference sandbox: hosts untrusted C/C++ plugins in a separate, confined process.
//!
//! The host ([`Plugin`]) forks and execs the runner ([`spawn::spawn_runner`]); the runner
//! confines itself ([`runner::confine::confine`]: rlimits, identity, namespaces,
//! capabilities, no_new_privs, Landlock, seccomp) before any plugin byte runs, reports what
//! is in force ([`EnforcementReport`]), loads the plugin and serves typed frames
//! ([`sbx_ipc`]) over a socketpair ([`channel`]). The host supervises with deadlines,
//! heartbeats and `wait4`, and records how the process ended ([`TerminationRecord`]).
//! The plugin ABI is `include/sbx_plugin.h`; [`abi`] mirrors it.

pub mod abi;
pub mod audit;
pub mod broker;
pub mod cgroup;
pub mod channel;
pub mod config;
pub mod enforcement;
pub mod fuzzing;
pub mod host;
pub mod lifecycle;
pub mod policy;
pub mod quota;
pub mod runner;
pub mod sealed;
pub mod session;
pub mod spawn;
pub mod storage;
pub mod supervisor;
pub mod syscalls;
pub mod termination;

pub use audit::{Audit, AuditEvent, AuditLog, AuditRecord};
pub use broker::{BrokerConfig, Capability};
pub use config::{
    Deadlines, Layers, Limits, SandboxConfig, SandboxConfigBuilder, Strictness, UnprivilegedId,
};
pub use enforcement::{EnforcementReport, LayerState, Status};
pub use lifecycle::{Event, InvalidTransition, State};
pub use supervisor::{Controller, LogRecord, Plugin, SandboxError, Stats};
pub use termination::{Phase, TerminationReason, TerminationRecord};

/// The plugin ABI header, for tools that install or print it.
pub const PLUGIN_HEADER: &str = include_str!("../include/sbx_plugin.h");
