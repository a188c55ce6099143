//! The audit trail: every load, verification, policy decision, grant, denial, limit hit,
//! state transition and termination, as append-only JSON lines.
//!
//! The schema is [`AUDIT_SCHEMA_VERSION`] and is documented in `sandbox/AUDIT.md`; a test keeps
//! the two in step. Each line is one [`AuditRecord`]: a sequence number that has no gap within
//! one log, the wall-clock time, the plugin, and the event. Lines are written with one
//! `write` on a descriptor opened with `O_APPEND`, so records from several threads or
//! processes never interleave inside a line, and nothing ever rewrites an earlier one.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub use crate::event::AuditEvent;

/// Version of the record layout. Bumped when a field changes meaning or disappears; new
/// events and new optional fields do not bump it (readers ignore what they do not know).
pub const AUDIT_SCHEMA_VERSION: u32 = 1;

/// Records a plugin keeps in memory (the newest), besides the file.
pub const MAX_KEPT_EVENTS: usize = 256;

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// [`AUDIT_SCHEMA_VERSION`].
    pub schema: u32,
    /// Position in this log, from 1, without gaps.
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub unix_ms: u64,
    /// The plugin concerned (its package or configured name), empty for host-wide events.
    pub plugin: String,
    /// What happened.
    #[serde(flatten)]
    pub event: AuditEvent,
}

/// Failure to open or write the audit log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The file could not be opened or written.
    #[error("audit log {path}: {source}")]
    Io {
        /// The log.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line of an existing log is not a record of this schema.
    #[error("audit log {path}, line {line}: {detail}")]
    Malformed {
        /// The log.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        detail: String,
    },
}

/// An append-only audit log file.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<File>,
    seq: AtomicU64,
}

impl AuditLog {
    /// Opens (creating, mode 0600) the log at `path` for appending. Sequence numbers continue
    /// after the last record already there.
    pub fn open(path: impl Into<PathBuf>) -> Result<AuditLog, AuditError> {
        let path = path.into();
        let io = |source| AuditError::Io {
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        let last = read_log(&path)?.last().map_or(0, |r| r.seq);
        Ok(AuditLog {
            path,
            file: Mutex::new(file),
            seq: AtomicU64::new(last),
        })
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record. A write failure is returned, never hidden: a host that cannot audit
    /// must know.
    pub fn append(&self, plugin: &str, event: AuditEvent) -> Result<AuditRecord, AuditError> {
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // Taken under the lock so that sequence numbers are in file order.
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let record = AuditRecord {
            schema: AUDIT_SCHEMA_VERSION,
            seq,
            unix_ms: unix_ms(),
            plugin: plugin.to_owned(),
            event,
        };
        let mut line = serde_json::to_vec(&record).map_err(|e| AuditError::Io {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        line.push(b'\n');
        file.write_all(&line).map_err(|source| AuditError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(record)
    }
}

/// Reads every record of a log, in order. A torn last line (a host killed mid-write) is
/// reported as malformed, like any other bad line: the reader decides what to do.
pub fn read_log(path: &Path) -> Result<Vec<AuditRecord>, AuditError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(AuditError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str::<AuditRecord>(l).map_err(|e| AuditError::Malformed {
                path: path.to_path_buf(),
                line: i + 1,
                detail: e.to_string(),
            })
        })
        .collect()
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Where one plugin's events go: an optional shared log file, under the plugin's name.
#[derive(Debug, Clone, Default)]
pub struct Audit {
    log: Option<Arc<AuditLog>>,
    plugin: String,
}

impl Audit {
    /// Events of `plugin` into `log` (none: kept in memory only, by the plugin).
    pub fn new(log: Option<Arc<AuditLog>>, plugin: impl Into<String>) -> Audit {
        Audit {
            log,
            plugin: plugin.into(),
        }
    }

    /// The plugin's name.
    pub fn plugin(&self) -> &str {
        &self.plugin
    }

    /// Appends an event to the file, if there is one. A failed write is reported (as an
    /// error trace, or on stderr to a host that set no subscriber) once per failure and
    /// never stops the plugin's work: refusing service because the disk is full would hand
    /// a plugin a way to stop its neighbours.
    pub fn record(&self, event: &AuditEvent) {
        crate::trace::audit_event(&self.plugin, event);
        if let Some(log) = &self.log
            && let Err(e) = log.append(&self.plugin, event.clone())
        {
            // The record is lost to the file (it stays in the plugin's memory): say so where
            // the host's operator looks.
            crate::trace::to_operator(
                || tracing::error!(plugin = %self.plugin, error = %e, "audit log not written"),
                || format!("audit: {e}"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = include_str!("../../AUDIT.md");

    fn samples() -> Vec<AuditEvent> {
        let s = String::new;
        vec![
            AuditEvent::PackageVerified {
                version: s(),
                sha256: s(),
                signer: s(),
            },
            AuditEvent::PackageRefused {
                kind: s(),
                detail: s(),
            },
            AuditEvent::PolicyDecision {
                policy_version: 1,
                rule: s(),
                requested: vec![],
                granted: vec![],
                withheld: vec![],
                exceptions: vec![],
                outcome: s(),
                limits: None,
                require_hardening: vec![],
                conditions: vec![],
            },
            AuditEvent::Consent {
                capability: s(),
                given: true,
            },
            AuditEvent::Granted { capability: s() },
            AuditEvent::Denied {
                service: s(),
                reason: crate::event::Denial::Revoked,
                detail: s(),
            },
            AuditEvent::LimitHit {
                limit: crate::event::Limit::CpuRate,
                action: crate::event::LimitAction::Refused,
                value: 0,
                max: 0,
            },
            AuditEvent::Revoked { capability: s() },
            AuditEvent::KeyRevoked {
                key: s(),
                stopped: vec![],
            },
            AuditEvent::Spawned {
                pid: 0,
                enforcement: vec![],
            },
            AuditEvent::State { from: s(), to: s() },
            AuditEvent::Terminated {
                reason: crate::termination::TerminationKind::SeccompViolation,
                detail: s(),
            },
            AuditEvent::Notification { message: s() },
            AuditEvent::Restart {
                attempt: 1,
                backoff_ms: 0,
                after: s(),
            },
            AuditEvent::DeadlineMissed {
                phase: crate::termination::Phase::Call,
                liveness: Some(crate::liveness::Liveness::Working),
                last_answer_ms: Some(0),
            },
            AuditEvent::Quarantined { restarts: 0 },
            AuditEvent::Stats {
                stats: Box::default(),
            },
        ]
    }

    #[test]
    fn every_event_and_field_is_documented() {
        assert!(DOC.contains(&format!("schema version {AUDIT_SCHEMA_VERSION}")));
        for event in samples() {
            let json = serde_json::to_value(&event).expect("serialisable");
            let name = json["event"].as_str().expect("tagged");
            assert_eq!(name, event.name());
            let heading = format!("### `{name}`");
            let section = DOC
                .split(&heading)
                .nth(1)
                .unwrap_or_else(|| panic!("AUDIT.md has no section {heading}"));
            let section = section.split("\n### ").next().unwrap_or_default();
            for field in json.as_object().expect("object").keys() {
                if field != "event" {
                    assert!(
                        section.contains(&format!("`{field}`")),
                        "AUDIT.md does not document {name}.{field}"
                    );
                }
            }
        }
    }

    /// The words a field may hold are documented in its event's section.
    #[test]
    fn every_word_of_a_typed_field_is_documented() {
        use crate::event::{Denial, Limit, LimitAction};
        let section = |name: &str| {
            DOC.split(&format!("### `{name}`"))
                .nth(1)
                .and_then(|s| s.split("\n### ").next())
                .unwrap_or_default()
                .to_owned()
        };
        let words = Denial::ALL
            .iter()
            .map(|w| ("denied", w.name()))
            .chain(Limit::ALL.iter().map(|w| ("limit_hit", w.name())))
            .chain(LimitAction::ALL.iter().map(|w| ("limit_hit", w.name())))
            .chain(
                crate::termination::TerminationKind::ALL
                    .iter()
                    .map(|w| ("terminated", w.name())),
            )
            .chain(
                crate::liveness::Liveness::ALL
                    .iter()
                    .map(|w| ("deadline_missed", w.name())),
            );
        for (event, word) in words {
            assert!(
                section(event).contains(&format!("`{word}`")),
                "AUDIT.md's {event} does not name `{word}`"
            );
        }
    }

    #[test]
    fn records_append_in_order_and_numbering_survives_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path).expect("open");
        log.append(
            "a",
            AuditEvent::Granted {
                capability: "log".into(),
            },
        )
        .expect("append");
        log.append("b", AuditEvent::Quarantined { restarts: 3 })
            .expect("append");
        drop(log);
        let log = AuditLog::open(&path).expect("reopen");
        log.append(
            "a",
            AuditEvent::Revoked {
                capability: "log".into(),
            },
        )
        .expect("append");
        let records = read_log(&path).expect("read");
        assert_eq!(
            records.iter().map(|r| r.seq).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert_eq!(records[1].plugin, "b");
        assert_eq!(records[2].event.name(), "revoked");
        std::fs::write(
            &path,
            "{\"schema\":1,\"seq\":1,\"unix_ms\":0,\"plugin\":\"a\",\"event\"",
        )
        .expect("write");
        assert!(matches!(
            read_log(&path),
            Err(AuditError::Malformed { line: 1, .. })
        ));
    }
}
