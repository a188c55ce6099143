//! What the host tells a `tracing` subscriber: every audited event as a tracing event, at a
//! level a host can filter (limit hits, refused packages, restarts and abnormal ends at
//! `warn`, decisions, denied host calls and lifecycle at `info`, each confinement layer,
//! grant, state change and host call at `debug`). The spans
//! (`activation`, `init`, `call`, `shutdown`) are opened where the supervisor does the work.
//!
//! **Nothing the plugin wrote goes into a trace beyond its size**: no log text, no
//! notification, no key, value or destination of a host call, no input or output.

use crate::event::AuditEvent;

/// Tells the host's operator of a fault of the host (not of the plugin): as a trace, or,
/// to a host that set no `tracing` subscriber, as a line on stderr, which is where such
/// faults went before traces.
pub(crate) fn to_operator(trace: impl FnOnce(), line: impl FnOnce() -> String) {
    if tracing::dispatcher::has_been_set() {
        trace();
    } else {
        eprintln!("sbx: {}", line());
    }
}

/// Traces one audited event of `plugin` (empty for the host's own).
pub(crate) fn audit_event(plugin: &str, event: &AuditEvent) {
    match event {
        AuditEvent::PackageVerified {
            version,
            sha256,
            signer,
        } => tracing::info!(plugin, version, sha256, signer, "package verified"),
        AuditEvent::PackageRefused { kind, .. } => {
            tracing::warn!(plugin, kind, "package refused")
        }
        AuditEvent::PolicyDecision {
            policy_version,
            rule,
            granted,
            withheld,
            outcome,
            ..
        } => tracing::info!(
            plugin,
            policy_version,
            rule,
            granted = granted.join(","),
            withheld = withheld.join(","),
            outcome,
            "policy decision"
        ),
        AuditEvent::Consent { capability, given } => {
            tracing::info!(plugin, capability, given, "user consent")
        }
        AuditEvent::Granted { capability } => tracing::debug!(plugin, capability, "granted"),
        // The reason is the host's word; the detail may quote what the plugin sent.
        AuditEvent::Denied {
            service, reason, ..
        } => tracing::info!(plugin, service, reason = reason.name(), "host call denied"),
        AuditEvent::LimitHit {
            limit,
            action,
            value,
            max,
        } => tracing::warn!(
            plugin,
            limit = limit.name(),
            action = action.name(),
            value,
            max,
            "limit hit"
        ),
        AuditEvent::Revoked { capability } => tracing::info!(plugin, capability, "revoked"),
        AuditEvent::KeyRevoked { key, stopped } => {
            tracing::warn!(plugin, key, stopped = stopped.len(), "signer key revoked")
        }
        AuditEvent::Spawned { pid, enforcement } => {
            // The runner's report, a layer at a time (`name=status`).
            for layer in enforcement {
                let (layer, status) = layer.split_once('=').unwrap_or((layer, ""));
                tracing::debug!(plugin, layer, status, "confinement");
            }
            tracing::info!(plugin, pid, "spawned");
        }
        AuditEvent::State { from, to } => tracing::debug!(plugin, from, to, "state"),
        AuditEvent::Terminated { reason, detail } => {
            if reason.is_abnormal() {
                tracing::warn!(plugin, reason = reason.name(), detail, "terminated")
            } else {
                tracing::info!(plugin, reason = reason.name(), detail, "terminated")
            }
        }
        AuditEvent::Notification { message } => {
            tracing::info!(plugin, message_bytes = message.len(), "notification")
        }
        AuditEvent::Restart {
            attempt,
            backoff_ms,
            after,
        } => tracing::warn!(plugin, attempt, backoff_ms, after, "restart"),
        AuditEvent::DeadlineMissed {
            phase,
            liveness,
            last_answer_ms,
        } => tracing::warn!(
            plugin,
            phase = ?phase,
            liveness = liveness.map_or("unknown", |l| l.name()),
            last_answer_ms,
            "deadline missed"
        ),
        AuditEvent::Quarantined { restarts } => {
            tracing::error!(plugin, restarts, "quarantined")
        }
        AuditEvent::UpdateRefused {
            version,
            kind,
            detail,
        } => tracing::warn!(plugin, version, kind, detail, "update refused"),
        AuditEvent::UpdateStarted { from, to } => tracing::info!(plugin, from, to, "update"),
        AuditEvent::UpdateActivated {
            version,
            probation_calls,
            ..
        } => tracing::info!(plugin, version, probation_calls, "update activated"),
        AuditEvent::UpdateCommitted { version } => {
            tracing::info!(plugin, version, "update committed")
        }
        AuditEvent::UpdateRolledBack {
            from,
            to,
            reason,
            storage_restored,
            ..
        } => tracing::error!(
            plugin,
            from,
            to,
            reason,
            storage_restored,
            "update rolled back"
        ),
        AuditEvent::Stats { stats } => tracing::debug!(
            plugin,
            invocations = stats.invocations,
            errors = stats.errors,
            p99_latency_us = stats.p99_latency_us,
            cpu_us = stats.cpu_us,
            peak_rss_kib = stats.peak_rss_kib,
            host_calls = stats.broker.host_calls,
            denials = stats.broker.denials,
            "stats"
        ),
    }
}
