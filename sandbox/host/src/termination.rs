//! How a sandboxed process ended, as measured by the host (never as told by the plugin).
//!
//! The reason comes from what the host itself did (it killed the process for a deadline, a
//! protocol violation or on request) or else from the kernel's wait status; CPU time and
//! peak memory come from `wait4`'s rusage. The only datum that comes from inside the
//! sandbox is the number of a refused syscall, written by the runner's SIGSYS handler to a
//! pipe of its own; it is used only when the kernel says the process died of SIGSYS.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use sbx_policy::syscalls;

/// The lifecycle phase during which a deadline expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Confinement and dlopen.
    Load,
    /// `sbx_plugin_init`.
    Init,
    /// An invoke call.
    Call,
    /// Graceful shutdown.
    Shutdown,
    /// A heartbeat.
    Heartbeat,
    /// Stopping or continuing the process.
    Pause,
}

/// Why the process ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TerminationReason {
    /// Exited by itself with this code (0 after a graceful shutdown).
    Exit {
        /// Exit code.
        code: i32,
    },
    /// Killed by a signal not otherwise classified (a crash: SIGSEGV, SIGABRT, SIGILL, SIGFPE...).
    Signal {
        /// Signal number.
        signal: i32,
        /// Signal name.
        name: String,
    },
    /// Killed by the seccomp filter.
    SeccompViolation {
        /// The refused syscall, when the runner's handler could report it.
        syscall: Option<i64>,
        /// Its x86_64 name, when known.
        syscall_name: Option<String>,
    },
    /// Reached RLIMIT_CPU (SIGXCPU, or SIGKILL at the hard limit).
    CpuLimit,
    /// Reached its memory cap (a cgroup OOM kill).
    MemoryLimit,
    /// A wall-clock deadline expired and the host killed it.
    WallTimeout {
        /// The phase whose deadline expired.
        phase: Phase,
        /// The deadline.
        after_ms: u64,
    },
    /// The host killed it on request.
    KilledByHost,
    /// It broke the channel protocol (garbage, forged or unexpected frames, oversized output)
    /// and the host killed it.
    ProtocolViolation {
        /// What was wrong.
        detail: String,
    },
}

impl TerminationReason {
    /// Which kind of end it was, without its particulars.
    pub fn kind(&self) -> TerminationKind {
        match self {
            TerminationReason::Exit { .. } => TerminationKind::Exit,
            TerminationReason::Signal { .. } => TerminationKind::Signal,
            TerminationReason::SeccompViolation { .. } => TerminationKind::SeccompViolation,
            TerminationReason::CpuLimit => TerminationKind::CpuLimit,
            TerminationReason::MemoryLimit => TerminationKind::MemoryLimit,
            TerminationReason::WallTimeout { .. } => TerminationKind::WallTimeout,
            TerminationReason::KilledByHost => TerminationKind::KilledByHost,
            TerminationReason::ProtocolViolation { .. } => TerminationKind::ProtocolViolation,
        }
    }
}

/// The kind of a [`TerminationReason`]: a stable snake_case name (`seccomp_violation`,
/// `wall_timeout`...) in audit records and expectations files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TerminationKind {
    /// It exited.
    Exit,
    /// A signal ended it.
    Signal,
    /// The seccomp filter killed it.
    SeccompViolation,
    /// It ran out of CPU time.
    CpuLimit,
    /// It reached its memory cap.
    MemoryLimit,
    /// A deadline expired.
    WallTimeout,
    /// The host killed it on request.
    KilledByHost,
    /// It broke the channel protocol.
    ProtocolViolation,
}

impl TerminationKind {
    /// An end the host did not ask for and the plugin did not choose: a crash, a kill by
    /// the filter or a limit, a missed deadline, a broken protocol.
    pub fn is_abnormal(self) -> bool {
        !matches!(self, TerminationKind::Exit | TerminationKind::KilledByHost)
    }
}

words! {
    TerminationKind {
        Exit => "exit",
        Signal => "signal",
        SeccompViolation => "seccomp_violation",
        CpuLimit => "cpu_limit",
        MemoryLimit => "memory_limit",
        WallTimeout => "wall_timeout",
        KilledByHost => "killed_by_host",
        ProtocolViolation => "protocol_violation",
    }
}

/// The full record of an ended sandboxed process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminationRecord {
    /// Why it ended.
    pub reason: TerminationReason,
    /// Exit code, when it exited.
    pub exit_code: Option<i32>,
    /// Signal, when a signal ended it.
    pub signal: Option<i32>,
    /// User CPU time, microseconds (rusage).
    pub cpu_user_us: u64,
    /// System CPU time, microseconds (rusage).
    pub cpu_system_us: u64,
    /// Peak resident set size, KiB (rusage `ru_maxrss`).
    pub peak_rss_kib: u64,
}

impl TerminationRecord {
    /// Total CPU time.
    pub fn cpu_time(&self) -> Duration {
        Duration::from_micros(self.cpu_user_us + self.cpu_system_us)
    }
}

/// What the host knows when it reaps: what it did itself, and what the kernel returned.
#[derive(Debug, Clone, Default)]
pub struct ReapFacts {
    /// The host killed the process for this reason (deadline, protocol, request).
    pub host_reason: Option<TerminationReason>,
    /// Exit code from the wait status.
    pub exit_code: Option<i32>,
    /// Terminating signal from the wait status.
    pub signal: Option<i32>,
    /// Syscall number reported by the runner's SIGSYS handler.
    pub reported_syscall: Option<i64>,
    /// rusage CPU times and peak RSS.
    pub cpu_user_us: u64,
    /// System CPU time.
    pub cpu_system_us: u64,
    /// Peak RSS in KiB.
    pub peak_rss_kib: u64,
    /// RLIMIT_CPU in force, to recognise a SIGKILL at the hard CPU limit.
    pub cpu_limit_seconds: Option<u64>,
    /// A cgroup reported an OOM kill for this process.
    pub oom_killed: bool,
}

/// Classifies a reaped process. What the kernel did outranks what the host intended: a
/// process the host was about to kill for a deadline, but which died of SIGSYS or SIGSEGV
/// first, is a seccomp violation or a crash. A process that exited by itself after the host
/// found a fault is recorded with the host's reason.
pub fn classify(f: &ReapFacts) -> TerminationRecord {
    let cpu_us = f.cpu_user_us + f.cpu_system_us;
    let reason = match (f.signal, f.exit_code) {
        (Some(libc::SIGSYS), _) => TerminationReason::SeccompViolation {
            syscall: f.reported_syscall,
            syscall_name: f
                .reported_syscall
                .and_then(syscalls::name)
                .map(str::to_owned),
        },
        (Some(libc::SIGXCPU), _) => TerminationReason::CpuLimit,
        // The host only ever sends SIGKILL: any other signal is the process's own doing.
        (Some(signal), _) if signal != libc::SIGKILL => TerminationReason::Signal {
            signal,
            name: signal_name(signal),
        },
        (Some(libc::SIGKILL), _) if f.oom_killed => TerminationReason::MemoryLimit,
        (Some(libc::SIGKILL), _)
            if f.host_reason.is_none()
                && f.cpu_limit_seconds
                    .is_some_and(|s| cpu_us >= s.saturating_mul(1_000_000)) =>
        {
            TerminationReason::CpuLimit
        }
        _ if f.host_reason.is_some() => f
            .host_reason
            .clone()
            .unwrap_or(TerminationReason::KilledByHost),
        (Some(signal), _) => TerminationReason::Signal {
            signal,
            name: signal_name(signal),
        },
        (None, Some(code)) => TerminationReason::Exit { code },
        (None, None) => TerminationReason::KilledByHost,
    };
    TerminationRecord {
        reason,
        exit_code: f.exit_code,
        signal: f.signal,
        cpu_user_us: f.cpu_user_us,
        cpu_system_us: f.cpu_system_us,
        peak_rss_kib: f.peak_rss_kib,
    }
}

/// The conventional name of a signal (`SIGSEGV`), or `SIG<n>`.
pub fn signal_name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|_| format!("SIG{signal}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words the audit log writes (serde's) are the ones `name` gives.
    #[test]
    fn every_kind_is_written_as_it_is_named() {
        for kind in TerminationKind::ALL {
            assert_eq!(
                serde_json::to_value(kind).expect("serialisable"),
                kind.name()
            );
        }
    }

    fn facts(signal: Option<i32>, code: Option<i32>) -> ReapFacts {
        ReapFacts {
            signal,
            exit_code: code,
            ..ReapFacts::default()
        }
    }

    #[test]
    fn kernel_outranks_host_intent() {
        let mut f = facts(Some(libc::SIGSYS), None);
        f.host_reason = Some(TerminationReason::KilledByHost);
        f.reported_syscall = Some(41);
        let r = classify(&f);
        assert_eq!(
            r.reason,
            TerminationReason::SeccompViolation {
                syscall: Some(41),
                syscall_name: Some("socket".into())
            }
        );
    }

    #[test]
    fn a_crash_outranks_a_pending_host_reason() {
        let mut f = facts(Some(libc::SIGSEGV), None);
        f.host_reason = Some(TerminationReason::ProtocolViolation { detail: "x".into() });
        assert_eq!(classify(&f).reason.kind(), TerminationKind::Signal);
        let mut f = facts(None, Some(0));
        f.host_reason = Some(TerminationReason::ProtocolViolation { detail: "x".into() });
        assert_eq!(
            classify(&f).reason.kind(),
            TerminationKind::ProtocolViolation
        );
    }

    #[test]
    fn host_kill_is_attributed_to_the_host() {
        let mut f = facts(Some(libc::SIGKILL), None);
        f.host_reason = Some(TerminationReason::WallTimeout {
            phase: Phase::Call,
            after_ms: 100,
        });
        assert_eq!(classify(&f).reason.kind(), TerminationKind::WallTimeout);
    }

    #[test]
    fn sigkill_at_the_hard_cpu_limit_is_a_cpu_limit() {
        let mut f = facts(Some(libc::SIGKILL), None);
        f.cpu_limit_seconds = Some(1);
        f.cpu_user_us = 1_900_000;
        assert_eq!(classify(&f).reason, TerminationReason::CpuLimit);
        assert_eq!(
            classify(&facts(Some(libc::SIGXCPU), None)).reason,
            TerminationReason::CpuLimit
        );
    }

    #[test]
    fn crashes_and_exits() {
        assert_eq!(
            classify(&facts(Some(libc::SIGSEGV), None)).reason,
            TerminationReason::Signal {
                signal: libc::SIGSEGV,
                name: "SIGSEGV".into()
            }
        );
        assert_eq!(
            classify(&facts(None, Some(3))).reason,
            TerminationReason::Exit { code: 3 }
        );
    }
}
