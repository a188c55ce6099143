//! The plugin policy store: which requested capabilities each plugin is granted, its limits
//! and its restart policy, with time-bound exceptions.
//!
//! A store is one versioned TOML file (`sandbox/policy/plugins.example.toml` is a commented
//! example). [`PolicyStore::decide`] is a pure function of the store, the manifest and the
//! time: given the same three it gives the same [`Decision`], which records the store's
//! version, so every decision in the audit log can be reproduced later. A plugin asking for
//! more than its rule allows is refused or runs with the grant cut down, as the rule's
//! `on_excess` says; it is never silently granted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::audit::AuditEvent;
use crate::broker::{Capability, canonical_destination};
use sbx_package::hardening::Hardening;

/// Largest policy file accepted (1 MiB).
pub const MAX_POLICY_LEN: usize = 1 << 20;

/// Why a policy store is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The file cannot be read.
    #[error("policy {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, or not a policy store's shape.
    #[error("policy: {0}")]
    Syntax(String),
    /// A value breaks a rule.
    #[error("policy {at}: {why}")]
    Invalid {
        /// Where (`default`, `plugin echo`, `exception 2`).
        at: String,
        /// What is wrong.
        why: String,
    },
}

/// What to do with a manifest that asks for capabilities its rule does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnExcess {
    /// Run with the allowed part only (recorded as `withheld`).
    #[default]
    Cut,
    /// Do not load the plugin.
    Refuse,
}

/// How a plugin is restarted after a transient fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestartPolicy {
    /// Restarts allowed within `window_s`; one more fault quarantines the plugin.
    pub max_restarts: u32,
    /// The window, seconds.
    pub window_s: u64,
    /// Backoff before the first restart, milliseconds; doubled for each further one.
    pub backoff_ms: u64,
    /// Largest backoff, milliseconds.
    pub max_backoff_ms: u64,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            max_restarts: 3,
            window_s: 60,
            backoff_ms: 50,
            max_backoff_ms: 2000,
        }
    }
}

impl RestartPolicy {
    /// Backoff before restart number `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u64 << attempt.saturating_sub(1).min(20);
        Duration::from_millis(
            self.backoff_ms
                .saturating_mul(factor)
                .min(self.max_backoff_ms),
        )
    }
}

/// Limits a rule sets (each optional in a plugin rule: the default's applies).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleLimits {
    /// Memory cap, MiB.
    pub memory_mib: Option<u64>,
    /// CPU seconds per process.
    pub cpu_seconds: Option<u64>,
    /// CPU rate, percent of one CPU (a cgroup's CPU controller throttles beyond it).
    pub cpu_percent: Option<u32>,
    /// Storage bytes.
    pub storage_bytes: Option<u64>,
    /// Storage keys (at most `storage::MAX_KEYS`).
    pub storage_keys: Option<u64>,
    /// Host calls per second.
    pub host_calls_per_second: Option<u32>,
    /// Log bytes per second.
    pub log_bytes_per_second: Option<u32>,
    /// Output bytes per call.
    pub output_bytes: Option<u32>,
    /// Processes and threads.
    pub processes: Option<u64>,
}

// Fields spelled out rather than flattened: serde cannot refuse unknown fields through a
// flattened struct, and a misspelt limit must be an error, not a silent default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleToml {
    /// Set in `[[plugin]]` rules only.
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    grant: Vec<String>,
    #[serde(default)]
    on_excess: Option<OnExcess>,
    memory_mib: Option<u64>,
    cpu_seconds: Option<u64>,
    cpu_percent: Option<u32>,
    storage_bytes: Option<u64>,
    storage_keys: Option<u64>,
    host_calls_per_second: Option<u32>,
    log_bytes_per_second: Option<u32>,
    output_bytes: Option<u32>,
    processes: Option<u64>,
    #[serde(default)]
    restart: Option<RestartPolicy>,
    #[serde(default)]
    net_allowlist: Vec<String>,
    #[serde(default)]
    config: BTreeMap<String, String>,
    #[serde(default)]
    require_hardening: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExceptionToml {
    plugin: String,
    grant: Vec<String>,
    until: String,
    why: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreToml {
    format: u32,
    version: u64,
    default: RuleToml,
    #[serde(default)]
    plugin: Vec<RuleToml>,
    #[serde(default)]
    exception: Vec<ExceptionToml>,
}

/// One rule, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rule {
    /// Capabilities the rule allows.
    pub grant: BTreeSet<Capability>,
    /// What to do with a request beyond `grant`.
    pub on_excess: OnExcess,
    /// Limits.
    pub limits: RuleLimits,
    /// Restart policy.
    pub restart: RestartPolicy,
    /// Network destinations.
    pub net_allowlist: Vec<String>,
    /// Configuration values.
    pub config: BTreeMap<String, String>,
    /// Mitigations the plugin's binary must show (a `[[plugin]]` rule without its own list
    /// takes the default's).
    pub require_hardening: Vec<Hardening>,
}

/// A time-bound exception: extra capabilities for one plugin until a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    /// The plugin.
    pub plugin: String,
    /// Capabilities it adds.
    pub grant: BTreeSet<Capability>,
    /// Seconds since the Unix epoch when it stops applying.
    pub until_unix: u64,
    /// The text given (RFC 3339, UTC).
    pub until: String,
    /// Why it exists.
    pub why: String,
}

/// A checked policy store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyStore {
    /// The store's version, recorded in every decision.
    pub version: u64,
    /// The rule for plugins without their own.
    pub default: Rule,
    /// Per-plugin rules.
    pub plugins: BTreeMap<String, Rule>,
    /// Exceptions.
    pub exceptions: Vec<Exception>,
}

/// The limits a plugin gets (defined with the audit events, which record them).
pub use crate::event::DecidedLimits;

/// What the policy decided for one plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The store's version.
    pub policy_version: u64,
    /// `plugin:<name>` or `default`.
    pub rule: String,
    /// Requested by the manifest.
    pub requested: BTreeSet<Capability>,
    /// Granted.
    pub granted: BTreeSet<Capability>,
    /// Requested and not granted.
    pub withheld: BTreeSet<Capability>,
    /// Exceptions that applied (`capability until RFC3339`).
    pub exceptions: Vec<String>,
    /// `false` when `on_excess = "refuse"` and something was withheld.
    pub load: bool,
    /// Limits.
    pub limits: DecidedLimits,
    /// Restart policy.
    pub restart: RestartPolicy,
    /// Network destinations.
    pub net_allowlist: Vec<String>,
    /// Configuration values.
    pub config: BTreeMap<String, String>,
    /// Mitigations the plugin's binary must show before it is run.
    pub require_hardening: Vec<Hardening>,
}

impl Decision {
    /// The decision as an audit event.
    pub fn audit_event(&self) -> AuditEvent {
        let names = |s: &BTreeSet<Capability>| s.iter().map(|c| c.name().to_owned()).collect();
        AuditEvent::PolicyDecision {
            policy_version: self.policy_version,
            rule: self.rule.clone(),
            requested: names(&self.requested),
            granted: names(&self.granted),
            withheld: names(&self.withheld),
            exceptions: self.exceptions.clone(),
            outcome: if self.load { "load" } else { "refuse" }.into(),
            limits: Some(self.limits),
            require_hardening: self
                .require_hardening
                .iter()
                .map(|h| h.name().to_owned())
                .collect(),
        }
    }
}

/// Parses an RFC 3339 time in UTC (`YYYY-MM-DDTHH:MM:SSZ`), as `humantime::parse_rfc3339`
/// reads it (fractions of a second dropped, a leap second read as the second before), to
/// Unix seconds; `None` for another offset, a time before 1970, a day the month does not
/// have, or anything else. Total.
pub fn parse_utc(text: &str) -> Option<u64> {
    let at = humantime::parse_rfc3339(text).ok()?;
    Some(at.duration_since(UNIX_EPOCH).ok()?.as_secs())
}

fn capabilities(names: &[String], at: &str) -> Result<BTreeSet<Capability>, PolicyError> {
    names
        .iter()
        .map(|n| {
            Capability::from_name(n).ok_or_else(|| PolicyError::Invalid {
                at: at.into(),
                why: format!("unknown capability {n:?}"),
            })
        })
        .collect()
}

fn rule(raw: RuleToml, at: &str, base: Option<&Rule>) -> Result<Rule, PolicyError> {
    let raw_limits = RuleLimits {
        memory_mib: raw.memory_mib,
        cpu_seconds: raw.cpu_seconds,
        cpu_percent: raw.cpu_percent,
        storage_bytes: raw.storage_bytes,
        storage_keys: raw.storage_keys,
        host_calls_per_second: raw.host_calls_per_second,
        log_bytes_per_second: raw.log_bytes_per_second,
        output_bytes: raw.output_bytes,
        processes: raw.processes,
    };
    for d in &raw.net_allowlist {
        canonical_destination(d).map_err(|why| PolicyError::Invalid {
            at: at.into(),
            why: format!("net_allowlist {d:?}: {why}"),
        })?;
    }
    let limits = match base {
        None => {
            let l = raw_limits;
            let missing = [
                ("memory_mib", l.memory_mib.is_none()),
                ("cpu_seconds", l.cpu_seconds.is_none()),
                ("storage_bytes", l.storage_bytes.is_none()),
                ("host_calls_per_second", l.host_calls_per_second.is_none()),
            ];
            if let Some((name, _)) = missing.iter().find(|(_, m)| *m) {
                return Err(PolicyError::Invalid {
                    at: at.into(),
                    why: format!("the default rule must set {name}"),
                });
            }
            l
        }
        Some(_) => raw_limits,
    };
    let zero = [
        limits.memory_mib == Some(0),
        limits.cpu_seconds == Some(0),
        limits.cpu_percent == Some(0),
        limits.host_calls_per_second == Some(0),
        limits.output_bytes == Some(0),
        limits.processes == Some(0),
    ];
    if zero.iter().any(|z| *z) {
        return Err(PolicyError::Invalid {
            at: at.into(),
            why: "a limit of 0 (memory, CPU, host-call rate, output, processes) leaves nothing to run".into(),
        });
    }
    let require_hardening = match raw.require_hardening {
        Some(names) => names
            .iter()
            .map(|n| {
                Hardening::from_name(n).ok_or_else(|| PolicyError::Invalid {
                    at: at.into(),
                    why: format!(
                        "unknown mitigation {n:?} in require_hardening (known: {})",
                        Hardening::ALL.map(Hardening::name).join(", ")
                    ),
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => base
            .map(|b| b.require_hardening.clone())
            .unwrap_or_default(),
    };
    Ok(Rule {
        require_hardening,
        grant: capabilities(&raw.grant, at)?,
        on_excess: raw
            .on_excess
            .or(base.map(|b| b.on_excess))
            .unwrap_or_default(),
        limits,
        restart: raw.restart.or(base.map(|b| b.restart)).unwrap_or_default(),
        net_allowlist: raw.net_allowlist,
        config: raw.config,
    })
}

impl PolicyStore {
    /// Parses and checks a store's text. Total.
    pub fn parse(text: &str) -> Result<PolicyStore, PolicyError> {
        if text.len() > MAX_POLICY_LEN {
            return Err(PolicyError::Syntax(format!(
                "{} bytes exceeds {MAX_POLICY_LEN}",
                text.len()
            )));
        }
        let raw: StoreToml =
            toml::from_str(text).map_err(|e| PolicyError::Syntax(e.message().to_owned()))?;
        if raw.format != 1 {
            return Err(PolicyError::Syntax(format!(
                "format {} (this sandbox reads 1)",
                raw.format
            )));
        }
        if raw.default.name.is_some() {
            return Err(PolicyError::Invalid {
                at: "default".into(),
                why: "the default rule has no name".into(),
            });
        }
        let default = rule(raw.default, "default", None)?;
        let mut plugins = BTreeMap::new();
        for p in raw.plugin {
            let Some(name) = p.name.clone() else {
                return Err(PolicyError::Invalid {
                    at: format!("plugin rule {}", plugins.len() + 1),
                    why: "a plugin rule needs a name".into(),
                });
            };
            let at = format!("plugin {name}");
            let r = rule(p, &at, Some(&default))?;
            if plugins.insert(name, r).is_some() {
                return Err(PolicyError::Invalid {
                    at,
                    why: "two rules for one plugin".into(),
                });
            }
        }
        let mut exceptions = Vec::new();
        for (i, e) in raw.exception.into_iter().enumerate() {
            let at = format!("exception {}", i + 1);
            let until_unix = parse_utc(&e.until).ok_or_else(|| PolicyError::Invalid {
                at: at.clone(),
                why: format!(
                    "until {:?} is not an RFC 3339 time in UTC (YYYY-MM-DDTHH:MM:SSZ)",
                    e.until
                ),
            })?;
            if e.why.trim().is_empty() {
                return Err(PolicyError::Invalid {
                    at,
                    why: "an exception needs a why".into(),
                });
            }
            exceptions.push(Exception {
                plugin: e.plugin,
                grant: capabilities(&e.grant, &at)?,
                until_unix,
                until: e.until,
                why: e.why,
            });
        }
        Ok(PolicyStore {
            version: raw.version,
            default,
            plugins,
            exceptions,
        })
    }

    /// Reads and parses a store file.
    pub fn load(path: &Path) -> Result<PolicyStore, PolicyError> {
        use std::io::Read;
        let io = |source| PolicyError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut text = String::new();
        std::fs::File::open(path)
            .map_err(io)?
            .take(MAX_POLICY_LEN as u64 + 1)
            .read_to_string(&mut text)
            .map_err(io)?;
        PolicyStore::parse(&text)
    }

    /// Decides for a plugin `name` whose manifest requests `requested` capabilities and
    /// `asked` limits, at time `now`. Pure.
    pub fn decide(
        &self,
        name: &str,
        requested: &BTreeSet<Capability>,
        asked: &sbx_package::RequestedLimits,
        now: SystemTime,
    ) -> Decision {
        let (rule_name, r) = match self.plugins.get(name) {
            Some(r) => (format!("plugin:{name}"), r),
            None => ("default".to_owned(), &self.default),
        };
        let now_unix = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut allowed = r.grant.clone();
        let mut exceptions = Vec::new();
        for e in self.exceptions.iter().filter(|e| e.plugin == name) {
            // An expired exception simply no longer applies: nobody has to remove it.
            if now_unix < e.until_unix {
                for c in e.grant.intersection(requested) {
                    if allowed.insert(*c) {
                        exceptions.push(format!("{c} until {}", e.until));
                    }
                }
            }
        }
        let granted: BTreeSet<Capability> = requested.intersection(&allowed).copied().collect();
        let withheld: BTreeSet<Capability> = requested.difference(&allowed).copied().collect();
        let d = &self.default.limits;
        let l = &r.limits;
        // A plugin may ask for less than the policy allows, never more.
        let min = |policy: u64, asked: Option<u64>| asked.map_or(policy, |a| a.min(policy));
        let memory = l.memory_mib.or(d.memory_mib).unwrap_or(256);
        let cpu = l.cpu_seconds.or(d.cpu_seconds).unwrap_or(10);
        let storage = l.storage_bytes.or(d.storage_bytes).unwrap_or(1 << 20);
        let rate = l
            .host_calls_per_second
            .or(d.host_calls_per_second)
            .unwrap_or(200);
        let limits = DecidedLimits {
            memory_mib: min(memory, asked.memory_mib),
            cpu_seconds: min(cpu, asked.cpu_seconds),
            // A rate cap the plugin asks for holds even where the policy sets none.
            cpu_percent: match (l.cpu_percent.or(d.cpu_percent), asked.cpu_percent) {
                (Some(policy), Some(a)) => Some(a.min(policy)),
                (policy, a) => policy.or(a),
            },
            storage_bytes: min(storage, asked.storage_bytes),
            storage_keys: l
                .storage_keys
                .or(d.storage_keys)
                .map_or(crate::storage::MAX_KEYS, |k| {
                    k.min(crate::storage::MAX_KEYS)
                }),
            host_calls_per_second: asked
                .host_calls_per_second
                .map_or(rate, |a| a.min(rate))
                .max(1),
            log_bytes_per_second: l
                .log_bytes_per_second
                .or(d.log_bytes_per_second)
                .unwrap_or(64 * 1024),
            output_bytes: l.output_bytes.or(d.output_bytes).unwrap_or(512 * 1024),
            processes: l.processes.or(d.processes).unwrap_or(32),
        };
        Decision {
            policy_version: self.version,
            rule: rule_name,
            requested: requested.clone(),
            load: withheld.is_empty() || r.on_excess == OnExcess::Cut,
            granted,
            withheld,
            exceptions,
            limits: DecidedLimits {
                memory_mib: limits.memory_mib.max(1),
                cpu_seconds: limits.cpu_seconds.max(1),
                ..limits
            },
            restart: r.restart,
            net_allowlist: r.net_allowlist.clone(),
            config: r.config.clone(),
            require_hardening: r.require_hardening.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STORE: &str = include_str!("../../policy/plugins.example.toml");

    fn caps(names: &[&str]) -> BTreeSet<Capability> {
        names
            .iter()
            .map(|n| Capability::from_name(n).expect("capability"))
            .collect()
    }

    fn at(text: &str) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(parse_utc(text).expect("time"))
    }

    #[test]
    fn the_example_store_parses() {
        let s = PolicyStore::parse(STORE).expect("example parses");
        assert!(s.version >= 1);
        assert!(s.plugins.contains_key("template-c"));
    }

    #[test]
    fn grants_are_cut_or_refused_and_exceptions_expire() {
        let s = PolicyStore::parse(STORE).expect("parses");
        let none = sbx_package::RequestedLimits::default();
        // The default rule cuts: the plugin runs without what it may not have.
        let d = s.decide(
            "unknown",
            &caps(&["log", "net"]),
            &none,
            at("2026-01-01T00:00:00Z"),
        );
        assert!(d.load);
        assert_eq!(d.granted, caps(&["log"]));
        assert_eq!(d.withheld, caps(&["net"]));
        assert_eq!(d.rule, "default");
        // `refuse-excess` refuses instead.
        let d = s.decide(
            "refuse-excess",
            &caps(&["log", "net"]),
            &none,
            at("2026-01-01T00:00:00Z"),
        );
        assert!(!d.load);
        // The exception adds `net` for template-c until its date, and not after.
        let before = s.decide(
            "template-c",
            &caps(&["log", "net"]),
            &none,
            at("2026-01-01T00:00:00Z"),
        );
        assert_eq!(before.granted, caps(&["log", "net"]));
        assert_eq!(before.exceptions.len(), 1);
        let after = s.decide(
            "template-c",
            &caps(&["log", "net"]),
            &none,
            at("2030-01-01T00:00:00Z"),
        );
        assert_eq!(after.withheld, caps(&["net"]));
        assert!(after.exceptions.is_empty());
        // Asked limits are honoured downwards only.
        let asked = sbx_package::RequestedLimits {
            memory_mib: Some(1 << 20),
            storage_bytes: Some(10),
            cpu_percent: Some(30),
            ..none
        };
        let d = s.decide(
            "unknown",
            &BTreeSet::new(),
            &asked,
            at("2026-01-01T00:00:00Z"),
        );
        assert_eq!(d.limits.storage_bytes, 10);
        assert!(d.limits.memory_mib <= s.default.limits.memory_mib.expect("set"));
        // A rate cap asked for holds where the policy sets none, and never rises above
        // the policy's.
        let policy_rate = s.default.limits.cpu_percent;
        assert_eq!(
            d.limits.cpu_percent,
            Some(policy_rate.map_or(30, |p| p.min(30)))
        );
        assert!(STORE.contains("cpu_percent = 100"));
        let capped =
            PolicyStore::parse(&STORE.replacen("cpu_percent = 100", "cpu_percent = 20", 1))
                .expect("parses");
        let greedy = sbx_package::RequestedLimits {
            cpu_percent: Some(400),
            ..none
        };
        let d = capped.decide(
            "unknown",
            &BTreeSet::new(),
            &greedy,
            at("2026-01-01T00:00:00Z"),
        );
        assert_eq!(d.limits.cpu_percent, Some(20));
    }

    #[test]
    fn invalid_stores_are_refused() {
        let ok = PolicyStore::parse(STORE).expect("parses");
        assert!(ok.default.limits.memory_mib.is_some());
        for (from, to) in [
            ("format = 1", "format = 2"),
            ("grant = [\"log\"]", "grant = [\"root\"]"),
            (
                "until = \"2027-01-01T00:00:00Z\"",
                "until = \"2027-02-30T00:00:00Z\"",
            ),
            ("why = \"", "why = \" \" # "),
            ("memory_mib = 256", "memory_mib = 0"),
        ] {
            assert!(STORE.contains(from), "example lacks {from}");
            let bad = STORE.replacen(from, to, 1);
            assert!(PolicyStore::parse(&bad).is_err(), "accepted {to}");
        }
    }

    #[test]
    fn utc_parsing() {
        assert_eq!(parse_utc("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_utc("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(parse_utc("2024-02-29T23:59:59Z"), Some(1_709_251_199));
        for bad in [
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00+01:00",
            "1969-12-31T23:59:59Z",
            "2024-04-31T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }

    proptest! {
        /// The store parser is total.
        #[test]
        fn store_parser_never_panics(text in "\\PC{0,300}") {
            let _ = PolicyStore::parse(&text);
        }
    }
}
