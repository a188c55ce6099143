//! The cases of the suite: one per plugin of `sbx-adversarial-plugins`, with the policy
//! and adjustments of `conformance/cases.toml`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use sbx_adversarial_plugins::{Evidence, Expectation, Family, PluginSpec, Stage, Termination};
use sbx_harness::case::{
    AllowlistedService, AttackFact, AuditCheck, Bounds, Case, Expected, FaultsBeforeCall,
    FiguresFloor, NeighbourMethods, PauseDuringCall, PausePlan, QuarantineCheck, RevokeDuringCall,
};
use sbx_harness::package::PackageForm;
use sbx_harness::protocol::{
    Feature, Policy, PolicyDeadlines, PolicyException, PolicyLimits, PolicyRestart, PolicyUpdate,
};
use serde::Deserialize;

/// The suite settings shipped with the suite.
pub const CASES: &str = include_str!("../cases.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    grants: Vec<String>,
    memory_bytes: u64,
    cpu_ms: u64,
    threads: u32,
    open_files: u32,
    output_bytes: u32,
    storage_bytes: u64,
    storage_keys: u64,
    host_calls_per_second: u32,
    log_bytes_per_second: u32,
    /// Configuration values, by key, for plugins granted `config`.
    #[serde(default)]
    config: BTreeMap<String, String>,
    init_ms: u64,
    call_ms: u64,
    shutdown_ms: u64,
    /// The deadline of the stage a plugin hangs in, when it is expected to be ended at it
    /// (`wall_timeout`), if shorter than that stage's own.
    hang_deadline_ms: u64,
    /// The mitigations a case with `require_hardening` has its policy require.
    hardening: Vec<String>,
    /// How an update case's policy takes the new version.
    update: UpdateFile,
}

/// `[policy.update]`: an update case's policy.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateFile {
    probation_calls: u32,
    failure_budget: u32,
    allow_downgrade: bool,
    /// The restarts allowed meanwhile.
    restart: PolicyRestart,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct HarnessFile {
    slack_ms: u64,
    settle_ms: u64,
    neighbour: String,
    neighbour_echo: String,
    neighbour_thread_echo: String,
    attack_input: BTreeMap<String, AttackFact>,
    gained_marker: String,
    /// The version an update case installs before it offers its plugin in its place.
    update_installed: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    settle_ms: Option<u64>,
    /// The settle time ends early once no process runs the plugin.
    #[serde(default)]
    settle_ends_when_gone: bool,
    /// Pause the plugin after its call, through the settle time (and its unload); or
    /// (`during_call`) while its call is pending ...
    pause: Option<PausePlan>,
    /// ... this long into the call ...
    pause_after_ms: Option<u64>,
    /// ... and for this long before it is resumed.
    pause_hold_ms: Option<u64>,
    #[serde(default)]
    needs: Vec<Feature>,
    input: Option<String>,
    /// What a benign plugin's call must answer, as text.
    output: Option<String>,
    /// How many log records a benign plugin's call writes, each of which must reach the
    /// host.
    logs: Option<usize>,
    /// Instead of `output`: the call must answer this text repeated up to the policy's
    /// output bound, and cut there (a plugin that fills every byte it is given room for).
    output_fills_bound: Option<String>,
    /// Instead of `input` and `output`: the input is the suite's default input repeated to
    /// this many bytes, and the call must answer it back exactly (an echo larger than a
    /// sandbox may carry inline).
    echo_bytes: Option<usize>,
    /// The input is `input` (or the suite's default input) repeated to this many bytes (an
    /// input larger than a sandbox may carry inline, whatever the answer).
    input_bytes: Option<usize>,
    /// The plugin whose binary replaces a `swapped_after_load` package's once it is loaded.
    swap_in: Option<String>,
    /// The harness kills the adapter this long into the attack call: nothing of the
    /// plugin may outlive its host.
    kill_host_after_ms: Option<u64>,
    /// Capabilities revoked while the attack call runs, `revoke_after_ms` into it.
    #[serde(default)]
    revoke: Vec<String>,
    revoke_after_ms: Option<u64>,
    /// Check the audit log for the runner's end.
    #[serde(default)]
    audit_terminated: bool,
    /// Read the audit log for the plugin's lifecycle alone (every case that reads it checks
    /// its transitions).
    #[serde(default)]
    audit_transitions: bool,
    /// Check the audit log for at least this many refused host calls.
    audit_denials: Option<u32>,
    /// Check the audit log for at least this many limits hit.
    audit_limit_hits: Option<u32>,
    /// What the plugin's call makes the sandbox count, at least: the floor of its figures
    /// of the plugin, read in every case with an adapter that keeps them (`figures`).
    #[serde(default)]
    figures: FiguresFloor,
    /// Check the audit log for each restart the policy allows, then the limit hit and
    /// the quarantine, once the restarts run out (`restart`'s `max_restarts`).
    #[serde(default)]
    audit_restarts_run_out: bool,
    /// Check the audit log for a quarantine at the first fault, one the policy never
    /// restarts, with no restart and no limit hit of restarts (`restart` allows some).
    #[serde(default)]
    audit_quarantined_at_once: bool,
    /// The policy asks for every confinement layer in force (`strict`).
    #[serde(default)]
    strict: bool,
    /// The policy requires the mitigations of `[policy] hardening` of the plugin's binary.
    #[serde(default)]
    require_hardening: bool,
    /// The policy leaves the limits the protocol lets it leave out (the storage quota and
    /// key bound, the host call and log rates) to the sandbox's own defaults.
    #[serde(default)]
    sandbox_defaults: bool,
    /// The policy's CPU rate cap for this case, percent of one CPU.
    cpu_percent: Option<u32>,
    /// The policy's host call rate for this case, instead of `[policy]`'s.
    host_calls_per_second: Option<u32>,
    /// The policy's memory for this case, instead of `[policy]`'s.
    memory_bytes: Option<u64>,
    /// The policy's output bound for this case, instead of `[policy]`'s.
    output_bytes: Option<u32>,
    /// The policy's CPU time for this case, instead of `[policy]`'s.
    cpu_ms: Option<u64>,
    /// Host services the policy grants by a time-bound exception ...
    #[serde(default)]
    exception: Vec<String>,
    /// ... which ends this many seconds after the case is made (negative: it has ended).
    exception_ends_s: Option<i64>,
    /// The neighbour must still start a thread while the plugin runs.
    #[serde(default)]
    neighbour_threads: bool,
    /// The policy allowlists the harness's TCP listener's address less the port's last
    /// digit.
    #[serde(default)]
    allowlist_listener_prefix: bool,
    /// The configuration key under which the policy names an echo service of the
    /// harness's, which its net allowlist holds.
    allowlisted_service: Option<String>,
    /// The same for a port on 127.0.0.1 where nothing listens.
    allowlisted_closed_port: Option<String>,
    /// The attack runs once, the plugin is unloaded and loaded again, and the attack runs
    /// a second time.
    #[serde(default)]
    reload: bool,
    /// The policy lets the host restart the plugin after a transient fault, this often.
    restart: Option<PolicyRestart>,
    /// Calls that fault before the call judged, one for each wait: the input they are
    /// sent ...
    fault_input: Option<String>,
    /// ... and the time after each of them before the next call.
    #[serde(default)]
    fault_waits_ms: Vec<u64>,
}

impl CaseFile {
    /// The timing of a pause during the call, when both its times are given.
    fn pause_during_call(&self) -> Option<PauseDuringCall> {
        Some(PauseDuringCall {
            after: Duration::from_millis(self.pause_after_ms?),
            hold: Duration::from_millis(self.pause_hold_ms?),
        })
    }

    /// Whether the case checks the sandbox's audit log (and so needs an adapter with one).
    fn reads_audit(&self) -> bool {
        self.audit_terminated
            || self.audit_transitions
            || self.audit_denials.is_some()
            || self.audit_limit_hits.is_some()
            || self.audit_restarts_run_out
            || self.audit_quarantined_at_once
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    policy: PolicyFile,
    harness: HarnessFile,
    bounds: Bounds,
    #[serde(default)]
    needs: BTreeMap<String, Vec<Feature>>,
    #[serde(default)]
    case: BTreeMap<String, CaseFile>,
}

/// The least memory a case may give its plugin: a process of the loader and libc, the
/// plugin and its call's buffers holds about 8 MiB.
const MIN_CASE_MEMORY: u64 = 32 << 20;

/// The suite settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The policy every case loads its plugin with.
    pub policy: Policy,
    /// Slack beyond a policy deadline before the host is declared hung.
    pub slack: Duration,
    /// The benign neighbour plugin.
    pub neighbour: PathBuf,
    /// The neighbour's methods the harness calls.
    pub neighbour_methods: NeighbourMethods,
    /// What a hostile plugin's `attack` method is told.
    pub attack_input: BTreeMap<String, AttackFact>,
    /// What begins a hostile plugin's report of a privilege it still held.
    pub gained_marker: String,
    /// Lines beyond which what the harness saw is harm.
    pub bounds: Bounds,
    /// The version an update case installs first.
    pub update_installed: PathBuf,
    file: File,
}

/// Settings that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// Not valid TOML of the expected shape.
    #[error("cases.toml: {0}")]
    Parse(#[from] toml::de::Error),
    /// Names a plugin or family that does not exist.
    #[error("cases.toml: {0}")]
    Unknown(String),
    /// A value no case can run with.
    #[error("cases.toml: {0}")]
    Invalid(String),
}

/// Parses the settings and checks every name in them.
pub fn settings(text: &str) -> Result<Settings, SuiteError> {
    let file: File = toml::from_str(text)?;
    let p = &file.policy;
    let policy = Policy {
        grants: p.grants.clone(),
        limits: PolicyLimits {
            memory_bytes: p.memory_bytes,
            cpu_ms: p.cpu_ms,
            threads: p.threads,
            open_files: p.open_files,
            output_bytes: p.output_bytes,
            cpu_percent: None,
            storage_bytes: Some(p.storage_bytes),
            storage_keys: Some(p.storage_keys),
            host_calls_per_second: Some(p.host_calls_per_second),
            log_bytes_per_second: Some(p.log_bytes_per_second),
        },
        deadlines: PolicyDeadlines {
            init_ms: p.init_ms,
            call_ms: p.call_ms,
            shutdown_ms: p.shutdown_ms,
        },
        net_allowlist: Vec::new(),
        config: p.config.clone(),
        exceptions: Vec::new(),
        restart: None,
        strict: false,
        require_hardening: Vec::new(),
        update: None,
    };
    let neighbour = sbx_adversarial_plugins::get(&file.harness.neighbour)
        .ok_or_else(|| {
            SuiteError::Unknown(format!(
                "neighbour `{}` is not a plugin",
                file.harness.neighbour
            ))
        })?
        .path();
    let update_installed = sbx_adversarial_plugins::get(&file.harness.update_installed)
        .ok_or_else(|| {
            SuiteError::Unknown(format!(
                "update_installed `{}` is not a plugin",
                file.harness.update_installed
            ))
        })?
        .path();
    for (name, adjust) in &file.case {
        if sbx_adversarial_plugins::get(name).is_none() {
            return Err(SuiteError::Unknown(format!(
                "[case.{name}] names no plugin"
            )));
        }
        let timed_in_part = adjust.pause_after_ms.is_some() || adjust.pause_hold_ms.is_some();
        match (adjust.pause, adjust.pause_during_call()) {
            (Some(PausePlan::DuringCall), None) => {
                return Err(SuiteError::Invalid(format!(
                    "[case.{name}] pause = \"during_call\" needs pause_after_ms and pause_hold_ms"
                )));
            }
            (Some(PausePlan::DuringCall), Some(timing)) => {
                // The harness waits for the call's answer as long as the call's deadline
                // and its slack, counted from the call: the pause must end well before.
                let waits = (timing.after + timing.hold).as_millis();
                let answered_within = u128::from(file.policy.call_ms + file.harness.slack_ms);
                if waits >= answered_within {
                    return Err(SuiteError::Invalid(format!(
                        "[case.{name}] pause_after_ms + pause_hold_ms ({waits} ms) must end before \
                         the harness stops waiting for the call ({answered_within} ms)"
                    )));
                }
            }
            _ if timed_in_part => {
                return Err(SuiteError::Invalid(format!(
                    "[case.{name}] pause_after_ms and pause_hold_ms time only a pause during the call"
                )));
            }
            _ => {}
        }
        let quarantine_checks = [
            ("audit_restarts_run_out", adjust.audit_restarts_run_out),
            (
                "audit_quarantined_at_once",
                adjust.audit_quarantined_at_once,
            ),
        ];
        for (option, _) in quarantine_checks.iter().filter(|(_, on)| *on) {
            if adjust.restart.is_none_or(|r| r.max_restarts == 0) {
                // With none allowed, quarantine is the policy itself, not a limit run into
                // nor a restart withheld.
                return Err(SuiteError::Invalid(format!(
                    "[case.{name}] {option} without a policy that allows a restart"
                )));
            }
        }
        if quarantine_checks.iter().all(|(_, on)| *on) {
            return Err(SuiteError::Invalid(format!(
                "[case.{name}] audit_restarts_run_out and audit_quarantined_at_once: a plugin \
                 is stopped for good one way"
            )));
        }
        if adjust.allowlisted_service.is_some() && adjust.allowlisted_closed_port.is_some() {
            return Err(SuiteError::Invalid(format!(
                "[case.{name}] allowlisted_service and allowlisted_closed_port: the policy's \
                 configuration names one destination"
            )));
        }
        let benign = sbx_adversarial_plugins::get(name).is_some_and(|p| !p.hostile);
        if !benign && (adjust.output.is_some() || adjust.output_fills_bound.is_some()) {
            return Err(SuiteError::Invalid(format!(
                "[case.{name}] names what a hostile plugin must answer: only a benign one's is judged"
            )));
        }
        if adjust.echo_bytes.is_some()
            && (!benign
                || adjust.input.is_some()
                || adjust.output.is_some()
                || adjust.output_fills_bound.is_some())
        {
            return Err(SuiteError::Invalid(format!(
                "[case.{name}] echo_bytes is a benign echo's input and answer both: no input, \
                 output or output_fills_bound beside it"
            )));
        }
        if adjust.input_bytes.is_some() && adjust.echo_bytes.is_some() {
            return Err(SuiteError::Invalid(format!(
                "[case.{name}] names both input_bytes and echo_bytes (an echo's input is its \
                 answer)"
            )));
        }
        if adjust.input_bytes.is_some() && !benign {
            return Err(SuiteError::Invalid(format!(
                "[case.{name}] input_bytes is a benign plugin's input: a hostile one reads \
                 the harness's attack input"
            )));
        }
        // Sent once in base64 in one protocol line, with room for the rest of the request.
        let line_room = (sbx_harness::protocol::MAX_LINE - 4096) / 4 * 3;
        if let Some(n) = adjust.echo_bytes.or(adjust.input_bytes)
            && n > line_room
        {
            return Err(SuiteError::Invalid(format!(
                "[case.{name}] an input of {n} bytes does not fit one protocol line in \
                 base64 (at most {line_room})"
            )));
        }
        if adjust.output.is_some() && adjust.output_fills_bound.is_some() {
            return Err(SuiteError::Invalid(format!(
                "[case.{name}] names both output and output_fills_bound"
            )));
        }
        if adjust.output_fills_bound.as_deref() == Some("") {
            return Err(SuiteError::Invalid(format!(
                "[case.{name}] output_fills_bound repeats no text"
            )));
        }
        if let Some(other) = &adjust.swap_in
            && sbx_adversarial_plugins::get(other).is_none()
        {
            return Err(SuiteError::Unknown(format!(
                "[case.{name}] swap_in names no plugin `{other}`"
            )));
        }
        if let Some(g) = adjust
            .exception
            .iter()
            .find(|g| sbx_adversarial_plugins::Grant::from_word(g).is_none())
        {
            return Err(SuiteError::Unknown(format!(
                "[case.{name}] exception grants unknown host service `{g}`"
            )));
        }
        if adjust.exception.is_empty() != adjust.exception_ends_s.is_none() {
            return Err(SuiteError::Invalid(format!(
                "[case.{name}] an exception needs both `exception` and `exception_ends_s`"
            )));
        }
        if adjust.fault_input.is_some() == adjust.fault_waits_ms.is_empty() {
            return Err(SuiteError::Invalid(format!(
                "[case.{name}] faults before the call need both `fault_input` and \
                 `fault_waits_ms`"
            )));
        }
        if adjust.fault_input.is_some() && adjust.restart.is_none() {
            return Err(SuiteError::Invalid(format!(
                "[case.{name}] faults before the call are only of use with a `restart` policy"
            )));
        }
        if let Some(r) = adjust.restart
            && (r.window_s == 0 || r.backoff_ms == 0)
        {
            return Err(SuiteError::Invalid(format!(
                "[case.{name}] a restart policy needs a window and a backoff (not 0)"
            )));
        }
        if adjust.cpu_percent == Some(0) {
            return Err(SuiteError::Invalid(format!(
                "[case.{name}] cpu_percent = 0 leaves the plugin no CPU at all"
            )));
        }
        if adjust.host_calls_per_second == Some(0) {
            return Err(SuiteError::Invalid(format!(
                "[case.{name}] host_calls_per_second = 0 leaves the plugin no host call at all"
            )));
        }
        if adjust.cpu_ms == Some(0) {
            return Err(SuiteError::Invalid(format!(
                "[case.{name}] cpu_ms = 0 leaves the plugin no time to load in"
            )));
        }
        if adjust.memory_bytes.is_some_and(|m| m < MIN_CASE_MEMORY) {
            return Err(SuiteError::Invalid(format!(
                "[case.{name}] memory_bytes below {} MiB leaves the plugin too little to load in",
                MIN_CASE_MEMORY >> 20
            )));
        }
    }
    if file.harness.attack_input.is_empty() {
        return Err(SuiteError::Invalid(
            "[harness.attack_input] tells a hostile plugin nothing".into(),
        ));
    }
    if file.harness.gained_marker.trim().is_empty() {
        return Err(SuiteError::Invalid(
            "[harness] gained_marker is empty: no report of a privilege could be read".into(),
        ));
    }
    if let Some(key) = file
        .harness
        .attack_input
        .keys()
        .find(|k| k.is_empty() || k.contains(['=', '\n']))
    {
        return Err(SuiteError::Invalid(format!(
            "[harness.attack_input] key {key:?} cannot be a `key=value` line's key"
        )));
    }
    for family in file.needs.keys() {
        if Family::from_word(family).is_none() {
            return Err(SuiteError::Unknown(format!(
                "[needs] names unknown family `{family}`"
            )));
        }
    }
    Ok(Settings {
        policy,
        slack: Duration::from_millis(file.harness.slack_ms),
        neighbour,
        neighbour_methods: NeighbourMethods {
            echo: file.harness.neighbour_echo.clone(),
            thread_echo: file.harness.neighbour_thread_echo.clone(),
        },
        attack_input: file.harness.attack_input.clone(),
        gained_marker: file.harness.gained_marker.clone(),
        bounds: file.bounds,
        update_installed,
        file,
    })
}

/// A case with what the scheduler needs to know about it.
#[derive(Debug, Clone)]
pub struct SuiteCase {
    /// The case.
    pub case: Case,
    /// The plugin's metadata.
    pub spec: &'static PluginSpec,
    /// Runs alone: its harm (signals to every process, files in /tmp, resource floods)
    /// could otherwise be attributed to, or disturb, a neighbouring case.
    pub exclusive: bool,
}

/// Every case of the suite, in name order. The sandbox's own probe plugin is not a case.
pub fn cases(settings: &Settings) -> Vec<SuiteCase> {
    let mut specs: Vec<&'static PluginSpec> = sbx_adversarial_plugins::all()
        .iter()
        .filter(|s| s.family != Family::Probe)
        .collect();
    specs.sort_by_key(|s| s.name);
    specs
        .into_iter()
        .map(|spec| suite_case(settings, spec))
        .collect()
}

fn suite_case(settings: &Settings, spec: &'static PluginSpec) -> SuiteCase {
    let adjust = settings
        .file
        .case
        .get(spec.name)
        .cloned()
        .unwrap_or_default();
    let mut needs = settings
        .file
        .needs
        .get(spec.family.as_str())
        .cloned()
        .unwrap_or_default();
    needs.extend(adjust.needs.iter().copied());
    // Host services are the broker's: a case that needs one needs a broker.
    if !spec.grants.is_empty() && !needs.contains(&Feature::Broker) {
        needs.push(Feature::Broker);
    }
    // A case that reads the audit log needs an adapter that has one.
    if adjust.reads_audit() && !needs.contains(&Feature::Audit) {
        needs.push(Feature::Audit);
    }
    // Packages are verified by the sandbox: a case that loads one needs signatures.
    let package = spec
        .package
        .map(|p| PackageForm::from_word(p.as_str()).expect("the harness knows every package word"));
    if package.is_some() && !needs.contains(&Feature::Signatures) {
        needs.push(Feature::Signatures);
    }
    // Time-bound exceptions need an adapter that takes them.
    if !adjust.exception.is_empty() && !needs.contains(&Feature::Exceptions) {
        needs.push(Feature::Exceptions);
    }
    // A strict load needs an adapter that takes one.
    if adjust.strict && !needs.contains(&Feature::Strict) {
        needs.push(Feature::Strict);
    }
    // A load that requires hardening needs an adapter that checks it.
    if adjust.require_hardening && !needs.contains(&Feature::Hardening) {
        needs.push(Feature::Hardening);
    }
    // Restarts in the policy need an adapter that restarts.
    if adjust.restart.is_some() && !needs.contains(&Feature::Restarts) {
        needs.push(Feature::Restarts);
    }
    // An update needs an adapter that updates.
    if package.is_some_and(PackageForm::is_update) && !needs.contains(&Feature::Updates) {
        needs.push(Feature::Updates);
    }
    // And one whose signer is revoked while it runs needs `revoke_key`.
    if package == Some(PackageForm::KeyRevokedWhileRunning)
        && !needs.contains(&Feature::KeyRevocation)
    {
        needs.push(Feature::KeyRevocation);
    }
    let swap_in = adjust
        .swap_in
        .as_deref()
        .and_then(sbx_adversarial_plugins::get)
        .map(PluginSpec::path);
    let mut policy = settings.policy.clone();
    policy.grants = spec.grants.iter().map(|g| g.as_str().to_owned()).collect();
    policy.limits.cpu_percent = adjust.cpu_percent;
    if let Some(rate) = adjust.host_calls_per_second {
        policy.limits.host_calls_per_second = Some(rate);
    }
    if adjust.sandbox_defaults {
        let l = &mut policy.limits;
        (l.storage_bytes, l.storage_keys) = (None, None);
        (l.host_calls_per_second, l.log_bytes_per_second) = (None, None);
    }
    if let Some(memory) = adjust.memory_bytes {
        policy.limits.memory_bytes = memory;
    }
    if let Some(output) = adjust.output_bytes {
        policy.limits.output_bytes = output;
    }
    if let Some(cpu) = adjust.cpu_ms {
        policy.limits.cpu_ms = cpu;
    }
    shorten_the_hung_stage(&mut policy, spec, settings.file.policy.hang_deadline_ms);
    policy.restart = adjust.restart;
    policy.strict = adjust.strict;
    if adjust.require_hardening {
        policy.require_hardening = settings.file.policy.hardening.clone();
    }
    if package.is_some_and(PackageForm::is_update) {
        let u = settings.file.policy.update;
        policy.update = Some(PolicyUpdate {
            probation_calls: u.probation_calls,
            failure_budget: u.failure_budget,
            allow_downgrade: u.allow_downgrade,
        });
        policy.restart = Some(u.restart);
    }
    // The exceptions' end, from now; the case writes it again when its load is sent
    // (`Case::exception_ends_s`), however long the run took to get there.
    if let Some(ends) = adjust.exception_ends_s {
        let until = PolicyException::until_from_now(ends);
        policy.exceptions = adjust
            .exception
            .iter()
            .map(|g| PolicyException {
                capability: g.clone(),
                until: until.clone(),
            })
            .collect();
    }
    let expected = match spec.expect {
        Expectation::Killed(t) => Expected::Killed(t.as_str().to_owned()),
        Expectation::RefusedLoad => Expected::RefusedLoad,
        Expectation::Denied | Expectation::SurvivedLimit | Expectation::CompletedHarmless => {
            Expected::Survived
        }
    };
    let exclusive = spec.stage == Stage::Constructor
        || spec.family == Family::Resources
        || spec.evidence.iter().any(|e| {
            matches!(
                e,
                Evidence::HostSignalled
                    | Evidence::ProcessLeft
                    | Evidence::ResourceExhausted
                    | Evidence::FileWritten
                    | Evidence::PauseNotInForce
            )
        });
    let settle = Duration::from_millis(adjust.settle_ms.unwrap_or(settings.file.harness.settle_ms));
    let output_bytes = policy.limits.output_bytes;
    let text = adjust.input.clone().unwrap_or_else(|| "conformance".into());
    let input: Vec<u8> = match adjust.echo_bytes.or(adjust.input_bytes) {
        Some(n) => text.bytes().cycle().take(n).collect(),
        None => text.into_bytes(),
    };
    SuiteCase {
        case: Case {
            id: spec.name.to_owned(),
            plugin: spec.path(),
            method: spec.method.to_owned(),
            hostile: spec.hostile,
            input: input.clone(),
            policy,
            settle,
            settle_ends_when_gone: adjust.settle_ends_when_gone,
            pause: adjust.pause,
            pause_during_call: adjust.pause_during_call(),
            // A plugin attacking at shutdown gets the settle time after its unload too.
            linger_after_unload: if spec.stage == Stage::Shutdown {
                settle
            } else {
                Duration::ZERO
            },
            needs,
            package,
            swap_in,
            update_installed: package
                .is_some_and(PackageForm::is_update)
                .then(|| settings.update_installed.clone()),
            neighbour_threads: adjust.neighbour_threads,
            allowlist_listener_prefix: adjust.allowlist_listener_prefix,
            allowlisted_service: match (
                &adjust.allowlisted_service,
                &adjust.allowlisted_closed_port,
            ) {
                (Some(key), _) => Some(AllowlistedService {
                    key: key.clone(),
                    listening: true,
                }),
                (None, Some(key)) => Some(AllowlistedService {
                    key: key.clone(),
                    listening: false,
                }),
                (None, None) => None,
            },
            reload: adjust.reload,
            may_exit: spec.exits,
            // Every plugin of the IPC family writes into the host's channel.
            channel_attack: spec.family == Family::Ipc
                || spec.evidence.contains(&Evidence::ChannelCorrupted),
            audit: adjust.reads_audit().then_some(AuditCheck {
                terminated: adjust.audit_terminated,
                denials: adjust.audit_denials.unwrap_or(0),
                limit_hits: adjust.audit_limit_hits.unwrap_or(0),
                quarantine: match adjust.restart {
                    Some(r) if adjust.audit_restarts_run_out => {
                        Some(QuarantineCheck::RestartsRunOut(r.max_restarts))
                    }
                    Some(_) if adjust.audit_quarantined_at_once => Some(QuarantineCheck::AtOnce),
                    _ => None,
                },
            }),
            figures_at_least: adjust.figures,
            kill_host_during_call: adjust.kill_host_after_ms.map(Duration::from_millis),
            revoke_during_call: (!adjust.revoke.is_empty()).then(|| RevokeDuringCall {
                after: Duration::from_millis(adjust.revoke_after_ms.unwrap_or(0)),
                capabilities: adjust.revoke.clone(),
            }),
            expected: Some(expected),
            refused_syscall: spec.refused_syscall.map(str::to_owned),
            refusal_cause: spec.refusal_cause.map(str::to_owned),
            expected_output: adjust
                .output
                .as_ref()
                .map(|o| o.clone().into_bytes())
                .or_else(|| adjust.echo_bytes.map(|_| input.clone()))
                .or_else(|| {
                    let text = adjust.output_fills_bound.as_ref()?;
                    Some(text.bytes().cycle().take(output_bytes as usize).collect())
                }),
            expected_logs: adjust.logs,
            exception_ends_s: adjust.exception_ends_s,
            faults_before_call: adjust.fault_input.as_ref().map(|input| FaultsBeforeCall {
                input: input.clone().into_bytes(),
                waits: adjust
                    .fault_waits_ms
                    .iter()
                    .map(|&ms| Duration::from_millis(ms))
                    .collect(),
            }),
            // Known once the system is probed (`surface`), at the start of a run.
            inert: None,
        },
        spec,
        exclusive,
    }
}

/// A plugin expected to be ended at its stage's deadline waits that deadline out: the
/// case gives that stage `hang_ms` if it is shorter. The length of a deadline is not what
/// such a case judges (that it is met, however the plugin hangs, is), and the wait is most
/// of the case's time.
fn shorten_the_hung_stage(policy: &mut Policy, spec: &PluginSpec, hang_ms: u64) {
    if spec.expect.termination() != Some(Termination::WallTimeout) {
        return;
    }
    let deadline = match spec.stage {
        Stage::Init => &mut policy.deadlines.init_ms,
        Stage::Invoke => &mut policy.deadlines.call_ms,
        Stage::Shutdown => &mut policy.deadlines.shutdown_ms,
        // A constructor runs within the load, which has no deadline of its own.
        Stage::Constructor => return,
    };
    *deadline = (*deadline).min(hang_ms);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unhardened_plugin_lacks_exactly_the_mitigation_its_refusal_names() {
        use sbx_package::hardening::{Hardening, inspect, missing};
        let settings = settings(CASES).unwrap();
        let required: Vec<Hardening> = settings
            .file
            .policy
            .hardening
            .iter()
            .map(|n| Hardening::from_name(n).expect("a mitigation the host knows"))
            .collect();
        let mut held = std::collections::BTreeSet::new();
        for spec in sbx_adversarial_plugins::all() {
            if !spec.attacks.contains(&"LOAD-007") && !spec.name.starts_with("echo_hardened") {
                continue;
            }
            let bytes = std::fs::read(spec.path()).expect("built");
            let lacking: Vec<&str> = missing(&inspect(&bytes).expect("an ELF file"), &required)
                .into_iter()
                .map(Hardening::name)
                .collect();
            let named: Vec<&str> = spec.refusal_cause.into_iter().collect();
            assert_eq!(lacking, named, "{}", spec.name);
            held.extend(named);
        }
        // Each mitigation of the list has its plugin.
        let names: std::collections::BTreeSet<&str> = required.iter().map(|h| h.name()).collect();
        assert_eq!(held, names);
    }

    #[test]
    fn the_shipped_settings_are_valid_and_cover_the_suite() {
        let s = settings(CASES).unwrap();
        let all = cases(&s);
        assert!(all.len() > 130, "{}", all.len());
        assert!(all.iter().any(|c| c.exclusive) && all.iter().any(|c| !c.exclusive));
        // The policy's CPU limit must exceed the call deadline, so that a spin inside a
        // call is stopped by the deadline (the metadata's expectation) and not by a race.
        assert!(s.policy.limits.cpu_ms > s.policy.deadlines.call_ms);
        // Every package case loads through a verifier, and the swapped one has its swap.
        for c in all.iter().filter(|c| c.spec.package.is_some()) {
            assert!(c.case.needs.contains(&Feature::Signatures), "{}", c.case.id);
            assert_eq!(
                matches!(
                    c.case.package,
                    Some(PackageForm::SwappedAfterLoad | PackageForm::SwappedDuringLoad)
                ),
                c.case.swap_in.is_some(),
                "{}",
                c.case.id
            );
        }
    }

    /// A benign case checks what its plugin answered, not only that it answered: a
    /// sandbox that drops or mangles answers does not serve it.
    #[test]
    fn every_benign_case_names_what_it_must_answer() {
        let s = settings(CASES).unwrap();
        for c in cases(&s).iter().filter(|c| c.spec.family == Family::Benign) {
            assert!(c.case.expected_output.is_some(), "{}", c.case.id);
        }
    }

    #[test]
    fn the_harness_knows_every_package_word() {
        for p in sbx_adversarial_plugins::Package::ALL {
            assert!(PackageForm::from_word(p.as_str()).is_some(), "{p}");
        }
        assert_eq!(
            sbx_adversarial_plugins::Package::ALL.len(),
            PackageForm::ALL.len()
        );
    }

    /// The keys the suite tells a hostile plugin are the keys `attack.h` documents: a key
    /// one side renames would leave every attack without its target.
    #[test]
    fn the_attack_input_names_what_attack_h_reads() {
        let header = include_str!("../../adversarial-plugins/include/attack.h");
        let documented: std::collections::BTreeSet<&str> = header
            .lines()
            .skip_while(|l| !l.contains("`key=value\\n` lines"))
            .skip(2)
            .take_while(|l| l.trim() != "*")
            .filter_map(|l| l.trim_start_matches(" *").split_whitespace().next())
            .collect();
        let s = settings(CASES).unwrap();
        let told: std::collections::BTreeSet<&str> =
            s.attack_input.keys().map(String::as_str).collect();
        assert!(documented.len() >= 10, "attack.h documents {documented:?}");
        assert_eq!(told, documented);
        assert!(
            header.contains(&format!("\"{}", s.gained_marker)),
            "attack.h reports privileges with another marker than {:?}",
            s.gained_marker
        );
    }

    #[test]
    fn an_attack_input_key_must_make_a_line() {
        let bad = CASES.replace(
            "secret_dir = \"secret_dir\"",
            "\"secret=dir\" = \"secret_dir\"",
        );
        assert!(matches!(settings(&bad), Err(SuiteError::Invalid(_))));
        let bad = CASES.replace(
            "secret_dir = \"secret_dir\"",
            "secret_dir = \"no_such_fact\"",
        );
        assert!(matches!(settings(&bad), Err(SuiteError::Parse(_))));
    }

    #[test]
    fn unknown_names_are_refused() {
        let bad = CASES.replace("[case.res_cpp_thread_spin]", "[case.no_such_plugin]");
        assert!(matches!(settings(&bad), Err(SuiteError::Unknown(_))));
        let bad = CASES.replace("neighbour = \"echo\"", "neighbour = \"nope\"");
        assert!(matches!(settings(&bad), Err(SuiteError::Unknown(_))));
        let bad = CASES.replace(
            "capabilities = [\"broker\"]",
            "capabilities = [\"teleport\"]",
        );
        assert!(matches!(settings(&bad), Err(SuiteError::Parse(_))));
        let bad = CASES.replace("cpu_percent = 20", "cpu_percent = 0");
        assert!(matches!(settings(&bad), Err(SuiteError::Invalid(_))));
        let bad = CASES.replace("host_calls_per_second = 10 ", "host_calls_per_second = 0 ");
        assert!(matches!(settings(&bad), Err(SuiteError::Invalid(_))));
    }

    #[test]
    fn an_answer_that_fills_the_bound_is_the_text_repeated_to_it() {
        let s = settings(CASES).unwrap();
        let all = cases(&s);
        let fill = all.iter().find(|c| c.case.id == "output_fill").unwrap();
        let expected = fill.case.expected_output.as_deref().unwrap();
        assert_eq!(expected.len(), s.policy.limits.output_bytes as usize);
        assert!(expected.starts_with(b"abcdefghijklmnopqrstuvwxyzabc"));
        let both = CASES.replace(
            "[case.output_fill]",
            "[case.output_fill]\noutput = \"conformance\"",
        );
        assert!(matches!(settings(&both), Err(SuiteError::Invalid(_))));
        let empty = CASES.replace(
            "output_fills_bound = \"abcdefghijklmnopqrstuvwxyz\"  #",
            "output_fills_bound = \"\"  #",
        );
        assert!(matches!(settings(&empty), Err(SuiteError::Invalid(_))));
    }

    #[test]
    fn restarts_that_run_out_are_read_from_the_audit_with_the_policys_count() {
        let s = settings(CASES).unwrap();
        let all = cases(&s);
        let case = &all
            .iter()
            .find(|c| c.case.id == "audit_restarts_run_out")
            .unwrap()
            .case;
        let allowed = case.policy.restart.map(|r| r.max_restarts);
        assert_eq!(
            case.audit.and_then(|a| a.quarantine),
            allowed.map(QuarantineCheck::RestartsRunOut)
        );
        assert!(case.needs.contains(&Feature::Audit) && case.needs.contains(&Feature::Restarts));
        let without = CASES.replace(
            "[case.audit_restarts_run_out]\nrestart = { max_restarts = 2, window_s = 60, backoff_ms = 100 }",
            "[case.audit_restarts_run_out]",
        );
        assert!(matches!(settings(&without), Err(SuiteError::Invalid(_))));
        let none_allowed = CASES.replace(
            "restart = { max_restarts = 2, window_s = 60, backoff_ms = 100 }  # two restarts, then",
            "restart = { max_restarts = 0, window_s = 60, backoff_ms = 100 }  # two restarts, then",
        );
        assert_ne!(none_allowed, CASES);
        assert!(matches!(
            settings(&none_allowed),
            Err(SuiteError::Invalid(_))
        ));
    }

    #[test]
    fn only_a_benign_plugin_is_told_what_to_answer() {
        let hostile = CASES.replace(
            "[case.res_cpp_thread_spin]",
            "[case.res_cpp_thread_spin]\noutput = \"conformance\"",
        );
        assert!(matches!(settings(&hostile), Err(SuiteError::Invalid(_))));
    }

    #[test]
    fn a_case_may_cap_the_cpu_rate() {
        let s = settings(CASES).unwrap();
        let all = cases(&s);
        let capped: Vec<_> = all
            .iter()
            .filter(|c| c.case.policy.limits.cpu_percent.is_some())
            .map(|c| c.case.id.as_str())
            .collect();
        assert_eq!(capped, ["audit_cpu_throttled", "res_cpu_rate_spin"]);
    }

    /// The policy limits case `id` loads its plugin with.
    fn limits_of<'a>(all: &'a [SuiteCase], id: &str) -> &'a sbx_harness::protocol::PolicyLimits {
        let case = all.iter().find(|c| c.case.id == id).expect(id);
        &case.case.policy.limits
    }

    #[test]
    fn a_case_may_set_its_own_memory_within_reason() {
        let s = settings(CASES).unwrap();
        let all = cases(&s);
        let memory = |id: &str| limits_of(&all, id).memory_bytes;
        assert_eq!(memory("res_package_malloc_bomb"), 64 << 20);
        assert_eq!(memory("res_malloc_bomb"), s.policy.limits.memory_bytes);
        let starved = CASES.replace("memory_bytes = 67108864 ", "memory_bytes = 1048576 ");
        assert!(matches!(settings(&starved), Err(SuiteError::Invalid(_))));
    }

    #[test]
    fn a_plugin_ended_at_its_deadline_waits_the_shorter_hang_deadline_of_its_stage_alone() {
        let s = settings(CASES).unwrap();
        let all = cases(&s);
        let deadlines = |id: &str| {
            let case = all.iter().find(|c| c.case.id == id).expect(id);
            let d = &case.case.policy.deadlines;
            (d.init_ms, d.call_ms, d.shutdown_ms)
        };
        let (init, call, shutdown) = (2000, 2000, 1000);
        assert_eq!(deadlines("echo"), (init, call, shutdown));
        let hang = s.file.policy.hang_deadline_ms;
        assert!(hang < shutdown);
        assert_eq!(deadlines("life_hang_invoke"), (init, hang, shutdown));
        assert_eq!(deadlines("life_hang_init"), (hang, call, shutdown));
        assert_eq!(deadlines("life_hang_shutdown"), (init, call, hang));
        // Ended by its CPU limit, not by a deadline: its call keeps the suite's.
        assert_eq!(
            deadlines("res_cpu_spin_ignore_signals"),
            (init, call, shutdown)
        );
    }

    #[test]
    fn a_pause_during_the_call_is_timed_whole_and_ends_before_the_harness_stops_waiting() {
        let s = settings(CASES).unwrap();
        let all = cases(&s);
        let timing = all
            .iter()
            .find(|c| c.case.id == "pause_mid_call")
            .and_then(|c| c.case.pause_during_call)
            .expect("pause_mid_call is timed");
        assert_eq!(timing.after, Duration::from_millis(300));
        assert_eq!(timing.hold, Duration::from_millis(2000));
        for broken in [
            // A time missing.
            CASES.replace("pause_hold_ms = 2000 ", ""),
            // Past the call's deadline and the harness's slack (5 s).
            CASES.replace("pause_hold_ms = 2000 ", "pause_hold_ms = 4700 "),
            // Timing given to a pause that is not during the call.
            CASES.replace("pause = \"during_call\"", "pause = \"through_settle\""),
        ] {
            assert!(matches!(settings(&broken), Err(SuiteError::Invalid(_))));
        }
    }

    #[test]
    fn a_case_may_set_its_own_host_call_rate_and_the_others_keep_the_policys() {
        let s = settings(CASES).unwrap();
        let all = cases(&s);
        let rate = |id: &str| limits_of(&all, id).host_calls_per_second;
        assert_eq!(rate("audit_host_call_refusals"), Some(10));
        assert_eq!(
            rate("audit_host_call_limits"),
            s.policy.limits.host_calls_per_second
        );
    }

    #[test]
    fn a_case_may_set_its_own_output_bound_and_the_others_keep_the_policys() {
        let s = settings(CASES).unwrap();
        let all = cases(&s);
        let output = |id: &str| limits_of(&all, id).output_bytes;
        assert_eq!(output("echo_windowed"), 16 << 20);
        assert_eq!(output("echo"), s.policy.limits.output_bytes);
    }

    #[test]
    fn an_echo_of_many_bytes_is_its_own_input_and_answer() {
        let s = settings(CASES).unwrap();
        let all = cases(&s);
        let windowed = all.iter().find(|c| c.case.id == "echo_windowed").unwrap();
        assert_eq!(windowed.case.input.len(), 256 << 10);
        assert!(windowed.case.input.starts_with(b"conformanceconformance"));
        assert_eq!(
            windowed.case.expected_output.as_deref(),
            Some(windowed.case.input.as_slice())
        );
        // Beside an input or an answer of its own, or for a hostile plugin: refused.
        let with_output = CASES.replace(
            "echo_bytes = 262144 ",
            "echo_bytes = 262144\noutput = \"x\" ",
        );
        assert!(matches!(
            settings(&with_output),
            Err(SuiteError::Invalid(_))
        ));
        let hostile = format!("{CASES}\n[case.fs_read_absolute]\necho_bytes = 10\n");
        assert!(matches!(settings(&hostile), Err(SuiteError::Invalid(_))));
    }

    #[test]
    fn a_large_input_is_the_default_input_repeated_and_fits_a_protocol_line() {
        let s = settings(CASES).unwrap();
        let all = cases(&s);
        let digest = all
            .iter()
            .find(|c| c.case.id == "digest_large_input")
            .unwrap();
        assert_eq!(digest.case.input.len(), 1_572_864);
        assert!(digest.case.input.starts_with(b"conformanceconformance"));
        // Its answer is its own, not its input.
        assert_eq!(
            digest.case.expected_output.as_deref(),
            Some(b"1572864 9ae714cd7f268f76".as_slice())
        );
        let hostile = format!("{CASES}\n[case.fs_read_absolute]\ninput_bytes = 10\n");
        assert!(matches!(settings(&hostile), Err(SuiteError::Invalid(_))));
        let too_large = CASES.replace("input_bytes = 1572864 ", "input_bytes = 3500000 ");
        assert!(matches!(settings(&too_large), Err(SuiteError::Invalid(_))));
    }
}
