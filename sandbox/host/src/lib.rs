//! The reference sandbox's host side: everything outside the plugin's process.
//!
//! The host ([`Plugin`]) forks and execs the runner ([`spawn::spawn_runner`]; the runner is
//! the `sbx-runner` crate, which confines itself before any plugin byte runs and reports
//! what is in force, an [`EnforcementReport`]). It serves the runner's typed frames
//! ([`sbx_ipc`]) over a socketpair, brokers its host calls ([`broker`]: grants, quotas,
//! storage), supervises with deadlines, heartbeats and `wait4`, and records how the process
//! ended ([`TerminationRecord`]). [`host::Host`] runs several plugins from signed packages
//! under a policy store ([`plugin_policy`]), with restarts, verified updates that roll back
//! ([`update`]) and an audit log ([`audit`]).
//! What both sides agree on (the plugin ABI, the runner's configuration, the channel) is
//! `sbx-contract`; the seccomp policy is `sbx-policy`.

#[macro_use]
mod words;

pub mod audit;
pub mod broker;
pub mod cgroup;
pub mod config;
pub mod development;
pub mod event;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod hardening;
pub mod host;
pub mod lifecycle;
pub mod liveness;
pub mod load_guard;
pub mod metrics;
pub mod outside;
pub mod plugin_policy;
pub mod pool;
pub mod process;
pub mod quota;
pub mod sealed;
pub mod session;
pub mod spawn;
pub mod stats;
pub mod storage;
pub mod supervisor;
pub mod termination;
mod trace;
pub mod update;
pub mod window;

pub use audit::{Audit, AuditEvent, AuditLog, AuditRecord};
pub use broker::{BrokerConfig, Capability};
pub use config::{
    Deadlines, HostPaths, Layers, Limits, SandboxConfig, SandboxConfigBuilder, Strictness,
    UnprivilegedId,
};
pub use lifecycle::{Event, InvalidTransition, State};
pub use liveness::Liveness;
pub use sbx_contract::enforcement::{EnforcementReport, LayerState, Status};
pub use stats::{LogRecord, Stats};
pub use supervisor::{Controller, Plugin, SandboxError};
pub use termination::{Phase, TerminationKind, TerminationReason, TerminationRecord};
