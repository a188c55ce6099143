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

/// How a new version of a running plugin is taken ([`crate::host::Host::update`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdatePolicy {
    /// Whether a version below the installed one may replace it (a rollback the operator
    /// chose); otherwise such an update is refused.
    #[serde(default)]
    pub allow_downgrade: bool,
    /// The new version's first calls, its probation: a fault among them counts against
    /// `failure_budget`; once they are served the update is final and the previous
    /// version's storage snapshot is dropped. 0: final as soon as it is activated.
    pub probation_calls: u32,
    /// Faults the new version may have within its probation; one more rolls it back.
    pub failure_budget: u32,
}

impl Default for UpdatePolicy {
    fn default() -> Self {
        UpdatePolicy {
            allow_downgrade: false,
            probation_calls: 20,
            failure_budget: 1,
        }
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
    update: Option<UpdatePolicy>,
    #[serde(default)]
    net_allowlist: Vec<String>,
    #[serde(default)]
    config: BTreeMap<String, String>,
    #[serde(default)]
    require_hardening: Option<Vec<String>>,
    #[serde(default)]
    consent: Option<Vec<String>>,
    #[serde(default)]
    when_loaded: Option<WhenLoaded>,
}

/// Limits that hold instead of a rule's while the host is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhenLoaded {
    /// The load beyond which they hold: runnable tasks per CPU, the 1-minute load average
    /// divided by the CPUs.
    pub above: f64,
    /// CPU rate cap while loaded, percent of one CPU.
    #[serde(default)]
    pub cpu_percent: Option<u32>,
    /// Host calls per second while loaded.
    #[serde(default)]
    pub host_calls_per_second: Option<u32>,
}

// A load threshold is a finite, checked number: the rule compares equal as its text does.
impl Eq for WhenLoaded {}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowToml {
    plugin: String,
    grant: Vec<String>,
    utc_hours: String,
    why: String,
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
    #[serde(default)]
    window: Vec<WindowToml>,
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
    /// How a new version is taken (a `[[plugin]]` rule without its own takes the
    /// default's).
    pub update: UpdatePolicy,
    /// Network destinations.
    pub net_allowlist: Vec<String>,
    /// Configuration values.
    pub config: BTreeMap<String, String>,
    /// Mitigations the plugin's binary must show (a `[[plugin]]` rule without its own list
    /// takes the default's).
    pub require_hardening: Vec<Hardening>,
    /// Capabilities of `grant` given only while the user's consent to them is recorded (a
    /// `[[plugin]]` rule without its own list takes the default's).
    pub consent: BTreeSet<Capability>,
    /// Limits while the host is loaded (a `[[plugin]]` rule without its own takes the
    /// default's).
    pub when_loaded: Option<WhenLoaded>,
}

/// Capabilities one plugin gets within a daily window of UTC time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The plugin.
    pub plugin: String,
    /// Capabilities it adds within the window.
    pub grant: BTreeSet<Capability>,
    /// Its start and end, minutes since midnight UTC; an end before the start spans
    /// midnight.
    pub minutes: (u32, u32),
    /// The text given (`HH:MM-HH:MM`).
    pub utc_hours: String,
    /// Why it exists.
    pub why: String,
}

impl Window {
    /// Whether `unix_secs` falls within the window (its start included, its end not).
    pub fn holds_at(&self, unix_secs: u64) -> bool {
        let minute = ((unix_secs / 60) % (24 * 60)) as u32;
        let (from, to) = self.minutes;
        if from <= to {
            (from..to).contains(&minute)
        } else {
            minute >= from || minute < to
        }
    }
}

/// Refuses `what` at `at` without a reason given: whoever reads the store later must learn
/// why it grants more.
fn require_why(why: &str, at: &str, what: &str) -> Result<(), PolicyError> {
    if why.trim().is_empty() {
        return Err(PolicyError::Invalid {
            at: at.into(),
            why: format!("{what} needs a why"),
        });
    }
    Ok(())
}

/// `HH:MM-HH:MM` as minutes since midnight.
fn parse_window(text: &str) -> Option<(u32, u32)> {
    let minutes = |t: &str| {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60 && t.trim().len() == 5).then_some(h * 60 + m)
    };
    let (from, to) = text.split_once('-')?;
    let (from, to) = (minutes(from)?, minutes(to)?);
    (from != to).then_some((from, to))
}

/// A condition that shaped a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shaping {
    /// A capability withheld for want of the user's consent.
    WithoutConsent(Capability),
    /// A capability given by a window open at the time (its hours, `HH:MM-HH:MM`).
    WithinWindow(Capability, String),
    /// The loaded limits held: the host's load and the rule's threshold, in hundredths of
    /// a runnable task per CPU.
    Loaded {
        /// The load, hundredths.
        load: u64,
        /// The threshold, hundredths.
        above: u64,
    },
}

impl Shaping {
    /// The condition in words, as the audit log records it.
    pub fn describe(&self) -> String {
        match self {
            Shaping::WithoutConsent(c) => format!("{c} without the user's consent"),
            Shaping::WithinWindow(c, hours) => format!("{c} within {hours} UTC"),
            Shaping::Loaded { load, above } => format!(
                "host loaded ({}.{:02} per CPU, above {}.{:02})",
                load / 100,
                load % 100,
                above / 100,
                above % 100
            ),
        }
    }
}

/// What a decision depends on besides the store and the manifest, read by the caller at
/// the moment of the decision: the time, the host's load and the user's consents. The
/// decision is a pure function of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Conditions {
    /// Now.
    pub now: SystemTime,
    /// The host's load: runnable tasks per CPU (the 1-minute load average divided by the
    /// CPUs); `None` when it could not be read, and no rule's `when_loaded` then holds.
    pub load_per_cpu: Option<f64>,
    /// The capabilities, by plugin, whose use the user consented to.
    pub consents: BTreeSet<(String, Capability)>,
}

impl Conditions {
    /// At `now`, with no load known and no consent given.
    pub fn at(now: SystemTime) -> Conditions {
        Conditions {
            now,
            load_per_cpu: None,
            consents: BTreeSet::new(),
        }
    }
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
    /// Daily windows of extra capabilities.
    pub windows: Vec<Window>,
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
    /// How a new version is taken.
    pub update: UpdatePolicy,
    /// Network destinations.
    pub net_allowlist: Vec<String>,
    /// Configuration values.
    pub config: BTreeMap<String, String>,
    /// Mitigations the plugin's binary must show before it is run.
    pub require_hardening: Vec<Hardening>,
    /// The conditions that shaped it (a consent missing, a window open, the host loaded),
    /// said in words in the audit log.
    pub conditions: Vec<Shaping>,
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
            conditions: self.conditions.iter().map(Shaping::describe).collect(),
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
    let consent = match &raw.consent {
        Some(names) => capabilities(names, at)?,
        None => base.map(|b| b.consent.clone()).unwrap_or_default(),
    };
    if let Some(w) = &raw.when_loaded
        && !(w.above.is_finite() && w.above > 0.0)
    {
        return Err(PolicyError::Invalid {
            at: at.into(),
            why: format!(
                "when_loaded.above = {}: a load must be a positive number",
                w.above
            ),
        });
    }
    if raw
        .when_loaded
        .is_some_and(|w| w.cpu_percent == Some(0) || w.host_calls_per_second == Some(0))
    {
        return Err(PolicyError::Invalid {
            at: at.into(),
            why: "a when_loaded limit of 0 leaves nothing to run".into(),
        });
    }
    Ok(Rule {
        require_hardening,
        consent,
        when_loaded: raw.when_loaded.or(base.and_then(|b| b.when_loaded)),
        grant: capabilities(&raw.grant, at)?,
        on_excess: raw
            .on_excess
            .or(base.map(|b| b.on_excess))
            .unwrap_or_default(),
        limits,
        restart: raw.restart.or(base.map(|b| b.restart)).unwrap_or_default(),
        update: raw.update.or(base.map(|b| b.update)).unwrap_or_default(),
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
            require_why(&e.why, &at, "an exception")?;
            exceptions.push(Exception {
                plugin: e.plugin,
                grant: capabilities(&e.grant, &at)?,
                until_unix,
                until: e.until,
                why: e.why,
            });
        }
        let mut windows = Vec::new();
        for (i, w) in raw.window.into_iter().enumerate() {
            let at = format!("window {}", i + 1);
            let minutes = parse_window(&w.utc_hours).ok_or_else(|| PolicyError::Invalid {
                at: at.clone(),
                why: format!(
                    "utc_hours {:?} is not two different times of day, HH:MM-HH:MM",
                    w.utc_hours
                ),
            })?;
            require_why(&w.why, &at, "a window")?;
            windows.push(Window {
                plugin: w.plugin,
                grant: capabilities(&w.grant, &at)?,
                minutes,
                utc_hours: w.utc_hours,
                why: w.why,
            });
        }
        Ok(PolicyStore {
            version: raw.version,
            default,
            plugins,
            exceptions,
            windows,
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
    /// `asked` limits, under `conditions` (the time, the host's load, the user's
    /// consents). Pure: the same store, manifest and conditions give the same decision.
    pub fn decide(
        &self,
        name: &str,
        requested: &BTreeSet<Capability>,
        asked: &sbx_package::RequestedLimits,
        conditions: &Conditions,
    ) -> Decision {
        let (rule_name, r) = match self.plugins.get(name) {
            Some(r) => (format!("plugin:{name}"), r),
            None => ("default".to_owned(), &self.default),
        };
        let now_unix = conditions
            .now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut allowed = r.grant.clone();
        let mut exceptions = Vec::new();
        let mut shaped_by = Vec::new();
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
        for w in self.windows.iter().filter(|w| w.plugin == name) {
            if w.holds_at(now_unix) {
                for c in w.grant.intersection(requested) {
                    if allowed.insert(*c) {
                        shaped_by.push(Shaping::WithinWindow(*c, w.utc_hours.clone()));
                    }
                }
            }
        }
        // A capability that needs consent is allowed only while the user's is recorded.
        for c in r.consent.intersection(requested) {
            let consented = conditions
                .consents
                .iter()
                .any(|(plugin, given)| plugin == name && given == c);
            if !consented && allowed.remove(c) {
                shaped_by.push(Shaping::WithoutConsent(*c));
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
        // A loaded host gives less: never more than the usual limits.
        let limits = match (r.when_loaded, conditions.load_per_cpu) {
            (Some(w), Some(load)) if load > w.above => {
                let hundredths = |v: f64| (v * 100.0).round() as u64;
                shaped_by.push(Shaping::Loaded {
                    load: hundredths(load),
                    above: hundredths(w.above),
                });
                DecidedLimits {
                    cpu_percent: match (limits.cpu_percent, w.cpu_percent) {
                        (Some(usual), Some(loaded)) => Some(usual.min(loaded)),
                        (usual, loaded) => loaded.or(usual),
                    },
                    host_calls_per_second: w
                        .host_calls_per_second
                        .map_or(limits.host_calls_per_second, |h| {
                            h.min(limits.host_calls_per_second)
                        }),
                    ..limits
                }
            }
            _ => limits,
        };
        Decision {
            policy_version: self.version,
            conditions: shaped_by,
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
            update: r.update,
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

    /// The conditions at UTC time `text`, with no load known and no consent given.
    fn at(text: &str) -> Conditions {
        Conditions::at(UNIX_EPOCH + Duration::from_secs(parse_utc(text).expect("time")))
    }

    /// A store whose default rule gives `notify` only with consent and less under load, and
    /// a window of `net` for `night-job` from 22:00 to 06:00 UTC.
    const CONDITIONAL: &str = r#"
format = 1
version = 7
[default]
grant = ["log", "notify", "storage"]
consent = ["notify"]
memory_mib = 64
cpu_seconds = 5
cpu_percent = 80
storage_bytes = 4096
host_calls_per_second = 200
when_loaded = { above = 1.5, cpu_percent = 20, host_calls_per_second = 50 }
[[window]]
plugin = "night-job"
grant = ["net"]
utc_hours = "22:00-06:00"
why = "the nightly sync, off business hours"
"#;

    #[test]
    fn a_capability_that_needs_consent_is_given_only_with_it() {
        let s = PolicyStore::parse(CONDITIONAL).expect("parses");
        let none = sbx_package::RequestedLimits::default();
        let asked = caps(&["log", "notify", "storage"]);
        let mut now = at("2026-01-01T12:00:00Z");
        let without = s.decide("p", &asked, &none, &now);
        assert_eq!(without.granted, caps(&["log", "storage"]));
        assert_eq!(without.withheld, caps(&["notify"]));
        assert_eq!(
            without.conditions,
            [Shaping::WithoutConsent(Capability::Notify)]
        );
        assert!(matches!(
            without.audit_event(),
            AuditEvent::PolicyDecision { conditions, .. }
                if conditions == ["notify without the user's consent"]
        ));
        now.consents.insert(("p".into(), Capability::Notify));
        assert_eq!(s.decide("p", &asked, &none, &now).granted, asked);
        // Another plugin's consent is not this one's.
        assert_eq!(
            s.decide("q", &asked, &none, &now).withheld,
            caps(&["notify"])
        );
    }

    #[test]
    fn a_loaded_host_gives_less_and_never_more() {
        let s = PolicyStore::parse(CONDITIONAL).expect("parses");
        let none = sbx_package::RequestedLimits::default();
        let mut now = at("2026-01-01T12:00:00Z");
        let idle = s.decide("p", &BTreeSet::new(), &none, &now).limits;
        assert_eq!(
            (idle.cpu_percent, idle.host_calls_per_second),
            (Some(80), 200)
        );
        now.load_per_cpu = Some(1.4);
        assert_eq!(s.decide("p", &BTreeSet::new(), &none, &now).limits, idle);
        now.load_per_cpu = Some(2.0);
        let loaded = s.decide("p", &BTreeSet::new(), &none, &now);
        assert_eq!(
            (
                loaded.limits.cpu_percent,
                loaded.limits.host_calls_per_second
            ),
            (Some(20), 50)
        );
        assert_eq!(
            loaded
                .conditions
                .iter()
                .map(Shaping::describe)
                .collect::<Vec<_>>(),
            ["host loaded (2.00 per CPU, above 1.50)"]
        );
        // A plugin that asks for less than the loaded limit keeps asking for less.
        let modest = sbx_package::RequestedLimits {
            cpu_percent: Some(10),
            host_calls_per_second: Some(5),
            ..none
        };
        let d = s.decide("p", &BTreeSet::new(), &modest, &now);
        assert_eq!(
            (d.limits.cpu_percent, d.limits.host_calls_per_second),
            (Some(10), 5)
        );
    }

    #[test]
    fn a_window_gives_its_capabilities_within_its_hours_only() {
        let s = PolicyStore::parse(CONDITIONAL).expect("parses");
        let none = sbx_package::RequestedLimits::default();
        let asked = caps(&["log", "net"]);
        for (time, net) in [
            ("2026-01-01T21:59:59Z", false),
            ("2026-01-01T22:00:00Z", true),
            ("2026-01-02T03:00:00Z", true),
            ("2026-01-02T06:00:00Z", false),
            ("2026-01-02T12:00:00Z", false),
        ] {
            let d = s.decide("night-job", &asked, &none, &at(time));
            assert_eq!(d.granted.contains(&Capability::Net), net, "{time}");
        }
        // Only the plugin it names.
        assert!(
            s.decide("other", &asked, &none, &at("2026-01-02T03:00:00Z"))
                .withheld
                .contains(&Capability::Net)
        );
    }

    #[test]
    fn conditions_that_cannot_be_met_are_refused() {
        for (from, to) in [
            (
                "when_loaded = { above = 1.5,",
                "when_loaded = { above = -1.0,",
            ),
            (
                "when_loaded = { above = 1.5,",
                "when_loaded = { above = nan,",
            ),
            ("cpu_percent = 20, host", "cpu_percent = 0, host"),
            ("utc_hours = \"22:00-06:00\"", "utc_hours = \"22:00-22:00\""),
            ("utc_hours = \"22:00-06:00\"", "utc_hours = \"25:00-06:00\""),
            ("utc_hours = \"22:00-06:00\"", "utc_hours = \"night\""),
            (
                "why = \"the nightly sync, off business hours\"",
                "why = \" \"",
            ),
            ("consent = [\"notify\"]", "consent = [\"telepathy\"]"),
        ] {
            assert!(CONDITIONAL.contains(from), "{from}");
            let text = CONDITIONAL.replacen(from, to, 1);
            assert!(PolicyStore::parse(&text).is_err(), "{to} was accepted");
        }
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
            &at("2026-01-01T00:00:00Z"),
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
            &at("2026-01-01T00:00:00Z"),
        );
        assert!(!d.load);
        // The exception adds `net` for template-c until its date, and not after (at noon,
        // outside the nightly window that gives it `net` too).
        let before = s.decide(
            "template-c",
            &caps(&["log", "net"]),
            &none,
            &at("2026-01-01T12:00:00Z"),
        );
        assert_eq!(before.granted, caps(&["log", "net"]));
        assert_eq!(before.exceptions.len(), 1);
        let after = s.decide(
            "template-c",
            &caps(&["log", "net"]),
            &none,
            &at("2030-01-01T12:00:00Z"),
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
            &at("2026-01-01T00:00:00Z"),
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
            &at("2026-01-01T00:00:00Z"),
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
