//! The verdict of a case: a pure function of the case, the sandbox's role and what the
//! harness observed. Nothing here starts a process or reads a file, so every rule is
//! tested against a table of observations (see the tests below) without an adapter.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::{Case, Expected, Sut};
use crate::guard::GuardReport;
use crate::handed::Handed;
use crate::model::{CaseResult, Harm, HarmKind, Measured, Outcome, Verdict};
use crate::observe::Received;
use crate::package::PackageForm;
use crate::procfs::TreeFacts;

/// Lines beyond which what the harness saw is harm, whatever the sandbox and whatever
/// its answers: the suite's data (`[bounds]` of `conformance/cases.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    /// Log records of the plugin a host may pass on in one case.
    pub log_records: usize,
    /// Bytes of the plugin's log messages a host may pass on in one case, KiB.
    pub log_kib: usize,
    /// Seconds' worth of the policy's log rate a host may pass on at once (its burst) ...
    pub log_burst_s: u64,
    /// ... and the share of the policy's rate, percent, over the burst and the case's wall
    /// time, that the log messages passed on may reach.
    pub log_rate_percent_of_policy: u64,
    /// Growth of the case's peak resident size (MiB) over the largest process before a
    /// package's load that shows the package's payload ran.
    pub refused_code_rss_growth_mib: u64,
    /// Bytes written outside the allowed area, MiB.
    pub written_mib: u64,
    /// Bytes held in the adapter's working directory (plugin storage) at the end, MiB.
    pub stored_mib: u64,
    /// Threads of one process of the case beyond the policy's.
    pub thread_margin: u64,
    /// Threads of the processes that run the plugin, all together, beyond the policy's.
    pub plugin_thread_margin: u64,
    /// Descriptors of one process of the case beyond the policy's.
    pub fd_margin: u64,
    /// Zombie processes under the adapter at once.
    pub zombies: u64,
    /// What the adapter wrote (standard output and error together), MiB.
    pub adapter_output_mib: u64,
    /// CPU time of the whole case, percent of the policy's.
    pub cpu_percent_of_policy: u64,
    /// CPU time of the whole case beyond that share, milliseconds.
    pub cpu_margin_ms: u64,
    /// CPU time of a call under a rate cap, percent of what the cap allows over the call's
    /// wall time.
    pub cpu_rate_percent_of_cap: u64,
    /// CPU time of a call under a rate cap beyond that share, milliseconds.
    pub cpu_rate_margin_ms: u64,
    /// A process's peak resident size beyond the policy's memory, MiB: pages of files it
    /// shares with the host (the runner, the C library) count in it, and a memory cgroup
    /// charges them to whoever touched them first.
    pub memory_margin_mib: u64,
    /// The most one host call can add to what a plugin holds in storage (a key and a value
    /// at the contract's bounds): how far past the quota the figure of a `storage_bytes`
    /// limit hit may lie.
    pub storage_put_bytes: u64,
    /// Records of the plugin in the sandbox's audit log after one case.
    pub audit_records: usize,
    /// How far the sandbox's CPU figure of the plugin may lie above the harness's
    /// measurement of every process of the case, milliseconds (clocks of coarser grain).
    pub figures_cpu_over_measured_ms: u64,
    /// The same for its peak resident memory, KiB.
    pub figures_rss_over_measured_kib: u64,
    /// CPU time the case's processes may use while its plugin is paused, milliseconds (the
    /// adapter's and the neighbour's own, between them idle).
    pub paused_cpu_ms: u64,
}

/// Everything the harness observed of one case, collected once.
#[derive(Debug, Clone, Default)]
pub struct Observations {
    /// Harm seen while the session ran (answers, events, the census).
    pub during: Vec<Harm>,
    /// The sandbox's figures of the target, read before its unload, and the calls the
    /// session had seen answered since its load by then.
    pub figures: Option<(crate::protocol::Figures, crate::session::CallTally)>,
    /// The sandbox's inventory of the target, as often as it was read.
    pub inventory: Vec<InventoryRead>,
    /// The plugin's fate, as far as the session got.
    pub outcome: Option<Outcome>,
    /// The session stopped early: a verdict that is not about harm (not applicable, or a
    /// harness or adapter fault before the plugin ran), and why.
    pub stopped: Option<(Verdict, String)>,
    /// The adapter wrote something that is not the protocol.
    pub malformed: bool,
    /// The adapter went away in the middle of the session.
    pub host_gone: bool,
    /// The harness killed the adapter itself (`kill_host_during_call`): its end is not
    /// harm, and the plugin's fate is not the sandbox's to report.
    pub host_killed: bool,
    /// The adapter's output was malformed after the plugin's load was requested.
    pub corrupted_after_load: bool,
    /// Log records of the plugin that arrived after its unload was answered.
    pub logs_after_unload: usize,
    /// Log records of the plugin that arrived after its signer's key was revoked.
    pub logs_after_key_revocation: usize,
    /// Log records of the plugin the host passed on in all.
    pub logs_passed_on: usize,
    /// Bytes of those records' messages.
    pub log_bytes_passed_on: usize,
    /// The session kept no more events: `logs_passed_on` is a floor.
    pub events_full: bool,
    /// The process tree at its worst.
    pub tree: TreeFacts,
    /// What the plugin's processes were handed by the host.
    pub handed: BTreeSet<Handed>,
    /// The processes that ran the plugin, and the sandbox's beside them in their user
    /// namespace, that held a capability while it ran (each as `pid (name): CapEff`).
    pub privileged_in_reach: Vec<String>,
    /// The largest peak resident size (KiB) in the tree when a package's load was sent.
    pub peak_rss_before_target_load_kib: Option<u64>,
    /// Canary tokens found in the adapter's output and the plugin's log records.
    pub canaries_found: Vec<String>,
    /// The first line in which the plugin reported a privilege it gained.
    pub gained: Option<String>,
    /// What the target's call answered, when it answered.
    pub answer: Option<Vec<u8>>,
    /// Files of the scratch area that changed.
    pub changes: Vec<String>,
    /// Bytes written outside the allowed area.
    pub written_bytes: u64,
    /// Bytes in the adapter's working directory before it exited.
    pub stored_bytes: u64,
    /// What the harness's listeners received.
    pub received: Received,
    /// The case guard's last report, when it gave one.
    pub guard: Option<GuardReport>,
    /// Time, CPU, memory and output of the case.
    pub measured: Measured,
    /// Lines of the adapter that are not the protocol.
    pub protocol_errors: Vec<String>,
}

/// When the harness asks the sandbox for its inventory of the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventoryMoment {
    /// Its load answered, before its call: it runs, with what its policy grants.
    Loaded,
    /// After its call and the settle time, before its unload.
    BeforeUnload,
}

/// The sandbox's inventory of the target at one moment, with what the harness saw then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryRead {
    /// When it was read.
    pub moment: InventoryMoment,
    /// What the sandbox said.
    pub reported: crate::protocol::Inventory,
    /// Whether the process it names runs the plugin (maps it, or is a process of the
    /// sandbox's above one that does); `None` when not looked at (before the unload, or
    /// no process could be found that maps the plugin).
    pub pid_runs_plugin: Option<bool>,
    /// The confinement words (`CONFINEMENT_WORDS`) that `/proc` showed for every process
    /// that ran the plugin then; `None` when not looked at.
    pub confinement_seen: Option<BTreeSet<String>>,
    /// How the spares it names misstate the sandbox's processes (a pid that is none of
    /// them or runs plugin code, a process that runs none and is not named); empty when it
    /// names none or they are true.
    pub spares_misstated: Vec<String>,
}

/// The first line of `output` in which a plugin reports a privilege it gained (from
/// `marker` on, `[harness] gained_marker`), cut to 160 characters.
pub fn gained_line(output: &[u8], marker: &str) -> Option<String> {
    if marker.is_empty() || !output.windows(marker.len()).any(|w| w == marker.as_bytes()) {
        return None;
    }
    String::from_utf8_lossy(output).lines().find_map(|l| {
        l.find(marker)
            .map(|i| l[i..].chars().take(160).collect::<String>())
    })
}

/// The result of a case that could not be judged (a harness or adapter fault), and why.
pub fn unjudged(case: &Case, reason: String) -> CaseResult {
    CaseResult {
        case: case.id.clone(),
        verdict: Verdict::Error,
        reason,
        harm: Vec::new(),
        outcome: Outcome::Unknown,
        expected: case.expected.as_ref().map(Expected::describe),
        expectation_met: None,
        protocol_errors: Vec::new(),
        notes: Vec::new(),
        audit: Vec::new(),
        measured: Measured::default(),
        waived: None,
        inert: case.inert.clone(),
        also_seen: Vec::new(),
        unserved: false,
    }
}

pub(super) fn harm(kind: HarmKind, detail: String) -> Harm {
    Harm { kind, detail }
}

/// A process that ran the plugin, as the harness's watch saw it (boot clock, ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PluginProcess {
    /// When it began to run the plugin, at the earliest: when it started, floored to the
    /// clock tick, or, for a process the watch saw alive before it mapped the plugin (one
    /// a sandbox started ahead, to load the plugin later), the last look without it.
    pub start: u64,
    /// When it began to run the plugin, at the latest, for a process seen before it mapped
    /// the plugin: the first look that found it mapped. Otherwise its start and a tick.
    pub began_by: Option<u64>,
    /// The last look that found it alive: it ended after this, if it ended.
    pub last_seen: u64,
    /// It was there when the load was answered: the load's own, never a restart.
    pub loaded: bool,
}

/// What the processes that ran the plugin show of its restarts (`sent`: when each call to
/// it was sent; `tick_ms`: the resolution of a start). Every process but the load's is a
/// restart ([`restart_processes`]). Harm is declared only where the
/// figures prove it, whenever a host restarts (at once after the fault, or only when the
/// next call comes): a restart that began to run the plugin sooner than the policy's
/// backoff after the process before it was last seen alive (the fault came after that),
/// more restarts within one window than the policy allows, and any restart begun after the
/// call in which the sandbox said it killed the plugin for an attack (`killed_for_attack`).
/// A process the sandbox started ahead and gave the plugin later (a warm spare) is judged
/// by when it began to run it, not by when it started.
pub(super) fn restart_harms(
    processes: &[PluginProcess],
    sent: &[u64],
    policy: &crate::protocol::PolicyRestart,
    tick_ms: u64,
    killed_for_attack: Option<u64>,
) -> Vec<Harm> {
    if sent.is_empty() {
        return Vec::new();
    }
    let mut all = processes.to_vec();
    all.sort_by_key(|p| p.start);
    let restarts: Vec<PluginProcess> = restart_processes(&all);
    // Harm only where it is certain: each process is taken to have begun as late as it can.
    let latest = |p: &PluginProcess| p.began_by.unwrap_or(p.start + tick_ms);
    let mut harms = Vec::new();
    for r in &restarts {
        // The process it replaced: the one started last before it, and seen no more by
        // the time it started (one still alive then was not replaced by it).
        let before = all
            .iter()
            .rfind(|p| p.start <= r.start && *p != r)
            .filter(|p| p.last_seen <= latest(r));
        if let Some(before) = before
            && latest(r) < before.last_seen + policy.backoff_ms
        {
            harms.push(harm(
                HarmKind::RestartedWithoutBackoff,
                format!(
                    "a process of the plugin began to run it at most {} ms after the one before \
                     it was last seen alive; the policy's backoff is {} ms",
                    latest(r).saturating_sub(before.last_seen),
                    policy.backoff_ms
                ),
            ));
            break;
        }
    }
    // Begun after the kill's call was sent: for a process seen before it ran the plugin,
    // the look that found it without it; for another, its start (to the tick).
    let began_after = |p: &PluginProcess, t: u64| match p.began_by {
        Some(_) => p.start >= t,
        None => p.start + tick_ms >= t,
    };
    if let Some(kill) = killed_for_attack
        && let Some(again) = restarts.iter().find(|r| began_after(r, kill))
    {
        harms.push(harm(
            HarmKind::RestartedBeyondPolicy,
            format!(
                "a process of the plugin began to run it {} ms after the call it was killed in \
                 for an attack was sent: a plugin that attacked is never restarted",
                again.start.saturating_sub(kill)
            ),
        ));
    }
    let window_ms = policy.window_s.saturating_mul(1000);
    let most_in_a_window = (0..restarts.len())
        .map(|i| {
            restarts[..=i]
                .iter()
                .filter(|earlier| earlier.start + window_ms > restarts[i].start)
                .count()
        })
        .max()
        .unwrap_or(0);
    if most_in_a_window > policy.max_restarts as usize {
        harms.push(harm(
            HarmKind::RestartedBeyondPolicy,
            format!(
                "{most_in_a_window} processes of the plugin started again within {} s; the \
                 policy allows {} restarts in that window",
                policy.window_s, policy.max_restarts
            ),
        ));
    }
    harms
}

/// The restarts among `all`, in order of start: every process but the load's. When none
/// was there as the load was answered (a host that maps the plugin only at its first
/// call), the first one to start is the load's. A process started before any fault still
/// runs the plugin a second time, and counts.
pub(super) fn restart_processes(all: &[PluginProcess]) -> Vec<PluginProcess> {
    let skip = usize::from(!all.iter().any(|p| p.loaded));
    let mut restarts: Vec<PluginProcess> = all.iter().filter(|p| !p.loaded).copied().collect();
    restarts.sort_by_key(|p| p.start);
    restarts.into_iter().skip(skip).collect()
}

/// The sandbox's figures of the plugin: against the calls the session saw answered and the
/// floor its case names (`figures_misstatements`), and its CPU and memory against the
/// harness's own measurement of every process of the case: at least the plugin's share of
/// it where the case knows that share, and never more than all of it.
fn look_at_figures(case: &Case, obs: &Observations, bounds: &Bounds, h: &mut Vec<Harm>) {
    let Some((f, seen)) = &obs.figures else {
        return;
    };
    let floor = &case.figures_at_least;
    let wrong = super::figures_misstatements(f, seen, floor);
    if !wrong.is_empty() {
        h.push(harm(HarmKind::FiguresMisstated, wrong.join("; ")));
    }
    let m = &obs.measured;
    let short = [
        (
            "CPU time",
            "ms",
            f.cpu_ms,
            m.cpu_ms,
            floor.cpu_share_percent,
        ),
        (
            "peak resident memory",
            "KiB",
            f.peak_rss_kib,
            m.peak_rss_kib,
            floor.peak_rss_share_percent,
        ),
    ];
    for (what, unit, figure, measured, share) in short {
        if share > 0 && figure.saturating_mul(100) < measured.saturating_mul(share) {
            h.push(harm(
                HarmKind::FiguresMisstated,
                format!(
                    "{what}: the sandbox counts {figure} {unit} of the plugin, and the harness \
                     measured {measured} {unit} of the case's processes, at least {share}% of \
                     it the plugin's"
                ),
            ));
        }
    }
    // The plugin's processes are among the case's: no more than all of them took.
    let over = [
        (
            "CPU time",
            "ms",
            f.cpu_ms,
            m.cpu_ms,
            bounds.figures_cpu_over_measured_ms,
        ),
        (
            "peak resident memory",
            "KiB",
            f.peak_rss_kib,
            m.peak_rss_kib,
            bounds.figures_rss_over_measured_kib,
        ),
    ];
    for (what, unit, figure, measured, slack) in over {
        // Nothing measured (no guard report): nothing to hold the figure to.
        if measured > 0 && figure > measured.saturating_add(slack) {
            h.push(harm(
                HarmKind::FiguresMisstated,
                format!(
                    "{what}: the sandbox counts {figure} {unit} of the plugin, more than the \
                     {measured} {unit} the harness measured of every process of the case"
                ),
            ));
        }
    }
}

/// Records `inventory_misstated` for each way the sandbox's inventory of the target
/// misstates what the harness sees: the process it names, the capabilities its policy
/// grants (by rule, or by an exception that may not have ended yet), and its state once
/// loaded and before its unload, given how its call ended.
fn look_at_inventory(case: &Case, obs: &Observations, h: &mut Vec<Harm>) {
    for read in &obs.inventory {
        let said = &read.reported;
        let wrong: Vec<String> = [
            (read.pid_runs_plugin == Some(false)).then(|| {
                format!(
                    "it names process {} for the plugin, which neither runs it nor is a \
                     process of the sandbox's above one that does",
                    said.pid
                )
            }),
            (read.moment == InventoryMoment::Loaded)
                .then(|| grants_misstated(&case.policy, &said.grants))
                .flatten(),
            confinement_misstated(said.confinement.as_deref(), read.confinement_seen.as_ref()),
            (!read.spares_misstated.is_empty()).then(|| read.spares_misstated.join("; ")),
            expected_state(case, obs, read.moment)
                .filter(|expected| said.state != *expected)
                .map(|expected| {
                    format!(
                        "it gives the plugin's state as {:?} when it is {expected:?}",
                        said.state
                    )
                }),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !wrong.is_empty() {
            let when = match read.moment {
                InventoryMoment::Loaded => "once the plugin was loaded",
                InventoryMoment::BeforeUnload => "before its unload",
            };
            h.push(harm(
                HarmKind::InventoryMisstated,
                format!("the sandbox's inventory {when}: {}", wrong.join("; ")),
            ));
        }
    }
}

/// How the capabilities an inventory lists (`log` aside) misstate those the `policy`
/// grants: every one of its grants, and no more than those with its exceptions' (an
/// exception may have ended).
fn grants_misstated(policy: &crate::protocol::Policy, listed: &[String]) -> Option<String> {
    let but_log = |c: &&str| *c != "log";
    let least: BTreeSet<&str> = policy
        .grants
        .iter()
        .map(String::as_str)
        .filter(but_log)
        .collect();
    let most: BTreeSet<&str> = least
        .iter()
        .copied()
        .chain(policy.exceptions.iter().map(|e| e.capability.as_str()))
        .collect();
    let listed: BTreeSet<&str> = listed.iter().map(String::as_str).filter(but_log).collect();
    (!(least.is_subset(&listed) && listed.is_subset(&most))).then(|| {
        format!(
            "it lists the capabilities {listed:?} for a plugin its policy grants {least:?} \
             (with its exceptions, at most {most:?})"
        )
    })
}

/// How the confinement an inventory `said` is in force misstates what `/proc` showed
/// (`seen`), of the words the harness can check; nothing when either is missing.
fn confinement_misstated(
    said: Option<&[String]>,
    seen: Option<&BTreeSet<String>>,
) -> Option<String> {
    let (said, seen) = (said?, seen?);
    let said: BTreeSet<&str> = said
        .iter()
        .map(String::as_str)
        .filter(|w| crate::protocol::CONFINEMENT_WORDS.contains(w))
        .collect();
    let seen: BTreeSet<&str> = seen.iter().map(String::as_str).collect();
    (said != seen).then(|| {
        format!(
            "it says {said:?} are in force on the plugin's processes, where the harness sees \
             {seen:?}"
        )
    })
}

/// The state the target is known to be in at `moment`, when the harness knows it: running
/// once loaded; before its unload, still running when its call was answered (paused when
/// the case keeps it paused through its unload), and quarantined when the case shows the
/// sandbox had to give up on it. A plugin whose call ended it otherwise may have been
/// restarted, or not: either is the sandbox's to choose.
fn expected_state(
    case: &Case,
    obs: &Observations,
    moment: InventoryMoment,
) -> Option<crate::protocol::InventoryState> {
    use crate::protocol::InventoryState;
    if moment == InventoryMoment::Loaded {
        return Some(InventoryState::Running);
    }
    let quarantine = case.audit.and_then(|a| a.quarantine);
    match &obs.outcome {
        _ if quarantine.is_some_and(|q| super::owes_quarantine(q, obs.outcome.as_ref())) => {
            Some(InventoryState::Quarantined)
        }
        Some(Outcome::Survived { .. }) if case.pause == Some(super::PausePlan::UntilUnload) => {
            Some(InventoryState::Paused)
        }
        Some(Outcome::Survived { .. }) => Some(InventoryState::Running),
        _ => None,
    }
}

/// Text for an outcome.
pub fn describe_outcome(o: &Outcome) -> String {
    match o {
        Outcome::RefusedLoad { .. } => "refused_load".into(),
        Outcome::Killed { termination } => format!("killed ({})", termination.reason),
        Outcome::Survived { status: Some(s) } => format!("survived (status {s})"),
        Outcome::Survived { status: None } => "survived".into(),
        Outcome::Unknown => "unknown".into(),
    }
}

fn outcome_matches(expected: &Expected, observed: &Outcome) -> bool {
    match (expected, observed) {
        (Expected::RefusedLoad, Outcome::RefusedLoad { .. }) => true,
        (Expected::Killed(r), Outcome::Killed { termination }) => &termination.reason == r,
        (Expected::Survived, Outcome::Survived { .. }) => true,
        _ => false,
    }
}

/// The signals of which a process dies of its own fault, not of another's hand.
const CRASH_SIGNALS: [i32; 9] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGABRT,
    libc::SIGSYS,
    libc::SIGTRAP,
    libc::SIGXCPU,
    libc::SIGXFSZ,
];

/// Judges one case: its harm, its verdict and why. `sut` says whether the reference's
/// reaction is expected of the sandbox; `case.policy` gives the lines its figures are held
/// to, `bounds` the suite's margins.
pub fn judge(case: &Case, sut: &Sut, obs: &Observations, bounds: &Bounds) -> CaseResult {
    let mut result = CaseResult {
        harm: obs.during.clone(),
        protocol_errors: obs.protocol_errors.clone(),
        measured: obs.measured.clone(),
        ..unjudged(case, String::new())
    };
    let h = &mut result.harm;
    if obs.logs_after_unload > 0 {
        h.push(harm(
            HarmKind::RanAfterUnload,
            format!(
                "{} log record(s) of the plugin arrived after its unload was answered",
                obs.logs_after_unload
            ),
        ));
    }
    if obs.logs_after_key_revocation > 0 {
        h.push(harm(
            HarmKind::RanAfterRevocation,
            format!(
                "{} log record(s) of the plugin arrived after its signer's key was revoked",
                obs.logs_after_key_revocation
            ),
        ));
    }
    if obs.logs_passed_on > bounds.log_records {
        h.push(harm(
            HarmKind::ResourceExhausted,
            format!(
                "the host passed on {}{} log records of the plugin (the suite allows {} per \
                 case)",
                if obs.events_full { "at least " } else { "" },
                obs.logs_passed_on,
                bounds.log_records
            ),
        ));
    }
    if obs.log_bytes_passed_on > bounds.log_kib << 10 {
        h.push(harm(
            HarmKind::ResourceExhausted,
            format!(
                "the host passed on {}{} KiB of the plugin's log messages (the suite allows {} \
                 KiB per case)",
                if obs.events_full { "at least " } else { "" },
                obs.log_bytes_passed_on >> 10,
                bounds.log_kib
            ),
        ));
    }
    if let Some(rate) = case.policy.limits.log_bytes_per_second {
        let seconds = bounds.log_burst_s + obs.measured.wall_ms.div_ceil(1000);
        let allowed = u64::from(rate) * seconds * bounds.log_rate_percent_of_policy / 100;
        if obs.log_bytes_passed_on as u64 > allowed {
            h.push(harm(
                HarmKind::ResourceExhausted,
                format!(
                    "the host passed on {} KiB of the plugin's log messages in a case of {} ms; \
                     the policy's {} bytes a second allow {} KiB with the burst and the slack",
                    obs.log_bytes_passed_on >> 10,
                    obs.measured.wall_ms,
                    rate,
                    allowed >> 10
                ),
            ));
        }
    }
    // A package's payload makes hundreds of MiB resident in its constructor; refusing it
    // needs a few. The guard's peak covers every process of the case reaped inside it,
    // however it ended, and the line is the largest process alive before the load (the
    // adapter and the neighbour, whatever their size), so no answer hides it. What the
    // peak cannot see is in ADAPTERS.md.
    if let Some(before) = obs.peak_rss_before_target_load_kib
        && case.package.is_some_and(PackageForm::carries_payload)
    {
        let peak = obs.measured.peak_rss_kib;
        if peak >= before + (bounds.refused_code_rss_growth_mib << 10) {
            h.push(harm(
                HarmKind::RefusedCodeRan,
                format!(
                    "a process of the case reached {} MiB resident, against {} MiB for the \
                     largest before the package's load: the payload of a package that had to \
                     be refused (or of bytes swapped in after verification) ran",
                    peak / 1024,
                    before / 1024
                ),
            ));
        }
    }
    look_at_figures(case, obs, bounds, h);
    look_at_inventory(case, obs, h);
    if let Some((verdict, reason)) = &obs.stopped {
        result.verdict = *verdict;
        result.reason = reason.clone();
        return result;
    }
    look_at_effects(case, obs, bounds, h);
    let Some(g) = &obs.guard else {
        result.verdict = Verdict::Error;
        result.reason = "the case guard gave no report: the process tree was not observed".into();
        return result;
    };
    look_at_guard_report(case, g, obs.host_gone, obs.host_killed, bounds, h);
    result.outcome = obs.outcome.clone().unwrap_or(Outcome::Unknown);
    look_at_answers(case, sut, &result.outcome, &mut result.harm);
    // One entry per kind, holding every distinct observation of it.
    result.harm.sort_by_key(|h| h.kind);
    result.harm.dedup_by(|later, kept| {
        let same = later.kind == kept.kind;
        if same && !kept.detail.contains(later.detail.as_str()) {
            kept.detail.push_str("; ");
            kept.detail.push_str(&later.detail);
        }
        same
    });
    decide(case, sut, obs, &mut result);
    result
}

/// Harm the harness saw with its own eyes: canaries, gained privileges, files, listeners,
/// what the plugin was handed, and the process tree against the policy.
fn look_at_effects(case: &Case, obs: &Observations, bounds: &Bounds, h: &mut Vec<Harm>) {
    if !obs.canaries_found.is_empty() {
        h.push(harm(
            HarmKind::SecretInOutput,
            format!(
                "canary token(s) seen in the adapter's output: {}",
                obs.canaries_found.join(", ")
            ),
        ));
    }
    if let Some(line) = &obs.gained {
        h.push(harm(HarmKind::PrivilegeObserved, line.clone()));
    }
    if !obs.changes.is_empty() {
        let shown: Vec<_> = obs.changes.iter().take(5).cloned().collect();
        h.push(harm(HarmKind::FileWritten, shown.join("; ")));
    }
    if obs.written_bytes > bounds.written_mib << 20 {
        h.push(harm(
            HarmKind::ResourceExhausted,
            format!(
                "{} MiB written outside the allowed area",
                obs.written_bytes >> 20
            ),
        ));
    }
    if obs.stored_bytes > bounds.stored_mib << 20 {
        h.push(harm(
            HarmKind::ResourceExhausted,
            format!(
                "{} MiB held in the adapter's working directory (plugin storage)",
                obs.stored_bytes >> 20
            ),
        ));
    }
    let r = obs.received;
    if r.tcp > 0 {
        h.push(harm(
            HarmKind::TcpConnection,
            format!("{} connection(s) to the harness's TCP listener", r.tcp),
        ));
    }
    if r.udp > 0 {
        h.push(harm(
            HarmKind::UdpDatagram,
            format!("{} datagram(s) to the harness's UDP listener", r.udp),
        ));
    }
    if r.unix > 0 {
        h.push(harm(
            HarmKind::UnixConnection,
            format!(
                "{} connection(s) to the harness's abstract unix socket",
                r.unix
            ),
        ));
    }
    for kind in Handed::KINDS {
        let found: Vec<&str> = obs
            .handed
            .iter()
            .filter(|x| x.kind() == kind)
            .map(Handed::detail)
            .collect();
        if !found.is_empty() {
            let more = found.len().saturating_sub(3);
            let mut detail = found[..found.len().min(3)].join("; ");
            if more > 0 {
                detail += &format!("; and {more} more");
            }
            h.push(harm(kind, detail));
        }
    }
    if !obs.privileged_in_reach.is_empty() {
        h.push(harm(
            HarmKind::CapabilitiesKept,
            format!(
                "within the plugin's reach (its processes, and the sandbox's beside them in \
                 its user namespace), {} held capabilities",
                obs.privileged_in_reach.join(", ")
            ),
        ));
    }
    let tree = &obs.tree;
    if tree.bait_holders > 0 {
        h.push(harm(
            HarmKind::DescriptorLeaked,
            format!(
                "{} process(es) below the adapter hold the host's descriptor of the secret",
                tree.bait_holders
            ),
        ));
    }
    // The adapter's own threads (request reader, supervisors) are the margin.
    let limits = &case.policy.limits;
    if tree.max_threads > u64::from(limits.threads) + bounds.thread_margin {
        h.push(harm(
            HarmKind::ResourceExhausted,
            format!(
                "a process of the case had {} threads (policy {})",
                tree.max_threads, limits.threads
            ),
        ));
    }
    if tree.plugin_threads > u64::from(limits.threads) + bounds.plugin_thread_margin {
        h.push(harm(
            HarmKind::ThreadsBeyondPolicy,
            format!(
                "the processes that run the plugin had {} threads together (policy {})",
                tree.plugin_threads, limits.threads
            ),
        ));
    }
    if tree.zombies >= bounds.zombies {
        h.push(harm(
            HarmKind::ResourceExhausted,
            format!("{} zombie processes under the adapter", tree.zombies),
        ));
    }
    if tree.max_fds > u64::from(limits.open_files) + bounds.fd_margin {
        h.push(harm(
            HarmKind::ResourceExhausted,
            format!(
                "a process of the case held {} descriptors (policy {})",
                tree.max_fds, limits.open_files
            ),
        ));
    }
    let output = obs.measured.stdout_bytes + obs.measured.stderr_bytes;
    if output > bounds.adapter_output_mib << 20 {
        h.push(harm(
            HarmKind::ResourceExhausted,
            format!("the adapter wrote {} MiB", output >> 20),
        ));
    }
}

/// Harm in the case guard's report: how the adapter ended, its terminal, signals sent to
/// the guard, processes left behind, and the whole case's memory and CPU.
fn look_at_guard_report(
    case: &Case,
    g: &GuardReport,
    host_gone: bool,
    host_killed: bool,
    bounds: &Bounds,
    h: &mut Vec<Harm>,
) {
    // The harness's own kill (`host_killed`): how the adapter ended says nothing of the
    // sandbox then.
    if let Some(sig) = g.adapter_signal
        && !g.adapter_killed_by_guard
        && !host_killed
    {
        let kind = if CRASH_SIGNALS.contains(&sig) {
            HarmKind::HostCrashed
        } else {
            HarmKind::HostSignalled
        };
        h.push(harm(kind, format!("the adapter died of signal {sig}")));
    } else if host_gone && !g.adapter_killed_by_guard && !host_killed {
        h.push(harm(
            HarmKind::HostCrashed,
            format!(
                "the adapter exited (code {:?}) in the middle of the session",
                g.adapter_exit_code
            ),
        ));
    }
    if g.terminal_bytes > 0 {
        h.push(harm(
            HarmKind::TerminalInjected,
            format!(
                "{} byte(s) reached the adapter's terminal: {:?}",
                g.terminal_bytes, g.terminal_excerpt
            ),
        ));
    }
    if g.sigurg_received > 0 {
        h.push(harm(
            HarmKind::HostSignalled,
            format!("the case guard received {} SIGURG", g.sigurg_received),
        ));
    }
    if !g.left.is_empty() {
        let names: Vec<_> = g.left.iter().take(5).map(|p| p.name.clone()).collect();
        h.push(harm(
            HarmKind::ProcessLeft,
            format!(
                "{} process(es) alive after the adapter exited: {}",
                g.left.len(),
                names.join(", ")
            ),
        ));
    }
    let limits = &case.policy.limits;
    if g.peak_rss_kib * 1024 > limits.memory_bytes + (bounds.memory_margin_mib << 20) {
        h.push(harm(
            HarmKind::ResourceExhausted,
            format!(
                "peak resident set {} MiB, policy {} MiB",
                g.peak_rss_kib >> 10,
                limits.memory_bytes >> 20
            ),
        ));
    }
    let cpu_bound = limits.cpu_ms * bounds.cpu_percent_of_policy / 100 + bounds.cpu_margin_ms;
    if g.cpu_us / 1000 > cpu_bound {
        h.push(harm(
            HarmKind::ResourceExhausted,
            format!(
                "CPU time {} ms, policy {} ms",
                g.cpu_us / 1000,
                limits.cpu_ms
            ),
        ));
    }
}

/// Harm in the sandbox's own answers, against its interest: an end that does not say its
/// cause (or, where the reference's reactions are held, names another refused call than
/// the attack's), a package that had to be refused was started, or a swapped file's code
/// ran.
fn look_at_answers(case: &Case, sut: &Sut, outcome: &Outcome, h: &mut Vec<Harm>) {
    if let Outcome::Killed { termination } = outcome {
        let misnamed = case
            .refused_syscall
            .as_deref()
            .filter(|_| sut.compare_expectations)
            .and_then(|call| misnamed_call(termination, call));
        if let Some(unexplained) = unexplained_end(termination, case.may_exit).or(misnamed) {
            h.push(harm(HarmKind::EndUnexplained, unexplained));
        }
    }
    if let Outcome::RefusedLoad { message } = outcome {
        let cause = case
            .refusal_cause
            .as_deref()
            .filter(|_| sut.compare_expectations);
        if let Some(unexplained) = unexplained_refusal(message, cause) {
            h.push(harm(HarmKind::RefusalUnexplained, unexplained));
        }
    }
    if let Some(form) = case.package
        && form.must_refuse()
        && matches!(outcome, Outcome::Killed { .. } | Outcome::Survived { .. })
    {
        // It started the package's code, however briefly (a run cut short before the
        // payload's memory shows is still a run).
        h.push(harm(
            HarmKind::RefusedCodeRan,
            format!(
                "a {} package was not refused at load: {}",
                form.as_str(),
                describe_outcome(outcome)
            ),
        ));
    }
    if case.package == Some(PackageForm::SwappedAfterLoad)
        && let Outcome::Killed { termination } = outcome
        && termination.reason == "signal"
    {
        // Overwritten in place, a file the plugin was mapped from changes under it: a crash
        // right after the swap means the code running was the file's, not the verified
        // bytes.
        h.push(harm(
            HarmKind::RefusedCodeRan,
            format!(
                "the plugin died of a signal after its file was overwritten: {}",
                termination.detail
            ),
        ));
    }
}

/// The signals sandboxes end processes with. A plugin never dies of one by its own fault,
/// so a report that it died of one says who ended it and not why.
const ENDING_SIGNALS: [i32; 2] = [libc::SIGKILL, libc::SIGTERM];

/// What is wrong with a reported end, if it names no cause: a `signal` that is one of
/// [`ENDING_SIGNALS`] or that names none (see [`reported_signal`]), an `other` that says
/// nothing more, or an `exit` of a plugin whose code never ends its process (`may_exit`
/// false): something else ended it, and the report does not say what.
fn unexplained_end(t: &crate::protocol::Termination, may_exit: bool) -> Option<String> {
    match t.reason.as_str() {
        "exit" if !may_exit => Some(format!(
            "the plugin's end was reported as an exit ({}), and its code never ends its \
             process: the filter, a crash, a limit or the host ended it, and the report does \
             not say which",
            t.detail.chars().take(80).collect::<String>()
        )),
        "signal" => match reported_signal(&t.detail) {
            Some(signal) if ENDING_SIGNALS.contains(&signal) => Some(format!(
                "the plugin's end was reported as {}, which sandboxes end processes with: the \
                 sandbox ended it and did not say why (a limit, a deadline, a refused system \
                 call or a decision of the host)",
                signal_word(signal)
            )),
            Some(_) => None,
            None => Some(format!(
                "the plugin's end was reported as a signal without naming it: {:?}",
                t.detail.chars().take(80).collect::<String>()
            )),
        },
        "other" if t.detail.trim().is_empty() => {
            Some("the plugin's end was reported as `other`, with nothing more".into())
        }
        "seccomp_violation" if t.detail.trim().is_empty() => Some(
            "the plugin's end was reported as a refused system call without naming the call".into(),
        ),
        _ => None,
    }
}

/// What is wrong with a reported end if it is a refused system call and its detail does
/// not name `call` as a word: the call the plugin's attack makes first that the
/// reference's filter refuses (its metadata's `syscall`).
fn misnamed_call(t: &crate::protocol::Termination, call: &str) -> Option<String> {
    (t.reason == "seccomp_violation" && !names_word(&t.detail, call)).then(|| {
        format!(
            "the plugin's end was reported as a refused system call without naming {call}, \
             the call its attack makes: {:?}",
            t.detail.chars().take(120).collect::<String>()
        )
    })
}

/// What is wrong with a refusal's message, if it does not say why the load was refused:
/// it says nothing, or it does not name `cause` as a word (the cause the reference's
/// refusal of the plugin names: its missing export, its unresolved symbol, the
/// verification's verdict).
fn unexplained_refusal(message: &str, cause: Option<&str>) -> Option<String> {
    if message.trim().is_empty() {
        return Some("the plugin's load was refused with nothing said".into());
    }
    let cause = cause?;
    (!names_word(message, cause)).then(|| {
        format!(
            "the plugin's load was refused without naming {cause}, its cause: {:?}",
            message.chars().take(160).collect::<String>()
        )
    })
}

/// Whether `text` holds `word` as a word of its own: between characters that are not ASCII
/// letters, digits or underscores (`openat` in `syscall_name: Some("openat")`, not in
/// `openat2`).
fn names_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| w == word)
}

/// The signal a termination's detail names: a signal's name (`SIGSEGV`, `SIG34`,
/// `SIGRTMIN+3`), else the number after the word `signal` (`signal 6`, `killed by
/// signal: 9`). Only a signal's number counts (1 to 64); a bare number elsewhere (a pid, a
/// duration) names nothing.
fn reported_signal(detail: &str) -> Option<i32> {
    let words: Vec<&str> = detail
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '-'))
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().find_map(|w| signal_named(w)).or_else(|| {
        words
            .windows(2)
            .filter(|pair| pair[0].eq_ignore_ascii_case("signal"))
            .find_map(|pair| (pair[1].parse::<i32>().ok()).filter(|n| SIGNAL_NUMBERS.contains(n)))
    })
}

/// The numbers signals have on Linux.
const SIGNAL_NUMBERS: std::ops::RangeInclusive<i32> = 1..=64;

/// The signal a `SIG...` word names: a conventional name, `SIG<number>`, or a real-time
/// signal (`SIGRTMIN`, `SIGRTMAX-2`), which no sandbox ends a process with.
fn signal_named(word: &str) -> Option<i32> {
    let rest = word.strip_prefix("SIG")?;
    if let Ok(signal) = word.parse::<nix::sys::signal::Signal>() {
        return Some(signal as i32);
    }
    if let Some(n) = rest
        .parse::<i32>()
        .ok()
        .filter(|n| SIGNAL_NUMBERS.contains(n))
    {
        return Some(n);
    }
    (rest.starts_with("RTMIN") || rest.starts_with("RTMAX")).then_some(libc::SIGRTMIN())
}

fn signal_word(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map_or_else(|_| format!("signal {signal}"), |s| s.as_str().to_owned())
}

/// Why a benign plugin was not served, if it was not: it did not end its call with status 0,
/// answered other than its expected output, or the host passed on other than its log
/// records. `None` for a hostile plugin, or a benign one that was served.
fn not_served(case: &Case, obs: &Observations, outcome: &Outcome) -> Option<String> {
    if case.hostile {
        return None;
    }
    if !matches!(outcome, Outcome::Survived { status: Some(0) }) {
        return Some(describe_outcome(outcome));
    }
    if let Some(expected) = case.expected_output.as_deref()
        && obs.answer.as_deref() != Some(expected)
    {
        // The first bytes and the lengths: an expected answer may fill the policy's bound.
        let shown = |b: &[u8]| {
            format!(
                "{:?} ({} bytes)",
                String::from_utf8_lossy(&b[..b.len().min(80)]),
                b.len()
            )
        };
        return Some(format!(
            "its call answered {}, not {}",
            obs.answer.as_deref().map_or("nothing".to_owned(), shown),
            shown(expected)
        ));
    }
    if let Some(expected) = case.expected_logs
        // Each record once: one passed on twice misstates what the plugin said (unless the
        // session stopped keeping events, when the count is a floor).
        && (obs.logs_passed_on < expected || (obs.logs_passed_on > expected && !obs.events_full))
    {
        return Some(format!(
            "it wrote {expected} log record(s) and the host passed on {}",
            obs.logs_passed_on
        ));
    }
    None
}

/// The verdict from the harm found: any harm fails; then a malformed session is an error,
/// a benign plugin not served or a valid package refused fails, and a reaction other than
/// the reference's fails where it is expected.
fn decide(case: &Case, sut: &Sut, obs: &Observations, result: &mut CaseResult) {
    // A plugin whose host the harness killed has no fate the sandbox could report.
    if let Some(expected) = case.expected.as_ref().filter(|_| !obs.host_killed)
        && (sut.compare_expectations
            || (case.inert.is_some() && sut.role == crate::model::Role::Mutant))
    {
        result.expectation_met = Some(outcome_matches(expected, &result.outcome));
    }
    // Whatever else is seen, a benign plugin not served fails what its case stands for.
    let unserved = not_served(case, obs, &result.outcome);
    result.unserved = unserved.is_some();
    // Garbage that a channel attack put into the host's output is that attack's harm.
    let corrupted_by_plugin = case.channel_attack && obs.corrupted_after_load;
    let real_harm: Vec<_> = result
        .harm
        .iter()
        .filter(|h| h.kind != HarmKind::ChannelCorrupted || corrupted_by_plugin)
        .collect();
    if !real_harm.is_empty() {
        result.verdict = Verdict::Fail;
        result.reason = real_harm
            .iter()
            .map(|h| format!("{}: {}", h.kind.as_str(), h.detail))
            .collect::<Vec<_>>()
            .join("; ");
    } else if obs.malformed {
        result.verdict = Verdict::Error;
        result.reason = format!(
            "malformed adapter output: {}",
            result.protocol_errors.first().cloned().unwrap_or_default()
        );
    } else if let Some(why) = &unserved {
        result.verdict = Verdict::Fail;
        result.reason = format!("a benign plugin was not served: {why}");
    } else if let Some(form) = case
        .package
        // A manifest asking for what only an exception grants may be refused: whether the
        // exception still holds is what such a case tests, by harm. So may a package whose
        // policy requires hardening of its binary: whether it has it is what that tests.
        .filter(|f| {
            f.must_load()
                && case.policy.exceptions.is_empty()
                && case.policy.require_hardening.is_empty()
        })
        && matches!(result.outcome, Outcome::RefusedLoad { .. })
    {
        result.verdict = Verdict::Fail;
        result.reason = format!(
            "a valid {} package was refused: what the case tests happens once it runs",
            form.as_str()
        );
    } else if result.expectation_met == Some(false) {
        result.verdict = Verdict::Fail;
        result.reason = format!(
            "contained, but expected {} and observed {}{}",
            case.expected
                .as_ref()
                .map(Expected::describe)
                .unwrap_or_default(),
            describe_outcome(&result.outcome),
            if case.inert.is_some() {
                " (the attack is inert here: the reaction is the evidence)"
            } else {
                ""
            }
        );
    } else {
        result.verdict = Verdict::Pass;
        result.reason = format!("no harm observed; {}", describe_outcome(&result.outcome));
    }
}

/// The suite's own `[bounds]` (`conformance/cases.toml`), for the tests of the judge and its
/// checks.
#[cfg(test)]
pub(super) fn suite_bounds() -> Bounds {
    #[derive(Deserialize)]
    struct CasesFile {
        bounds: Bounds,
    }
    let file: CasesFile = toml::from_str(include_str!("../../../conformance/cases.toml"))
        .expect("conformance/cases.toml has [bounds]");
    file.bounds
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_reported_signal_is_read_from_its_name_or_the_number_after_signal() {
        let rows: [(&str, Option<i32>); 12] = [
            ("Signal { signal: 6 }", Some(6)),
            (r#"Signal { signal: 9, name: "SIGKILL" }"#, Some(9)),
            ("SIGSEGV", Some(11)),
            ("signal 6", Some(6)),
            ("killed by signal: 15", Some(15)),
            ("pid 9 died of signal 11", Some(11)),
            ("SIG34", Some(34)),
            ("SIGRTMIN+9", Some(libc::SIGRTMIN())),
            ("SIGRTMAX-15", Some(libc::SIGRTMIN())),
            ("after 15 ms: segmentation fault", None),
            ("signal 4242", None),
            ("", None),
        ];
        for (detail, signal) in rows {
            assert_eq!(super::reported_signal(detail), signal, "{detail:?}");
        }
    }

    #[test]
    fn the_attack_terminations_are_protocol_words() {
        for word in super::super::options::ATTACK_TERMINATIONS {
            assert!(
                crate::protocol::TERMINATION_REASONS.contains(&word),
                "{word}"
            );
        }
    }

    #[test]
    fn restarts_are_judged_by_when_each_process_started() {
        use super::PluginProcess;
        use crate::protocol::PolicyRestart;
        let policy = PolicyRestart {
            max_restarts: 2,
            window_s: 60,
            backoff_ms: 300,
        };
        // (start, last seen alive); the first is the load's.
        let procs = |spans: &[(u64, u64)]| -> Vec<PluginProcess> {
            spans
                .iter()
                .enumerate()
                .map(|(i, &(start, last_seen))| PluginProcess {
                    start,
                    began_by: None,
                    last_seen,
                    loaded: i == 0,
                })
                .collect()
        };
        let judged = |spans: &[(u64, u64)], sent: &[u64], policy: &PolicyRestart, kill| {
            super::restart_harms(&procs(spans), sent, policy, 10, kill)
                .into_iter()
                .map(|h| h.kind)
                .collect::<Vec<HarmKind>>()
        };
        // Restarted at once after each fault, a backoff after the process before was last
        // seen (a start floored to the tick may read up to 10 ms early).
        let at_once = [(100, 1000), (1310, 2000), (2620, 3000)];
        assert_eq!(judged(&at_once, &[1000, 2000, 3000], &policy, None), []);
        // Restarted only when the next call comes, that call a backoff after the fault.
        let lazy = [(100, 1000), (1400, 1405), (1800, 1805)];
        assert_eq!(judged(&lazy, &[1000, 1400, 1800], &policy, None), []);
        // A restart sooner than the backoff.
        assert_eq!(
            judged(&[(100, 1000), (1050, 1060)], &[1000], &policy, None),
            [HarmKind::RestartedWithoutBackoff]
        );
        // A process started ahead (a warm spare) is judged by when it began to run the
        // plugin: after its last look without it, by its first look with it.
        let ahead = |without: u64, first: u64| {
            let spare = PluginProcess {
                start: without,
                began_by: Some(first),
                last_seen: first + 500,
                loaded: false,
            };
            let load = procs(&[(100, 1000)]);
            super::restart_harms(&[load[0], spare], &[1000], &policy, 10, None)
                .into_iter()
                .map(|h| h.kind)
                .collect::<Vec<HarmKind>>()
        };
        assert_eq!(ahead(1290, 1300), []);
        assert_eq!(ahead(1080, 1100), [HarmKind::RestartedWithoutBackoff]);
        // A process started while the one before it still ran replaced nothing: no backoff
        // is owed between them (the window still counts it).
        assert_eq!(
            judged(&[(100, 2000), (1050, 1060)], &[1000], &policy, None),
            []
        );
        // A third restart in the window.
        let four = [(100, 1000), (1400, 2000), (2400, 3000), (3400, 4000)];
        assert_eq!(
            judged(&four, &[1000, 2000, 3000, 4000], &policy, None),
            [HarmKind::RestartedBeyondPolicy]
        );
        // One restart allowed a window: three a window apart are each alone in theirs, and
        // the same three in a minute's window are too many.
        let one = PolicyRestart {
            max_restarts: 1,
            window_s: 1,
            ..policy
        };
        let spaced = [(100, 1000), (1400, 2200), (2600, 3300), (3700, 3800)];
        let sent = [1000, 2200, 3300];
        assert_eq!(judged(&spaced, &sent, &one, None), []);
        let minute = PolicyRestart {
            window_s: 60,
            ..one
        };
        assert_eq!(
            judged(&spaced, &sent, &minute, None),
            [HarmKind::RestartedBeyondPolicy]
        );
        // After a kill for an attack, no restart at all, however the policy allows them.
        assert_eq!(
            judged(
                &[(100, 1000), (1400, 2000)],
                &[1000, 2000],
                &policy,
                Some(1000)
            ),
            [HarmKind::RestartedBeyondPolicy]
        );
        assert_eq!(judged(&[(100, 1000)], &[1000], &policy, Some(1000)), []);
        // No call, no restart to judge; the load's own process is never one, whenever it
        // started.
        assert_eq!(judged(&[(100, 900)], &[], &policy, None), []);
        assert_eq!(judged(&[(995, 1000)], &[1000], &policy, None), []);
        // A host that maps the plugin only at its first call: its first process is the
        // load's; one forked before any fault is a restart all the same.
        let unloaded = |spans: &[(u64, u64)]| {
            let mut all = procs(spans);
            all[0].loaded = false;
            super::restart_processes(&all).len()
        };
        assert_eq!(unloaded(&[(1000, 1400), (1700, 2000)]), 1);
        assert_eq!(
            super::restart_processes(&procs(&[(100, 3000), (200, 3000)])).len(),
            1
        );
    }

    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::guard::LeftProcess;
    use crate::protocol::{InventoryState, Termination};

    use super::suite_bounds as bounds;

    fn hostile() -> Case {
        Case {
            id: "some_attack".into(),
            plugin: PathBuf::from("/nonexistent/some_attack.so"),
            method: "attack".into(),
            hostile: true,
            input: Vec::new(),
            policy: crate::selftest::default_policy(),
            settle: Duration::ZERO,
            settle_ends_when_gone: false,
            pause: None,
            pause_during_call: None,
            linger_after_unload: Duration::ZERO,
            needs: Vec::new(),
            package: None,
            swap_in: None,
            update_installed: None,
            revoke_during_call: None,
            kill_host_during_call: None,
            audit: None,
            figures_at_least: Default::default(),
            channel_attack: false,
            neighbour_threads: false,
            allowlist_listener_prefix: false,
            allowlisted_service: None,
            reload: false,
            may_exit: false,
            expected: None,
            refused_syscall: None,
            refusal_cause: None,
            expected_output: None,
            expected_logs: None,
            exception_ends_s: None,
            faults_before_call: None,
            inert: None,
        }
    }

    fn sut(role: crate::model::Role, compare_expectations: bool) -> Sut {
        Sut {
            name: role.name().into(),
            role,
            command: Vec::new(),
            binaries: Vec::new(),
            compare_expectations,
        }
    }

    /// An end of `reason`; a `signal` is a SIGSEGV and a `seccomp_violation` a refused
    /// openat, as the reference words them.
    fn killed(reason: &str) -> Outcome {
        let detail = match reason {
            "signal" => r#"Signal { signal: 11, name: "SIGSEGV" }"#,
            "seccomp_violation" => {
                r#"SeccompViolation { syscall: Some(257), syscall_name: Some("openat") }"#
            }
            _ => "",
        };
        ended(reason, detail)
    }

    fn ended(reason: &str, detail: &str) -> Outcome {
        Outcome::Killed {
            termination: Termination {
                reason: reason.into(),
                detail: detail.into(),
            },
        }
    }

    /// The most CPU time the default policy's case may use, in microseconds.
    fn cpu_line_us(b: &Bounds) -> u64 {
        (3000 * b.cpu_percent_of_policy / 100 + b.cpu_margin_ms) * 1000
    }

    /// The audit a case under a restart policy expects of a plugin killed for an attack.
    fn quarantined_at_once() -> super::super::AuditCheck {
        super::super::AuditCheck {
            terminated: false,
            denials: 0,
            limit_hits: 0,
            quarantine: Some(super::super::QuarantineCheck::AtOnce),
        }
    }

    /// A case in which nothing happened: the plugin was called and still answers, the
    /// guard reported a quiet tree.
    fn quiet() -> Observations {
        Observations {
            outcome: Some(Outcome::Survived { status: Some(0) }),
            guard: Some(GuardReport::default()),
            ..Observations::default()
        }
    }

    type Change = fn(&mut Case, &mut Observations, &Bounds);

    /// The sandbox's inventory of a plugin granted storage, read at `moment`: it runs in
    /// process 4242, which the harness saw run it.
    fn inventory(
        moment: InventoryMoment,
        state: crate::protocol::InventoryState,
        grants: &[&str],
    ) -> InventoryRead {
        InventoryRead {
            moment,
            reported: crate::protocol::Inventory {
                pid: 4242,
                state,
                grants: grants.iter().map(|g| (*g).to_owned()).collect(),
                confinement: None,
                spares: None,
            },
            pid_runs_plugin: (moment == InventoryMoment::Loaded).then_some(true),
            confinement_seen: (moment == InventoryMoment::Loaded)
                .then(|| ["seccomp".to_owned(), "namespace.pid".to_owned()].into()),
            spares_misstated: Vec::new(),
        }
    }

    /// The inventory read once, before the unload, with no grants.
    fn before_unload(state: InventoryState) -> Vec<InventoryRead> {
        vec![inventory(InventoryMoment::BeforeUnload, state, &[])]
    }

    /// The inventory read once, once the plugin was loaded.
    fn once_loaded(state: InventoryState, grants: &[&str]) -> Vec<InventoryRead> {
        vec![inventory(InventoryMoment::Loaded, state, grants)]
    }

    /// A case whose policy grants storage, and a clock exception.
    fn granted_storage(c: &mut Case) {
        c.policy.grants = vec!["storage".into()];
        c.policy.exceptions = vec![crate::protocol::PolicyException {
            capability: "clock".into(),
            until: "2026-12-05T00:00:00Z".into(),
        }];
    }

    /// Each row: what differs from a quiet case, and the verdict and harm it must give.
    /// Every line the judge draws is tested on both sides of it.
    const ROWS: &[(&str, Change, Verdict, Option<HarmKind>)] = &[
        ("quiet", |_, _, _b| {}, Verdict::Pass, None),
        (
            "canary",
            |_, o, _b| o.canaries_found = vec!["secret".into()],
            Verdict::Fail,
            Some(HarmKind::SecretInOutput),
        ),
        (
            "gained",
            |_, o, _b| o.gained = Some("GAINED root".into()),
            Verdict::Fail,
            Some(HarmKind::PrivilegeObserved),
        ),
        (
            "file changed",
            |_, o, _b| o.changes = vec!["etc/passwd".into()],
            Verdict::Fail,
            Some(HarmKind::FileWritten),
        ),
        (
            "written at the line",
            |_, o, b| o.written_bytes = b.written_mib << 20,
            Verdict::Pass,
            None,
        ),
        (
            "written beyond",
            |_, o, b| o.written_bytes = (b.written_mib << 20) + 1,
            Verdict::Fail,
            Some(HarmKind::ResourceExhausted),
        ),
        (
            "stored at the line",
            |_, o, b| o.stored_bytes = b.stored_mib << 20,
            Verdict::Pass,
            None,
        ),
        (
            "stored beyond",
            |_, o, b| o.stored_bytes = (b.stored_mib << 20) + 1,
            Verdict::Fail,
            Some(HarmKind::ResourceExhausted),
        ),
        (
            "tcp",
            |_, o, _b| o.received.tcp = 1,
            Verdict::Fail,
            Some(HarmKind::TcpConnection),
        ),
        (
            "udp",
            |_, o, _b| o.received.udp = 1,
            Verdict::Fail,
            Some(HarmKind::UdpDatagram),
        ),
        (
            "unix",
            |_, o, _b| o.received.unix = 1,
            Verdict::Fail,
            Some(HarmKind::UnixConnection),
        ),
        (
            "handed stdio",
            |_, o, _b| {
                o.handed
                    .insert(Handed::Descriptor("fd 2 -> /dev/pts/0".into()));
            },
            Verdict::Fail,
            Some(HarmKind::DescriptorLeaked),
        ),
        (
            "handed environment",
            |_, o, _b| {
                o.handed.insert(Handed::Environment("TOKEN".into()));
            },
            Verdict::Fail,
            Some(HarmKind::HostEnvironmentHanded),
        ),
        (
            "a mount without nosuid",
            |_, o, _b| {
                o.handed.insert(Handed::SetuidMount(
                    "process 12, which runs the plugin, sees /usr (ext4) without nosuid".into(),
                ));
            },
            Verdict::Fail,
            Some(HarmKind::SetuidMount),
        ),
        (
            "a privileged process in the plugin's reach",
            |_, o, _b| {
                o.privileged_in_reach
                    .push("12 (sbx-runner): CapEff 000001ffffffffff".into());
            },
            Verdict::Fail,
            Some(HarmKind::CapabilitiesKept),
        ),
        (
            "bait held",
            |_, o, _b| o.tree.bait_holders = 1,
            Verdict::Fail,
            Some(HarmKind::DescriptorLeaked),
        ),
        (
            "threads at the line",
            |_, o, b| o.tree.max_threads = 32 + b.thread_margin,
            Verdict::Pass,
            None,
        ),
        (
            "threads beyond",
            |_, o, b| o.tree.max_threads = 32 + b.thread_margin + 1,
            Verdict::Fail,
            Some(HarmKind::ResourceExhausted),
        ),
        (
            "the plugin's threads at the line",
            |c, o, b| {
                o.tree.plugin_threads = u64::from(c.policy.limits.threads) + b.plugin_thread_margin
            },
            Verdict::Pass,
            None,
        ),
        (
            "the plugin's threads beyond",
            |c, o, b| {
                o.tree.plugin_threads =
                    u64::from(c.policy.limits.threads) + b.plugin_thread_margin + 1
            },
            Verdict::Fail,
            Some(HarmKind::ThreadsBeyondPolicy),
        ),
        (
            "zombies below",
            |_, o, b| o.tree.zombies = b.zombies - 1,
            Verdict::Pass,
            None,
        ),
        (
            "zombies at the line",
            |_, o, b| o.tree.zombies = b.zombies,
            Verdict::Fail,
            Some(HarmKind::ResourceExhausted),
        ),
        (
            "fds at the line",
            |_, o, b| o.tree.max_fds = 32 + b.fd_margin,
            Verdict::Pass,
            None,
        ),
        (
            "fds beyond",
            |_, o, b| o.tree.max_fds = 32 + b.fd_margin + 1,
            Verdict::Fail,
            Some(HarmKind::ResourceExhausted),
        ),
        (
            "output at the line",
            |_, o, b| o.measured.stdout_bytes = b.adapter_output_mib << 20,
            Verdict::Pass,
            None,
        ),
        (
            "output beyond",
            |_, o, b| {
                o.measured.stdout_bytes = b.adapter_output_mib << 20;
                o.measured.stderr_bytes = 1;
            },
            Verdict::Fail,
            Some(HarmKind::ResourceExhausted),
        ),
        (
            "no guard report",
            |_, o, _b| o.guard = None,
            Verdict::Error,
            None,
        ),
        (
            "adapter crashed",
            |_, o, _b| o.guard.as_mut().unwrap().adapter_signal = Some(libc::SIGSEGV),
            Verdict::Fail,
            Some(HarmKind::HostCrashed),
        ),
        (
            "adapter signalled",
            |_, o, _b| o.guard.as_mut().unwrap().adapter_signal = Some(libc::SIGTERM),
            Verdict::Fail,
            Some(HarmKind::HostSignalled),
        ),
        (
            "adapter stopped by the guard",
            |_, o, _b| {
                let g = o.guard.as_mut().unwrap();
                g.adapter_signal = Some(libc::SIGTERM);
                g.adapter_killed_by_guard = true;
            },
            Verdict::Pass,
            None,
        ),
        (
            "adapter gone",
            |_, o, _b| o.host_gone = true,
            Verdict::Fail,
            Some(HarmKind::HostCrashed),
        ),
        (
            "adapter killed by the harness itself",
            |c, o, _b| {
                o.host_killed = true;
                o.host_gone = true;
                o.guard.as_mut().unwrap().adapter_signal = Some(libc::SIGKILL);
                // No fate of the plugin is compared: the host could not report one.
                c.expected = Some(Expected::Killed("seccomp_violation".into()));
            },
            Verdict::Pass,
            None,
        ),
        (
            "adapter killed by the harness, the plugin's process left",
            |_, o, _b| {
                o.host_killed = true;
                o.guard.as_mut().unwrap().adapter_signal = Some(libc::SIGKILL);
                o.guard.as_mut().unwrap().left = vec![LeftProcess {
                    pid: 9,
                    name: "runner".into(),
                    state: "S".into(),
                }];
            },
            Verdict::Fail,
            Some(HarmKind::ProcessLeft),
        ),
        (
            "terminal",
            |_, o, _b| o.guard.as_mut().unwrap().terminal_bytes = 3,
            Verdict::Fail,
            Some(HarmKind::TerminalInjected),
        ),
        (
            "sigurg",
            |_, o, _b| o.guard.as_mut().unwrap().sigurg_received = 1,
            Verdict::Fail,
            Some(HarmKind::HostSignalled),
        ),
        (
            "process left",
            |_, o, _b| {
                o.guard.as_mut().unwrap().left = vec![LeftProcess {
                    pid: 9,
                    name: "x".into(),
                    state: "S".into(),
                }]
            },
            Verdict::Fail,
            Some(HarmKind::ProcessLeft),
        ),
        (
            "memory at the line",
            |_, o, b| o.guard.as_mut().unwrap().peak_rss_kib = (512 + b.memory_margin_mib) << 10,
            Verdict::Pass,
            None,
        ),
        (
            "memory beyond",
            |_, o, b| {
                o.guard.as_mut().unwrap().peak_rss_kib = ((512 + b.memory_margin_mib) << 10) + 1
            },
            Verdict::Fail,
            Some(HarmKind::ResourceExhausted),
        ),
        (
            "cpu at the line",
            |_, o, b| o.guard.as_mut().unwrap().cpu_us = cpu_line_us(b),
            Verdict::Pass,
            None,
        ),
        (
            "cpu beyond",
            |_, o, b| o.guard.as_mut().unwrap().cpu_us = cpu_line_us(b) + 1000,
            Verdict::Fail,
            Some(HarmKind::ResourceExhausted),
        ),
        (
            "logs after unload",
            |_, o, _b| o.logs_after_unload = 1,
            Verdict::Fail,
            Some(HarmKind::RanAfterUnload),
        ),
        (
            "logs after revocation",
            |_, o, _b| o.logs_after_key_revocation = 1,
            Verdict::Fail,
            Some(HarmKind::RanAfterRevocation),
        ),
        (
            "logs at the line",
            |_, o, b| o.logs_passed_on = b.log_records,
            Verdict::Pass,
            None,
        ),
        (
            "logs beyond",
            |_, o, b| o.logs_passed_on = b.log_records + 1,
            Verdict::Fail,
            Some(HarmKind::ResourceExhausted),
        ),
        (
            "log bytes at the line",
            |_, o, b| o.log_bytes_passed_on = b.log_kib << 10,
            Verdict::Pass,
            None,
        ),
        (
            "log bytes at the policy's rate",
            |c, o, b| {
                c.policy.limits.log_bytes_per_second = Some(1000);
                o.measured.wall_ms = 2000;
                o.log_bytes_passed_on =
                    (1000 * (b.log_burst_s + 2) * b.log_rate_percent_of_policy / 100) as usize;
            },
            Verdict::Pass,
            None,
        ),
        (
            "log bytes beyond the policy's rate",
            |c, o, b| {
                c.policy.limits.log_bytes_per_second = Some(1000);
                o.measured.wall_ms = 2000;
                o.log_bytes_passed_on =
                    (1000 * (b.log_burst_s + 2) * b.log_rate_percent_of_policy / 100) as usize + 1;
            },
            Verdict::Fail,
            Some(HarmKind::ResourceExhausted),
        ),
        (
            "log bytes beyond",
            |_, o, b| o.log_bytes_passed_on = (b.log_kib << 10) + 1,
            Verdict::Fail,
            Some(HarmKind::ResourceExhausted),
        ),
        (
            "payload peak below",
            |c, o, b| {
                c.package = Some(PackageForm::SwappedAfterLoad);
                o.peak_rss_before_target_load_kib = Some(10 << 10);
                o.measured.peak_rss_kib = ((10 + b.refused_code_rss_growth_mib) << 10) - 1;
            },
            Verdict::Pass,
            None,
        ),
        (
            "payload peak reached",
            |c, o, b| {
                c.package = Some(PackageForm::SwappedAfterLoad);
                o.peak_rss_before_target_load_kib = Some(10 << 10);
                o.measured.peak_rss_kib = (10 + b.refused_code_rss_growth_mib) << 10;
            },
            Verdict::Fail,
            Some(HarmKind::RefusedCodeRan),
        ),
        (
            "a valid package's own memory is no payload",
            |c, o, b| {
                c.package = Some(PackageForm::Signed);
                o.peak_rss_before_target_load_kib = Some(10 << 10);
                o.measured.peak_rss_kib = (10 + b.refused_code_rss_growth_mib) << 10;
            },
            Verdict::Pass,
            None,
        ),
        (
            "not applicable",
            |_, o, _b| o.stopped = Some((Verdict::NotApplicable, "needs pause".into())),
            Verdict::NotApplicable,
            None,
        ),
        (
            "stopped, harm still kept",
            |_, o, _b| {
                o.stopped = Some((Verdict::Error, "adapter fault".into()));
                o.logs_after_unload = 1;
            },
            Verdict::Error,
            Some(HarmKind::RanAfterUnload),
        ),
        (
            "malformed",
            |_, o, _b| o.malformed = true,
            Verdict::Error,
            None,
        ),
        (
            "garbage, not the plugin's",
            |_, o, _b| {
                o.during
                    .push(harm(HarmKind::ChannelCorrupted, "junk".into()));
                o.malformed = true;
            },
            Verdict::Error,
            Some(HarmKind::ChannelCorrupted),
        ),
        (
            "garbage, the plugin's",
            |c, o, _b| {
                c.channel_attack = true;
                o.corrupted_after_load = true;
                o.during
                    .push(harm(HarmKind::ChannelCorrupted, "junk".into()));
            },
            Verdict::Fail,
            Some(HarmKind::ChannelCorrupted),
        ),
        (
            "refused package ran",
            |c, _, _b| c.package = Some(PackageForm::Unsigned),
            Verdict::Fail,
            Some(HarmKind::RefusedCodeRan),
        ),
        (
            "refused package refused",
            |c, o, _b| {
                c.package = Some(PackageForm::Unsigned);
                o.outcome = Some(Outcome::RefusedLoad {
                    message: "refused: the package's reason".into(),
                });
            },
            Verdict::Pass,
            None,
        ),
        (
            "overreaching package may run",
            |c, _, _b| c.package = Some(PackageForm::Overreaching),
            Verdict::Pass,
            None,
        ),
        (
            "swapped file crashed",
            |c, o, _b| {
                c.package = Some(PackageForm::SwappedAfterLoad);
                o.outcome = Some(killed("signal"));
            },
            Verdict::Fail,
            Some(HarmKind::RefusedCodeRan),
        ),
        (
            "valid package refused",
            |c, o, _b| {
                c.package = Some(PackageForm::KeyRevokedWhileRunning);
                o.outcome = Some(Outcome::RefusedLoad {
                    message: "refused: the package's reason".into(),
                });
            },
            Verdict::Fail,
            None,
        ),
        (
            "overreaching package refused",
            |c, o, _b| {
                c.package = Some(PackageForm::Overreaching);
                o.outcome = Some(Outcome::RefusedLoad {
                    message: "refused: the package's reason".into(),
                });
            },
            Verdict::Pass,
            None,
        ),
        (
            "benign served",
            |c, _, _b| c.hostile = false,
            Verdict::Pass,
            None,
        ),
        (
            "ended by the sandbox, with its cause",
            |_, o, _b| o.outcome = Some(killed("wall_timeout")),
            Verdict::Pass,
            None,
        ),
        (
            "died of its own fault, named",
            |_, o, _b| o.outcome = Some(ended("signal", "signal 6")),
            Verdict::Pass,
            None,
        ),
        (
            "CPU figure a fair share of the case's",
            |c, o, _b| {
                c.figures_at_least.cpu_share_percent = 50;
                o.measured.cpu_ms = 4100;
                o.figures = Some((
                    crate::protocol::Figures {
                        cpu_ms: 4008,
                        ..Default::default()
                    },
                    Default::default(),
                ));
            },
            Verdict::Pass,
            None,
        ),
        (
            "CPU figure short of the case's",
            |c, o, _b| {
                c.figures_at_least.cpu_share_percent = 50;
                o.measured.cpu_ms = 4100;
                o.figures = Some((
                    crate::protocol::Figures {
                        cpu_ms: 12,
                        ..Default::default()
                    },
                    Default::default(),
                ));
            },
            Verdict::Fail,
            Some(HarmKind::FiguresMisstated),
        ),
        (
            "memory figure short of the case's",
            |c, o, _b| {
                c.figures_at_least.peak_rss_share_percent = 50;
                o.measured.peak_rss_kib = 455_160;
                o.figures = Some(Default::default());
            },
            Verdict::Fail,
            Some(HarmKind::FiguresMisstated),
        ),
        (
            "CPU figure above all the case took",
            |_, o, b| {
                o.measured.cpu_ms = 4100;
                o.figures = Some((
                    crate::protocol::Figures {
                        cpu_ms: 4100 + b.figures_cpu_over_measured_ms + 1,
                        ..Default::default()
                    },
                    Default::default(),
                ));
            },
            Verdict::Fail,
            Some(HarmKind::FiguresMisstated),
        ),
        (
            "CPU figure above the measurement within its grain",
            |_, o, b| {
                o.measured.cpu_ms = 4100;
                o.figures = Some((
                    crate::protocol::Figures {
                        cpu_ms: 4100 + b.figures_cpu_over_measured_ms,
                        ..Default::default()
                    },
                    Default::default(),
                ));
            },
            Verdict::Pass,
            None,
        ),
        (
            "memory figure above the largest process of the case",
            |_, o, b| {
                o.measured.peak_rss_kib = 455_160;
                o.figures = Some((
                    crate::protocol::Figures {
                        peak_rss_kib: 455_160 + b.figures_rss_over_measured_kib + 1,
                        ..Default::default()
                    },
                    Default::default(),
                ));
            },
            Verdict::Fail,
            Some(HarmKind::FiguresMisstated),
        ),
        (
            "inventory true once loaded and before unload",
            |c, o, _b| {
                granted_storage(c);
                o.inventory = vec![
                    inventory(
                        InventoryMoment::Loaded,
                        InventoryState::Running,
                        &["log", "storage"],
                    ),
                    inventory(InventoryMoment::BeforeUnload, InventoryState::Running, &[]),
                ];
            },
            Verdict::Pass,
            None,
        ),
        (
            "inventory with an exception's capability",
            |c, o, _b| {
                granted_storage(c);
                o.inventory = once_loaded(InventoryState::Running, &["storage", "clock"]);
            },
            Verdict::Pass,
            None,
        ),
        (
            "inventory names a process that does not run the plugin",
            |c, o, _b| {
                granted_storage(c);
                let mut read = inventory(
                    InventoryMoment::Loaded,
                    InventoryState::Running,
                    &["storage"],
                );
                read.pid_runs_plugin = Some(false);
                o.inventory = vec![read];
            },
            Verdict::Fail,
            Some(HarmKind::InventoryMisstated),
        ),
        (
            "inventory says the confinement seen, and words of its own",
            |_, o, _b| {
                let mut read = inventory(InventoryMoment::Loaded, InventoryState::Running, &[]);
                read.reported.confinement = Some(
                    ["namespace.pid", "seccomp", "landlock.fs"]
                        .map(str::to_owned)
                        .into(),
                );
                o.inventory = vec![read];
            },
            Verdict::Pass,
            None,
        ),
        (
            "inventory says no confinement where some is seen",
            |_, o, _b| {
                let mut read = inventory(InventoryMoment::Loaded, InventoryState::Running, &[]);
                read.reported.confinement = Some(Vec::new());
                o.inventory = vec![read];
            },
            Verdict::Fail,
            Some(HarmKind::InventoryMisstated),
        ),
        (
            "inventory says confinement not seen",
            |_, o, _b| {
                let mut read = inventory(InventoryMoment::Loaded, InventoryState::Running, &[]);
                read.reported.confinement = Some(
                    ["namespace.pid", "seccomp", "namespace.net"]
                        .map(str::to_owned)
                        .into(),
                );
                o.inventory = vec![read];
            },
            Verdict::Fail,
            Some(HarmKind::InventoryMisstated),
        ),
        (
            "inventory names no spare for a process of the sandbox's that runs no plugin",
            |_, o, _b| {
                let mut read = inventory(InventoryMoment::Loaded, InventoryState::Running, &[]);
                read.reported.spares = Some(Vec::new());
                read.spares_misstated =
                    vec!["it names no spare for process(es) 4343 (sbx-runner)".into()];
                o.inventory = vec![read];
            },
            Verdict::Fail,
            Some(HarmKind::InventoryMisstated),
        ),
        (
            "inventory lists fewer capabilities than granted",
            |c, o, _b| {
                granted_storage(c);
                o.inventory = once_loaded(InventoryState::Running, &["log"]);
            },
            Verdict::Fail,
            Some(HarmKind::InventoryMisstated),
        ),
        (
            "inventory lists more capabilities than granted",
            |c, o, _b| {
                granted_storage(c);
                o.inventory = once_loaded(InventoryState::Running, &["storage", "net"]);
            },
            Verdict::Fail,
            Some(HarmKind::InventoryMisstated),
        ),
        (
            "inventory has a loaded plugin quarantined",
            |c, o, _b| {
                granted_storage(c);
                o.inventory = once_loaded(InventoryState::Quarantined, &["storage"]);
            },
            Verdict::Fail,
            Some(HarmKind::InventoryMisstated),
        ),
        (
            "inventory has a plugin that answered ended",
            |_, o, _b| {
                o.inventory = before_unload(InventoryState::Ended);
            },
            Verdict::Fail,
            Some(HarmKind::InventoryMisstated),
        ),
        (
            "inventory has a plugin kept paused running",
            |c, o, _b| {
                c.pause = Some(super::super::PausePlan::UntilUnload);
                o.inventory = before_unload(InventoryState::Running);
            },
            Verdict::Fail,
            Some(HarmKind::InventoryMisstated),
        ),
        (
            "inventory has a plugin kept paused paused",
            |c, o, _b| {
                c.pause = Some(super::super::PausePlan::UntilUnload);
                o.inventory = before_unload(InventoryState::Paused);
            },
            Verdict::Pass,
            None,
        ),
        (
            "inventory has a plugin killed for an attack under restarts merely ended",
            |c, o, _b| {
                c.audit = Some(quarantined_at_once());
                o.outcome = Some(killed("seccomp_violation"));
                o.inventory = before_unload(InventoryState::Ended);
            },
            Verdict::Fail,
            Some(HarmKind::InventoryMisstated),
        ),
        (
            "inventory has a plugin killed for an attack under restarts quarantined",
            |c, o, _b| {
                c.audit = Some(quarantined_at_once());
                o.outcome = Some(killed("seccomp_violation"));
                o.inventory = before_unload(InventoryState::Quarantined);
            },
            Verdict::Pass,
            None,
        ),
        (
            "inventory has a plugin that crashed under restarts running again",
            |c, o, _b| {
                c.audit = Some(quarantined_at_once());
                o.outcome = Some(killed("signal"));
                o.inventory = before_unload(InventoryState::Running);
            },
            Verdict::Pass,
            None,
        ),
        (
            "ended by a bare SIGKILL",
            |_, o, _b| {
                o.outcome = Some(ended("signal", r#"Signal { signal: 9, name: "SIGKILL" }"#))
            },
            Verdict::Fail,
            Some(HarmKind::EndUnexplained),
        ),
        (
            "ended by a SIGTERM given as its number",
            |_, o, _b| o.outcome = Some(ended("signal", "terminated by signal 15")),
            Verdict::Fail,
            Some(HarmKind::EndUnexplained),
        ),
        (
            "a real-time signal, named",
            |_, o, _b| o.outcome = Some(ended("signal", "SIGRTMIN+9")),
            Verdict::Pass,
            None,
        ),
        (
            "ended by an exit its code never makes",
            |_, o, _b| o.outcome = Some(ended("exit", "Exit { code: 0 }")),
            Verdict::Fail,
            Some(HarmKind::EndUnexplained),
        ),
        (
            "ended by an exit of a plugin that exits",
            |c, o, _b| {
                c.may_exit = true;
                o.outcome = Some(ended("exit", "Exit { code: 3 }"));
            },
            Verdict::Pass,
            None,
        ),
        (
            "ended as other, with nothing said",
            |_, o, _b| o.outcome = Some(ended("other", "")),
            Verdict::Fail,
            Some(HarmKind::EndUnexplained),
        ),
        (
            "died of a signal not named",
            |_, o, _b| o.outcome = Some(ended("signal", "it crashed")),
            Verdict::Fail,
            Some(HarmKind::EndUnexplained),
        ),
        (
            "ended for a refused system call not named",
            |_, o, _b| o.outcome = Some(ended("seccomp_violation", " ")),
            Verdict::Fail,
            Some(HarmKind::EndUnexplained),
        ),
        (
            "benign not served",
            |c, o, _b| {
                c.hostile = false;
                o.outcome = Some(killed("signal"));
            },
            Verdict::Fail,
            None,
        ),
        (
            "benign answered what it must",
            |c, o, _b| {
                c.hostile = false;
                c.expected_output = Some(b"conformance".to_vec());
                o.answer = Some(b"conformance".to_vec());
            },
            Verdict::Pass,
            None,
        ),
        (
            "benign answered other bytes",
            |c, o, _b| {
                c.hostile = false;
                c.expected_output = Some(b"conformance".to_vec());
                o.answer = Some(Vec::new());
            },
            Verdict::Fail,
            None,
        ),
        (
            "benign logs passed on",
            |c, o, _b| {
                c.hostile = false;
                c.expected_logs = Some(3);
                o.logs_passed_on = 3;
            },
            Verdict::Pass,
            None,
        ),
        (
            "benign logs dropped",
            |c, o, _b| {
                c.hostile = false;
                c.expected_logs = Some(3);
                o.logs_passed_on = 2;
            },
            Verdict::Fail,
            None,
        ),
        (
            "benign logs passed on twice",
            |c, o, _b| {
                c.hostile = false;
                c.expected_logs = Some(3);
                o.logs_passed_on = 4;
            },
            Verdict::Fail,
            None,
        ),
        (
            "reaction as expected",
            |c, o, _b| {
                c.expected = Some(Expected::Killed("seccomp_violation".into()));
                o.outcome = Some(killed("seccomp_violation"));
            },
            Verdict::Pass,
            None,
        ),
    ];

    /// A benign plugin not served says so in its result even when harm decides its reason:
    /// the requirement its case stands for fails by it (conformance's aggregate).
    #[test]
    fn a_benign_plugin_not_served_is_marked_so_whatever_harm_was_seen() {
        let bounds = bounds();
        let mut case = hostile();
        case.hostile = false;
        let mut obs = quiet();
        obs.outcome = Some(ended("exit", "Exit { code: 70 }"));
        let candidate = sut(crate::model::Role::Candidate, false);
        let r = judge(&case, &candidate, &obs, &bounds);
        assert!(r.unserved, "{}", r.reason);
        assert!(
            r.harm.iter().any(|h| h.kind == HarmKind::EndUnexplained),
            "{:?}",
            r.harm
        );
        obs.outcome = Some(Outcome::Survived { status: Some(0) });
        assert!(!judge(&case, &candidate, &obs, &bounds).unserved);
        case.hostile = true;
        obs.outcome = Some(killed("seccomp_violation"));
        assert!(!judge(&case, &candidate, &obs, &bounds).unserved);
    }

    #[test]
    fn every_line_of_the_judge_on_both_sides() {
        let bounds = bounds();
        for (name, change, verdict, kind) in ROWS {
            let mut case = hostile();
            let mut obs = quiet();
            change(&mut case, &mut obs, &bounds);
            let r = judge(
                &case,
                &sut(crate::model::Role::Candidate, false),
                &obs,
                &bounds,
            );
            assert_eq!(r.verdict, *verdict, "{name}: {}", r.reason);
            match kind {
                Some(k) => assert!(
                    r.harm.iter().any(|h| h.kind == *k),
                    "{name}: no {k:?} in {:?}",
                    r.harm
                ),
                None => assert!(r.harm.is_empty(), "{name}: {:?}", r.harm),
            }
        }
    }

    /// The reference's reaction is held against the sandbox only where expected: for a
    /// candidate that compares, and for a mutant on an attack that is inert here (its
    /// reaction is then the only evidence).
    #[test]
    fn the_expected_reaction_is_judged_where_it_is_evidence() {
        let bounds = bounds();
        let mut case = hostile();
        case.expected = Some(Expected::Killed("seccomp_violation".into()));
        let obs = quiet();
        let compared = judge(
            &case,
            &sut(crate::model::Role::Candidate, true),
            &obs,
            &bounds,
        );
        assert_eq!(compared.verdict, Verdict::Fail);
        assert_eq!(compared.expectation_met, Some(false));
        let not_compared = judge(
            &case,
            &sut(crate::model::Role::Mutant, false),
            &obs,
            &bounds,
        );
        assert_eq!(not_compared.verdict, Verdict::Pass);
        assert_eq!(not_compared.expectation_met, None);
        case.inert = Some("no x32".into());
        let inert = judge(
            &case,
            &sut(crate::model::Role::Mutant, false),
            &obs,
            &bounds,
        );
        assert_eq!(inert.verdict, Verdict::Fail);
        assert!(inert.reason.contains("inert"), "{}", inert.reason);
    }

    /// Where the reference's reactions are held, its end for a refused system call names
    /// the call the plugin's metadata gives, as a word of its detail.
    #[test]
    fn the_refused_call_is_named_where_reactions_are_held() {
        let bounds = bounds();
        let mut case = hostile();
        case.expected = Some(Expected::Killed("seccomp_violation".into()));
        case.refused_syscall = Some("socket".into());
        let mut obs = quiet();
        let reference = sut(crate::model::Role::Candidate, true);
        for (detail, named) in [
            (
                r#"SeccompViolation { syscall: Some(41), syscall_name: Some("socket") }"#,
                true,
            ),
            ("socket", true),
            (
                r#"SeccompViolation { syscall: Some(41), syscall_name: None }"#,
                false,
            ),
            (
                r#"SeccompViolation { syscall: Some(41), syscall_name: Some("") }"#,
                false,
            ),
            ("socketpair", false),
            ("openat", false),
        ] {
            obs.outcome = Some(ended("seccomp_violation", detail));
            let r = judge(&case, &reference, &obs, &bounds);
            let unexplained = r.harm.iter().any(|h| h.kind == HarmKind::EndUnexplained);
            assert_eq!(unexplained, !named, "{detail}: {:?}", r.harm);
        }
        // Another sandbox's filter may refuse an earlier call of the attack.
        obs.outcome = Some(ended("seccomp_violation", "openat"));
        let other = judge(
            &case,
            &sut(crate::model::Role::Candidate, false),
            &obs,
            &bounds,
        );
        assert_eq!(other.verdict, Verdict::Pass, "{}", other.reason);
    }

    /// A refused load says why: never with nothing said, and where the reference's
    /// reactions are held, naming the cause its metadata gives as a word of the message.
    #[test]
    fn a_refusal_names_its_cause() {
        let bounds = bounds();
        let mut case = hostile();
        case.expected = Some(Expected::RefusedLoad);
        case.refusal_cause = Some("sbx_plugin_invoke".into());
        let mut obs = quiet();
        let refused = |message: &str| Outcome::RefusedLoad {
            message: message.into(),
        };
        let reference = sut(crate::model::Role::Candidate, true);
        let other = sut(crate::model::Role::Candidate, false);
        for (message, by_reference, by_other) in [
            ("Load: missing symbol sbx_plugin_invoke", true, true),
            ("Load: missing symbol sbx_plugin_invoke_v2", false, true),
            ("Load: channel: closed", false, true),
            ("  ", false, false),
            ("", false, false),
        ] {
            obs.outcome = Some(refused(message));
            for (s, explained) in [(&reference, by_reference), (&other, by_other)] {
                let r = judge(&case, s, &obs, &bounds);
                let unexplained = r
                    .harm
                    .iter()
                    .any(|h| h.kind == HarmKind::RefusalUnexplained);
                assert_eq!(unexplained, !explained, "{message:?}: {:?}", r.harm);
            }
        }
    }

    /// Several observations of one kind make one harm entry holding each.
    #[test]
    fn one_entry_per_kind() {
        let mut obs = quiet();
        obs.written_bytes = 65 << 20;
        obs.stored_bytes = 65 << 20;
        let r = judge(
            &hostile(),
            &sut(crate::model::Role::Candidate, false),
            &obs,
            &bounds(),
        );
        let exhausted: Vec<_> = r
            .harm
            .iter()
            .filter(|h| h.kind == HarmKind::ResourceExhausted)
            .collect();
        assert_eq!(exhausted.len(), 1);
        assert!(exhausted[0].detail.contains("written") && exhausted[0].detail.contains("held"));
    }

    #[test]
    fn gained_lines_are_found_and_cut() {
        assert_eq!(gained_line(b"nothing here", "GAINED "), None);
        assert_eq!(
            gained_line(b"x\nplugin: GAINED read /etc/shadow\ny", "GAINED ").as_deref(),
            Some("GAINED read /etc/shadow")
        );
        let long = format!("GAINED {}", "a".repeat(500));
        assert_eq!(
            gained_line(long.as_bytes(), "GAINED ").map(|l| l.len()),
            Some(160)
        );
    }
}
