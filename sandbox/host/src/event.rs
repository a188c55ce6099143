//! What happened to a plugin, or to the host: the events the audit log records
//! ([`crate::audit`]) and the traces report (the `trace` module). A plain value, so both read
//! it and neither reads the other.

use serde::{Deserialize, Serialize};

/// What happened. Serialised with an `event` tag in snake_case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AuditEvent {
    /// A package's signature, signer and hashes were checked and accepted.
    PackageVerified {
        /// Plugin version from the manifest.
        version: String,
        /// SHA-256 of the shared object, hex.
        sha256: String,
        /// Key id of the signer.
        signer: String,
    },
    /// A package, or a plugin binary lacking the hardening its configuration requires
    /// (`not_hardened`), was refused before any of its bytes ran.
    PackageRefused {
        /// The refusal's kind (`unsigned`, `bad_signature`, ...).
        kind: String,
        /// Its description.
        detail: String,
    },
    /// The policy engine decided what the plugin gets.
    PolicyDecision {
        /// Version of the policy store that decided.
        policy_version: u64,
        /// The rule that matched (`plugin:<name>` or `default`).
        rule: String,
        /// Capabilities the manifest asked for.
        requested: Vec<String>,
        /// Capabilities granted.
        granted: Vec<String>,
        /// Capabilities asked for and not granted (the grant was cut down).
        withheld: Vec<String>,
        /// Time-bound exceptions that contributed, with their expiry.
        exceptions: Vec<String>,
        /// `load` or `refuse`.
        outcome: String,
        /// The limits decided (absent in logs written before they were recorded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limits: Option<DecidedLimits>,
        /// The mitigations its binary must show.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        require_hardening: Vec<String>,
        /// The conditions that shaped it: a capability withheld for want of the user's
        /// consent, one given within a window, the host's load lowering a limit.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        conditions: Vec<String>,
    },
    /// The user gave, or withdrew, consent to a plugin's use of a capability.
    Consent {
        /// The capability.
        capability: String,
        /// Given (`true`) or withdrawn.
        given: bool,
    },
    /// A capability was granted to a running plugin.
    Granted {
        /// The capability.
        capability: String,
    },
    /// A host call was refused.
    Denied {
        /// The service asked for.
        service: String,
        /// Why.
        reason: Denial,
        /// Specifics.
        detail: String,
    },
    /// A quota or limit was reached.
    LimitHit {
        /// The limit.
        limit: Limit,
        /// What the host did.
        action: LimitAction,
        /// The figure that hit the limit.
        value: u64,
        /// The limit.
        max: u64,
    },
    /// A granted capability was withdrawn at runtime.
    Revoked {
        /// The capability.
        capability: String,
    },
    /// A signer key was revoked while plugins it signed were running.
    KeyRevoked {
        /// The key id.
        key: String,
        /// Plugins stopped because of it.
        stopped: Vec<String>,
    },
    /// The runner was started and confined.
    Spawned {
        /// Its pid.
        pid: i32,
        /// Layers in force, as `name=status` pairs.
        enforcement: Vec<String>,
    },
    /// A lifecycle transition.
    State {
        /// Before.
        from: String,
        /// After.
        to: String,
    },
    /// The plugin's process ended.
    Terminated {
        /// The termination reason's kind.
        reason: crate::termination::TerminationKind,
        /// Its description.
        detail: String,
    },
    /// A message the plugin showed to the user.
    Notification {
        /// The message.
        message: String,
    },
    /// The host restarts a plugin after a transient fault.
    Restart {
        /// Restart number within the window (1 for the first).
        attempt: u32,
        /// Backoff waited before it, milliseconds.
        backoff_ms: u64,
        /// The fault that caused it.
        after: String,
    },
    /// A request's deadline passed unanswered; the process is killed next.
    DeadlineMissed {
        /// The request (`call`, `init`, `shutdown`, ...).
        phase: crate::termination::Phase,
        /// Whether it still answered its liveness beats then; `None` before one could be
        /// answered.
        liveness: Option<crate::liveness::Liveness>,
        /// Milliseconds since its last answer to a beat, if it ever answered one.
        last_answer_ms: Option<u64>,
    },
    /// Restarts ran out: the plugin is Failed and refuses calls until reloaded.
    Quarantined {
        /// Restarts made before giving up.
        restarts: u32,
    },
    /// A new version of a running plugin was offered and refused before any of it ran
    /// (its package failed verification, it is not newer, the policy refuses it).
    UpdateRefused {
        /// The version offered, when its manifest could be read.
        version: String,
        /// The kind of refusal (a verification failure's kind, `downgrade`, ...).
        kind: String,
        /// Why, in words.
        detail: String,
    },
    /// An update begins: the calls in flight have ended, and the installed version is
    /// stopped and its storage copied before the new one starts.
    UpdateStarted {
        /// The installed version.
        from: String,
        /// The version offered.
        to: String,
    },
    /// The new version is initialised and serves; its probation begins.
    UpdateActivated {
        /// Its version.
        version: String,
        /// SHA-256 of its shared object, hex.
        sha256: String,
        /// Key id of its signer.
        signer: String,
        /// Calls it must serve within its failure budget before the update is final.
        probation_calls: u32,
    },
    /// The new version served its probation: the update is final, and the copy of the
    /// storage from before it is dropped.
    UpdateCommitted {
        /// Its version.
        version: String,
    },
    /// The new version failed to activate, or failed in its probation: the previous one
    /// serves again, its storage put back as it was before the update.
    UpdateRolledBack {
        /// The version given up.
        from: String,
        /// The version serving again.
        to: String,
        /// SHA-256 of its shared object, hex.
        sha256: String,
        /// Key id of its signer.
        signer: String,
        /// What failed.
        reason: String,
        /// Whether the storage was put back (false: restoring it failed, and the error is
        /// in `reason`).
        storage_restored: bool,
    },
    /// The plugin's figures when its process ended.
    Stats {
        /// Invocations, latencies, CPU, memory, host calls, denials, limit hits.
        stats: Box<crate::stats::Stats>,
    },
}

impl AuditEvent {
    /// The event's tag as it appears in the log.
    pub fn name(&self) -> &'static str {
        match self {
            AuditEvent::PackageVerified { .. } => "package_verified",
            AuditEvent::PackageRefused { .. } => "package_refused",
            AuditEvent::PolicyDecision { .. } => "policy_decision",
            AuditEvent::Consent { .. } => "consent",
            AuditEvent::Granted { .. } => "granted",
            AuditEvent::Denied { .. } => "denied",
            AuditEvent::LimitHit { .. } => "limit_hit",
            AuditEvent::Revoked { .. } => "revoked",
            AuditEvent::KeyRevoked { .. } => "key_revoked",
            AuditEvent::Spawned { .. } => "spawned",
            AuditEvent::State { .. } => "state",
            AuditEvent::Terminated { .. } => "terminated",
            AuditEvent::Notification { .. } => "notification",
            AuditEvent::Restart { .. } => "restart",
            AuditEvent::DeadlineMissed { .. } => "deadline_missed",
            AuditEvent::Quarantined { .. } => "quarantined",
            AuditEvent::UpdateRefused { .. } => "update_refused",
            AuditEvent::UpdateStarted { .. } => "update_started",
            AuditEvent::UpdateActivated { .. } => "update_activated",
            AuditEvent::UpdateCommitted { .. } => "update_committed",
            AuditEvent::UpdateRolledBack { .. } => "update_rolled_back",
            AuditEvent::Stats { .. } => "stats",
        }
    }
}

/// Why a host call or log record was refused (`denied`'s `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Denial {
    /// The capability was never granted.
    NotGranted,
    /// The capability was granted and withdrawn.
    Revoked,
    /// An argument was refused (a key that is a path, a destination that is not canonical).
    InvalidArgument,
    /// The destination is not on the allowlist.
    NotAllowlisted,
    /// The call could not be decoded.
    Malformed,
}

/// A limit the host keeps (`limit_hit`'s `limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// Host calls per second.
    HostCallRate,
    /// The storage quota, in bytes.
    StorageBytes,
    /// The number of storage keys.
    StorageKeys,
    /// Log volume per second.
    LogBytesPerSecond,
    /// Restarts within the policy's window.
    Restarts,
    /// The CPU rate cap.
    CpuRate,
}

/// What the host did at a limit (`limit_hit`'s `action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitAction {
    /// The plugin waited, or a record was dropped.
    Throttled,
    /// The call answered `SBX_ERR_LIMIT`.
    Refused,
    /// The plugin was stopped.
    Terminated,
}

words! {
    Denial {
        NotGranted => "not_granted",
        Revoked => "revoked",
        InvalidArgument => "invalid_argument",
        NotAllowlisted => "not_allowlisted",
        Malformed => "malformed",
    }
    Limit {
        HostCallRate => "host_call_rate",
        StorageBytes => "storage_bytes",
        StorageKeys => "storage_keys",
        LogBytesPerSecond => "log_bytes_per_second",
        Restarts => "restarts",
        CpuRate => "cpu_rate",
    }
    LimitAction {
        Throttled => "throttled",
        Refused => "refused",
        Terminated => "terminated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words the audit log writes (serde's) are the ones `name` gives.
    #[test]
    fn every_word_is_written_as_it_is_named() {
        let written = |v: serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        for d in Denial::ALL {
            assert_eq!(written(serde_json::to_value(d).expect("json")), d.name());
        }
        for l in Limit::ALL {
            assert_eq!(written(serde_json::to_value(l).expect("json")), l.name());
        }
        for a in LimitAction::ALL {
            assert_eq!(written(serde_json::to_value(a).expect("json")), a.name());
        }
    }
}

/// The limits a plugin gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecidedLimits {
    /// Memory cap, MiB.
    pub memory_mib: u64,
    /// CPU seconds.
    pub cpu_seconds: u64,
    /// CPU rate cap, percent of one CPU (`None`: no rate cap).
    pub cpu_percent: Option<u32>,
    /// Storage bytes.
    pub storage_bytes: u64,
    /// Storage keys.
    pub storage_keys: u64,
    /// Host calls per second.
    pub host_calls_per_second: u32,
    /// Log bytes per second.
    pub log_bytes_per_second: u32,
    /// Output bytes per call.
    pub output_bytes: u32,
    /// Processes and threads.
    pub processes: u64,
}
