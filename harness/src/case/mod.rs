//! One case: one plugin against one sandbox, observed from outside.
//!
//! The procedure is the same for every case, so that a verdict depends on what happened
//! and not on how a case was written: prepare canaries, listeners and a scratch area;
//! start the adapter under the case guard; load a benign neighbour, then the plugin under
//! test; call it; let it settle; check that it, the neighbour and the host still answer;
//! unload; and then look, with the harness's own eyes, for every kind of harm.

mod judge;
mod options;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use std::collections::{BTreeMap, BTreeSet};

use judge::harm;
pub use judge::{
    Bounds, InventoryMoment, InventoryRead, Observations, describe_outcome, gained_line, judge,
    unjudged,
};
use options::{CaseOptions, Target};

use crate::handed::{Handed, HostMarks, PluginImage, census, plugin_processes};
use crate::model::{CaseResult, Harm, HarmKind, Measured, Outcome, Verdict};
use crate::observe::{CANARY_ENV, Canaries, Listeners, Scratch, clean_tmp_attack_files, token};
use crate::package::PackageForm;
use crate::procfs::{TreeFacts, threads_of, tree_cpu_ms, tree_facts, tree_pids};
use crate::protocol::{
    ErrorKind, Feature, Figures, HelloResult, Inventory, InvokeResult, Op, PROTOCOL_VERSION,
    Policy, Termination, encode_bytes,
};
use crate::session::{Answer, CallTally, Launch, Session};

/// A sandbox under test: how to start its adapter.
#[derive(Debug, Clone)]
pub struct Sut {
    /// Name used on the command line and in reports.
    pub name: String,
    /// Its role in the run.
    pub role: crate::model::Role,
    /// The adapter's argv.
    pub command: Vec<String>,
    /// Files the sandbox runs besides its adapter's executable (the reference's runner):
    /// hashed into the results with it, as what a certificate is about.
    pub binaries: Vec<String>,
    /// Compare outcomes with the reference expectations of the plugin metadata.
    pub compare_expectations: bool,
}

/// The harness's side of a run: binaries, places, outer limits.
#[derive(Debug, Clone)]
pub struct Bench {
    /// `sbx-case-guard`.
    pub guard: PathBuf,
    /// Where case scratch areas are created.
    pub scratch_base: PathBuf,
    /// Guard arguments applying outer safety limits to every case.
    pub guard_args: Vec<String>,
    /// The benign neighbour plugin.
    pub neighbour: PathBuf,
    /// The neighbour's methods the harness calls.
    pub neighbour_methods: NeighbourMethods,
    /// What a hostile plugin's `attack` method is told: the key of each `key=value` line,
    /// and the fact of the case it carries.
    pub attack_input: BTreeMap<String, AttackFact>,
    /// What begins a hostile plugin's report of a privilege it still held.
    pub gained_marker: String,
    /// Slack added to every policy deadline before the harness declares the host hung.
    pub slack: Duration,
    /// The suite's lines beyond which what the harness saw is harm.
    pub bounds: Bounds,
}

/// The methods of the benign neighbour the harness calls (`[harness]` of
/// `conformance/cases.toml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighbourMethods {
    /// Answers its input.
    pub echo: String,
    /// Answers its input from a thread it starts.
    pub thread_echo: String,
}

/// A fact of one case that a hostile plugin's `attack` method is told (`[harness.attack_input]`
/// of `conformance/cases.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttackFact {
    /// The absolute path of a file holding a canary token, outside the plugin's reach.
    SecretFile,
    /// That file's directory.
    SecretDir,
    /// A directory that must stay unwritten.
    ForbiddenDir,
    /// The port of the harness's TCP listener on 127.0.0.1.
    TcpPort,
    /// The port of its UDP listener on 127.0.0.1.
    UdpPort,
    /// The name of its abstract unix socket, without the leading NUL.
    UnixName,
    /// The adapter's pid.
    AdapterPid,
    /// The name of the adapter's environment variable that holds a canary.
    CanaryEnv,
    /// The policy's storage quota in bytes (0 when it names none).
    StorageQuota,
    /// The policy's host calls per second (0 when it names none).
    HostCallRate,
    /// The keys the policy lets a plugin store (0 when it names none).
    StorageKeys,
}

/// The reaction the reference sandbox must show, from the plugin's metadata.
/// How a case pauses its plugin once the call is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PausePlan {
    /// Paused through the settle time, then resumed.
    ThroughSettle,
    /// Paused through the settle time and still paused when it is unloaded: its shutdown
    /// must run all the same.
    UntilUnload,
    /// Paused while its call is pending, held, then resumed: the call must be answered, the
    /// time paused not counted against its deadline ([`Case::pause_during_call`]).
    DuringCall,
}

/// When a `during_call` pause comes and how long it holds the plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PauseDuringCall {
    /// After the call is sent.
    pub after: Duration,
    /// From the pause to the resume: longer than what is left of the call's deadline, so
    /// that a sandbox counting the pause kills the plugin for it.
    pub hold: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// Load refused.
    RefusedLoad,
    /// Killed for this reason (a [`crate::protocol::TERMINATION_REASONS`] word).
    Killed(String),
    /// Still answering at the end (denied, survived a limit, or completed harmlessly).
    Survived,
}

impl Expected {
    /// Text for reports.
    pub fn describe(&self) -> String {
        match self {
            Expected::RefusedLoad => "refused_load".into(),
            Expected::Killed(r) => format!("killed ({r})"),
            Expected::Survived => "survived".into(),
        }
    }
}

/// One case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Stable id (the plugin name).
    pub id: String,
    /// The shared object.
    pub plugin: PathBuf,
    /// The method to call.
    pub method: String,
    /// Hostile: the input is the attack parameters, and harm is looked for.
    pub hostile: bool,
    /// Input for a benign call.
    pub input: Vec<u8>,
    /// Policy to load the plugin with.
    pub policy: Policy,
    /// Idle time after the call, for harm that happens between calls.
    pub settle: Duration,
    /// The settle time ends early once no process runs the plugin: one the sandbox ended
    /// can do nothing more (for a long settle that waits out a limit, which a sandbox that
    /// enforces it reaches sooner).
    pub settle_ends_when_gone: bool,
    /// Pause the plugin for the settle time, and when to resume it.
    pub pause: Option<PausePlan>,
    /// With [`PausePlan::DuringCall`]: when the pause comes and how long it holds.
    pub pause_during_call: Option<PauseDuringCall>,
    /// Idle time after the plugin's unload is answered, for what it does after its
    /// shutdown (its log records arriving then are harm: `ran_after_unload`).
    pub linger_after_unload: Duration,
    /// Features the adapter must declare for the case to apply.
    pub needs: Vec<Feature>,
    /// Load the plugin as a signed package made this way (`load_package`), not by path.
    pub package: Option<PackageForm>,
    /// With [`PackageForm::SwappedAfterLoad`]: the binary written over the package's
    /// `plugin.so` once the load is answered; with [`PackageForm::SwappedDuringLoad`], the
    /// one put in its place and taken out again while the load runs.
    pub swap_in: Option<PathBuf>,
    /// An update case's installed version (`package = "update_*"`), loaded before the
    /// case's plugin is offered in its place.
    pub update_installed: Option<PathBuf>,
    /// Capabilities revoked while the attack call runs.
    pub revoke_during_call: Option<RevokeDuringCall>,
    /// The harness kills the adapter (SIGKILL) this long into the attack call: a host that
    /// dies, as hosts do, must take everything of the plugin with it (the case guard's
    /// processes left).
    pub kill_host_during_call: Option<Duration>,
    /// What the sandbox's audit log must hold for the plugin at the end (`audit`).
    pub audit: Option<AuditCheck>,
    /// What the sandbox's figures of the plugin must count at least (`figures`): what the
    /// plugin is known to do in its call.
    pub figures_at_least: FiguresFloor,
    /// The plugin attacks the host's channel: garbage in the adapter's output from its load
    /// on is the plugin's doing (harm: `channel_corrupted`), not an adapter fault.
    pub channel_attack: bool,
    /// While the plugin runs, the neighbour is asked to start a thread (method
    /// `thread_echo`); if it could before the plugin was loaded and cannot now, the
    /// plugin's cap on tasks was not its own (harm: `neighbour_not_served`).
    pub neighbour_threads: bool,
    /// The policy's net allowlist holds the harness's TCP listener's address less the last
    /// digit of its port (`127.0.0.1:4123` for a listener on 41234): a destination that an
    /// exact comparison refuses and a prefix match lets through to the listener.
    pub allowlist_listener_prefix: bool,
    /// A destination on 127.0.0.1 which the policy's net allowlist holds and its
    /// configuration names: one the plugin may reach.
    pub allowlisted_service: Option<AllowlistedService>,
    /// Before the attack call, the attack runs once and the plugin is unloaded and loaded
    /// again under the same handle: what it held (storage, quotas) must carry over, not
    /// start afresh.
    pub reload: bool,
    /// The plugin's code may end its own process by an exit: for any other, an end
    /// reported as an exit hides what ended it.
    pub may_exit: bool,
    /// The reference expectation.
    pub expected: Option<Expected>,
    /// The system call the reference's filter refuses in the attack, which a
    /// `seccomp_violation` of the reference must name (held where expectations are).
    pub refused_syscall: Option<String>,
    /// A word of the cause the reference names when it refuses the plugin's load, which a
    /// refusal of the reference must contain (held where expectations are).
    pub refusal_cause: Option<String>,
    /// When the policy's exceptions end, in seconds from the moment the load is sent
    /// (negative: before it); their `until` is written then.
    pub exception_ends_s: Option<i64>,
    /// Calls that fault before the call judged (with a restart policy: each must be
    /// followed by a restart, and the plugin must serve again afterwards).
    pub faults_before_call: Option<FaultsBeforeCall>,
    /// For a benign plugin: what its call must answer (a sandbox that answers other bytes
    /// did not serve it).
    pub expected_output: Option<Vec<u8>>,
    /// For a benign plugin: how many log records its call writes, all within any rate; a
    /// sandbox that passes on fewer did not serve it.
    pub expected_logs: Option<usize>,
    /// The attack cannot do harm on this system under any sandbox (what it needs is
    /// missing here): why. A mutant is then held to the reference's reaction, the only
    /// evidence of its missing layer this system can give.
    pub inert: Option<String>,
}

/// A destination the policy allowlists for a case, and names in its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowlistedService {
    /// The configuration key that names it.
    pub key: String,
    /// Whether anything listens there: an echo service of the harness's own, or a port
    /// where nothing does (a host service failing on the host's side).
    pub listening: bool,
}

/// The records a case expects in the sandbox's audit log, checked against what the case
/// saw: a runner that ended must be recorded with the reason the adapter gave for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditCheck {
    /// A `terminated` record, with the reason reported in the protocol when the plugin was
    /// killed.
    pub terminated: bool,
    /// At least this many `denied` records (one per refused host call of the plugin).
    pub denials: u32,
    /// At least this many `limit_hit` records (a quota or rate the plugin ran into).
    pub limit_hits: u32,
    /// How the host stopped the plugin for good, under a policy that allows restarts.
    pub quarantine: Option<QuarantineCheck>,
}

/// What a case's plugin is known to make the sandbox count, at least, in its call: the
/// floor of the sandbox's [`Figures`] beyond what the harness counts itself (calls).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FiguresFloor {
    /// Host calls it makes.
    pub host_calls: u64,
    /// Host calls and log records of it that must be refused.
    pub denials: u64,
    /// Limits it runs into.
    pub limit_hits: u64,
    /// Log records of it that cannot all be passed on.
    pub log_records_dropped: u64,
    /// CPU time its call spins for, ms.
    pub cpu_ms: u64,
    /// Memory its call makes resident, KiB.
    pub peak_rss_kib: u64,
    /// Time its calls take to answer, ms.
    pub call_ms: u64,
    /// Time a CPU rate cap of the case holds it back, ms.
    pub throttled_ms: u64,
    /// Messages it shows the user (`notify_user`).
    pub notifications: u64,
    /// Share of the CPU time the harness measured of the case's processes that the
    /// plugin's own is known to be at least, percent: its CPU figure must reach that share
    /// (a spin that dwarfs what the adapter does, however soon the sandbox ends it).
    pub cpu_share_percent: u64,
    /// The same for the largest resident memory of a process of the case.
    pub peak_rss_share_percent: u64,
}

/// How the audit must record a plugin the host stopped for good under a policy that allows
/// restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuarantineCheck {
    /// Its restarts ran out after this many: one `restart` record each, then a `limit_hit`
    /// of `restarts` and a `quarantined` record naming them.
    RestartsRunOut(u32),
    /// At its first fault, one the policy never restarts (a kill for an attack): no
    /// `restart` record, no `limit_hit` of `restarts` (none ran out), and a `quarantined`
    /// record naming none. Checked only when the plugin was killed for an attack.
    AtOnce,
}

/// Calls sent before the call judged, each of which makes the plugin fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultsBeforeCall {
    /// The input that makes the plugin fault.
    pub input: Vec<u8>,
    /// One for each call: the time after it before the next call (or the call judged).
    pub waits: Vec<Duration>,
}

/// Revocations sent while the attack call is pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokeDuringCall {
    /// How long after sending the call.
    pub after: Duration,
    /// The capabilities, each its own `revoke` request.
    pub capabilities: Vec<String>,
}

/// Runs one case and judges it.
pub fn run_case(bench: &Bench, sut: &Sut, case: &Case) -> CaseResult {
    let started = Instant::now();
    let canaries = Canaries::new();
    let scratch = match Scratch::create(
        &bench.scratch_base,
        &format!("{}-{}", sut.name, case.id),
        &canaries,
    ) {
        Ok(s) => s,
        Err(e) => {
            return unjudged(
                case,
                format!("harness: cannot create the scratch area: {e}"),
            );
        }
    };
    let unix_name = format!("sbx-conformance-{}", &token()[..16]);
    let listeners = match Listeners::open(&unix_name) {
        Ok(l) => l,
        Err(e) => {
            return unjudged(case, format!("harness: cannot open listeners: {e}"));
        }
    };
    let before = scratch.snapshot();
    let mut command = sut.command.clone();
    command.push(format!("--sbx-canary={}", canaries.argv));
    let env = vec![(CANARY_ENV.to_string(), canaries.env.clone())];
    let launch = Launch {
        guard: &bench.guard,
        command: &command,
        env: &env,
        cwd: &scratch.work,
        guard_args: &bench.guard_args,
        bait: Some(&scratch.secret),
    };
    let mut session = match Session::start(&launch) {
        Ok(s) => s,
        Err(e) => {
            listeners.close();
            return unjudged(case, format!("adapter: {e}"));
        }
    };
    let mut run = Run {
        session: &mut session,
        harm: Vec::new(),
        outcome: None,
        malformed: false,
        host_gone: false,
        host_killed: false,
        target_loading: false,
        corrupted_after_load: false,
        events_at_unload: None,
        events_at_key_revocation: None,
        tree: TreeFacts::default(),
        notes: Vec::new(),
        audit: Vec::new(),
        peak_rss_before_target_load_kib: None,
        plugin_file: case.plugin.clone(),
        plugin_image: PluginImage::File,
        host_canaries: (canaries.env.clone(), canaries.argv.clone()),
        handed: BTreeSet::new(),
        privileged_in_reach: Vec::new(),
        before_target: Vec::new(),
        answer: None,
        features: Vec::new(),
        figures: None,
        inventory: Vec::new(),
    };
    let stopped = match drive(&mut run, bench, case, &scratch, &listeners, &canaries) {
        Ok(()) | Err(Stop::Ended) => None,
        Err(Stop::Abort(verdict, why)) => Some((verdict, why)),
    };
    // Looked at while the plugin ran and before `bye` when the session got that far (an
    // adapter on its way out closes what it held), and now (a session cut short).
    run.look_at_tree(&scratch.secret);
    let mut obs = Observations {
        stopped,
        tree: std::mem::take(&mut run.tree),
        handed: std::mem::take(&mut run.handed),
        privileged_in_reach: std::mem::take(&mut run.privileged_in_reach),
        peak_rss_before_target_load_kib: run.peak_rss_before_target_load_kib,
        logs_after_unload: run
            .events_at_unload
            .map_or(0, |at| run.target_logs_since(at)),
        logs_after_key_revocation: run
            .events_at_key_revocation
            .map_or(0, |at| run.target_logs_since(at)),
        logs_passed_on: run.target_logs_since(0),
        log_bytes_passed_on: run.target_log_messages(0).map(str::len).sum(),
        events_full: run.session.events.len() >= crate::session::MAX_EVENTS,
        corrupted_after_load: run.corrupted_after_load,
        malformed: run.malformed,
        host_gone: run.host_gone,
        host_killed: run.host_killed,
        outcome: run.outcome.take(),
        answer: run.answer.take(),
        figures: run.figures.take(),
        inventory: std::mem::take(&mut run.inventory),
        during: std::mem::take(&mut run.harm),
        ..Observations::default()
    };
    let mut notes = std::mem::take(&mut run.notes);
    let audit = std::mem::take(&mut run.audit);
    if obs.logs_passed_on > 0 {
        notes.push(format!(
            "the host passed on {} log record(s) of the plugin, {} bytes",
            obs.logs_passed_on, obs.log_bytes_passed_on
        ));
    }
    if obs.tree.plugin_threads > 0 {
        notes.push(format!(
            "the processes that ran the plugin held at most {} threads together (policy {})",
            obs.tree.plugin_threads, case.policy.limits.threads
        ));
    }
    // Before the adapter exits: what it holds for its plugins, not what it leaves behind.
    obs.stored_bytes = scratch.work_bytes();
    let finished = session.finish(Duration::from_secs(5));
    obs.received = listeners.close();
    let after = scratch.snapshot();
    if case.hostile {
        clean_tmp_attack_files();
    }
    let _ = std::fs::remove_dir_all(&scratch.root);
    obs.changes = after.changes_since(&before);
    obs.written_bytes = Scratch::written_bytes(&after);
    obs.protocol_errors = session.protocol_errors.clone();
    obs.measured = Measured {
        wall_ms: started.elapsed().as_millis() as u64,
        cpu_ms: finished.guard.as_ref().map_or(0, |g| g.cpu_us / 1000),
        peak_rss_kib: finished.guard.as_ref().map_or(0, |g| g.peak_rss_kib),
        stdout_bytes: session.stdout_bytes,
        stderr_bytes: finished.stderr_bytes,
    };
    // What the adapter wrote and the plugin logged: canaries, and privileges reported.
    let mut seen = session.seen.clone();
    seen.extend_from_slice(&finished.stderr);
    for event in &session.events {
        if let crate::protocol::Event::Log { message, .. } = event {
            seen.extend_from_slice(message.as_bytes());
        }
    }
    obs.canaries_found = canaries
        .found_in(&seen)
        .into_iter()
        .map(str::to_owned)
        .collect();
    obs.gained = gained_line(&seen, &bench.gained_marker);
    obs.guard = finished.guard;
    let mut result = judge(case, sut, &obs, &bench.bounds);
    result.notes = session.limit_warnings.clone();
    result.notes.append(&mut notes);
    result.audit = audit;
    result
}

/// What the neighbour echoes from a thread of its own (`neighbour_threads`).
const NEIGHBOUR_THREAD_PROBE: &[u8] = b"neighbour started a thread";

/// Asks the neighbour to echo [`NEIGHBOUR_THREAD_PROBE`] from a thread it starts.
fn neighbour_thread_echo(run: &mut Run<'_>, bench: &Bench, deadline: Duration) -> Answer {
    run.session.request(
        Op::Invoke {
            plugin: "neighbour".into(),
            method: bench.neighbour_methods.thread_echo.clone(),
            input_b64: encode_bytes(NEIGHBOUR_THREAD_PROBE),
        },
        deadline,
    )
}

/// The answer is a call's result whose output is exactly `probe`.
fn echoed(answer: &Answer, probe: &[u8]) -> bool {
    matches!(answer, Answer::Ok(v) if serde_json::from_value::<InvokeResult>(v.clone())
        .ok()
        .and_then(|r| crate::protocol::decode_bytes(&r.output_b64))
        .is_some_and(|out| out == probe))
}

struct Run<'a> {
    session: &'a mut Session,
    harm: Vec<Harm>,
    outcome: Option<Outcome>,
    malformed: bool,
    host_gone: bool,
    /// The harness itself killed the adapter (`kill_host_during_call`).
    host_killed: bool,
    /// The target's load has been requested: what the adapter writes from now on may be
    /// the plugin's doing.
    target_loading: bool,
    /// The adapter's output was malformed after the target's load was requested.
    corrupted_after_load: bool,
    /// How many events had arrived when the target's unload was answered.
    events_at_unload: Option<usize>,
    /// How many events had arrived when the revocation of the target's signer key was
    /// answered.
    events_at_key_revocation: Option<usize>,
    /// The process tree at its worst of the looks taken while the plugin ran and before
    /// `bye`.
    tree: TreeFacts,
    /// Figures the harness measured that a pass rests on.
    notes: Vec<String>,
    /// The sandbox's audit records of the plugin, where the case checks them (evidence).
    audit: Vec<String>,
    /// The largest peak resident size (KiB) of the adapter's tree when the target's package
    /// load was sent: the adapter and the neighbour, not the package's doing.
    peak_rss_before_target_load_kib: Option<u64>,
    /// The plugin's file (a package's own copy in a package case): a process that maps it
    /// runs the plugin.
    plugin_file: PathBuf,
    /// How a mapping of the plugin looks (a package may be loaded from a sealed memfd).
    plugin_image: PluginImage,
    /// The canaries in the adapter's environment and argv.
    host_canaries: (String, String),
    /// What the plugin's processes were handed by the host.
    handed: BTreeSet<Handed>,
    /// Processes in the plugin's reach holding capabilities, seen after its load.
    privileged_in_reach: Vec<String>,
    /// Processes that mapped the plugin's file before the plugin was loaded: the
    /// neighbour's, when the case's plugin is the neighbour's file too.
    before_target: Vec<i32>,
    /// What the target's call answered, when it answered.
    answer: Option<Vec<u8>>,
    /// What the adapter declared it supports.
    features: Vec<Feature>,
    /// The sandbox's figures of the target, read before its unload, and the calls the
    /// session had seen answered since its load by then.
    figures: Option<(Figures, CallTally)>,
    /// The sandbox's inventory of the target, once loaded and before its unload.
    inventory: Vec<InventoryRead>,
}

impl Run<'_> {
    /// Log records of the target among the events from the `at`-th on.
    fn target_logs_since(&self, at: usize) -> usize {
        self.target_log_messages(at).count()
    }

    /// The messages of the target's log records among the session's events from index
    /// `at` on.
    fn target_log_messages(&self, at: usize) -> impl Iterator<Item = &str> {
        let events = &self.session.events;
        events[at.min(events.len())..]
            .iter()
            .filter_map(|e| match e {
                crate::protocol::Event::Log {
                    plugin, message, ..
                } if plugin == "target" => Some(message.as_str()),
                _ => None,
            })
    }

    /// Records harm when the case's processes used more CPU since `started` (when they
    /// had used `cpu_before` ms) than `cap` percent of one CPU allows, with the slack of
    /// `bounds`.
    fn check_cpu_rate(&mut self, bounds: &Bounds, cap: u32, cpu_before: u64, started: Instant) {
        let used = tree_cpu_ms(self.session.adapter_pid).saturating_sub(cpu_before);
        let wall = started.elapsed().as_millis() as u64;
        let allowed = wall * u64::from(cap) / 100 * bounds.cpu_rate_percent_of_cap / 100
            + bounds.cpu_rate_margin_ms;
        let figures = format!(
            "{used} ms of CPU in the {wall} ms of the call, against {cap}% of one CPU \
             ({allowed} ms with slack)"
        );
        if used > allowed {
            self.harm.push(harm(
                HarmKind::ResourceExhausted,
                format!("CPU rate over its cap: {figures}"),
            ));
        } else {
            self.notes.push(format!("CPU rate held: {figures}"));
        }
    }

    /// Takes the census of what the plugin's processes were handed, once the plugin is
    /// loaded and before it is called: what they hold then is the host's doing, not the
    /// attack's (whose own effects other checks judge). Notes when no process could be
    /// found that runs the plugin, so that a census that saw nothing says so.
    fn census_of_the_handed(&mut self) {
        let adapter = self.session.adapter_pid;
        let marks = HostMarks {
            adapter,
            env_canary: &self.host_canaries.0,
            argv_canary: &self.host_canaries.1,
        };
        let pids = self.plugin_pids();
        if pids.is_empty() {
            self.notes.push(
                "no process below the adapter maps the plugin once loaded: what it was handed \
                 was not observed"
                    .into(),
            );
        }
        for &pid in &pids {
            self.handed.extend(census(pid, &marks, &self.plugin_file));
        }
        // The adapter itself, when it runs the plugin in-process, is the host, not judged
        // for what it holds.
        let running: Vec<i32> = pids.iter().copied().filter(|p| *p != adapter).collect();
        let others: Vec<i32> = tree_pids(adapter)
            .into_iter()
            .filter(|p| *p != adapter)
            .collect();
        let privileged = crate::procfs::privileged_in_reach(&running, &others);
        self.privileged_in_reach = privileged
            .into_iter()
            .map(|(pid, name, capeff)| format!("{pid} ({name}): CapEff {capeff:016x}"))
            .collect();
    }

    /// Looks at the process tree now and keeps the worst of each figure.
    fn look_at_tree(&mut self, secret: &Path) {
        let adapter = self.session.adapter_pid;
        let now = tree_facts(adapter, secret);
        let plugin_threads = threads_of(&self.plugin_pids());
        let t = &mut self.tree;
        t.zombies = t.zombies.max(now.zombies);
        t.max_fds = t.max_fds.max(now.max_fds);
        t.max_threads = t.max_threads.max(now.max_threads);
        t.plugin_threads = t.plugin_threads.max(plugin_threads);
        t.bait_holders = t.bait_holders.max(now.bait_holders);
    }

    /// The processes that run the plugin now: they map its file, and did not before it was
    /// loaded.
    fn plugin_pids(&self) -> Vec<i32> {
        plugin_processes(
            &tree_pids(self.session.adapter_pid),
            &self.plugin_file,
            self.plugin_image,
        )
        .into_iter()
        .filter(|p| !self.before_target.contains(p))
        .collect()
    }

    /// Records harm when a process other than the adapter still maps the plugin's file once
    /// its unload was answered (a second for the sandbox to finish ending it; a zombie maps
    /// nothing).
    fn check_plugin_gone(&mut self) {
        let adapter = self.session.adapter_pid;
        let left = || -> Vec<i32> {
            self.plugin_pids()
                .into_iter()
                .filter(|p| *p != adapter)
                .collect()
        };
        let until = Instant::now() + Duration::from_secs(1);
        let mut still = left();
        while !still.is_empty() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
            still = left();
        }
        if !still.is_empty() {
            self.harm.push(harm(
                HarmKind::ProcessLeft,
                format!(
                    "process(es) {still:?} still run the plugin a second after its unload was \
                     answered"
                ),
            ));
        }
    }

    /// Records harm when the host handed over more output from one call than the policy
    /// allows: whatever the plugin wrote into its channel, the host must bound the answer.
    fn check_output_bound(&mut self, answer: &Answer, limit: u32) {
        if let Answer::Ok(v) = answer
            && let Some(bytes) = v
                .get("output_b64")
                .and_then(|o| o.as_str())
                .and_then(crate::protocol::decode_bytes)
            && bytes.len() > limit as usize
        {
            self.harm.push(harm(
                HarmKind::OutputBeyondPolicy,
                format!(
                    "the host answered a call with {} bytes of output (policy {limit})",
                    bytes.len()
                ),
            ));
        }
    }

    /// Takes an answer of the target's: the adapter's health, then what no answer of the
    /// plugin may carry (the neighbour's token, more output than the policy allows).
    fn check_target_answer(
        &mut self,
        what: &str,
        answer: &Answer,
        cx: &Cx<'_>,
    ) -> Result<(), Stop> {
        self.absorb(what, answer)?;
        self.check_foreign_output(answer, &cx.canaries.neighbour);
        self.check_output_bound(answer, cx.case.policy.limits.output_bytes);
        Ok(())
    }

    /// Records harm when the plugin's answer carries the neighbour's token.
    fn check_foreign_output(&mut self, answer: &Answer, token: &str) {
        if let Answer::Ok(v) = answer
            && let Some(bytes) = v
                .get("output_b64")
                .and_then(|o| o.as_str())
                .and_then(crate::protocol::decode_bytes)
            && bytes.windows(token.len()).any(|w| w == token.as_bytes())
        {
            self.harm.push(harm(
                HarmKind::SecretInOutput,
                "the plugin's answer held the neighbour plugin's earlier answer (its token)".into(),
            ));
        }
    }

    /// Records what a non-answer means; [`Stop::Ended`] when the session cannot go on.
    fn absorb(&mut self, what: &str, answer: &Answer) -> Result<(), Stop> {
        match answer {
            Answer::Ok(_) | Answer::Err(_) => return Ok(()),
            Answer::Late => {
                self.harm.push(harm(
                    HarmKind::HostHung,
                    format!("no answer to {what} in time"),
                ));
                self.host_gone = true;
            }
            Answer::Closed => self.host_gone = true,
            Answer::Malformed(e) => {
                self.malformed = true;
                self.corrupted_after_load |= self.target_loading;
                self.harm.push(harm(
                    HarmKind::ChannelCorrupted,
                    format!("during {what}: {e}"),
                ));
            }
        }
        Err(Stop::Ended)
    }

    fn killed(&mut self, t: Termination) {
        if !matches!(
            self.outcome,
            Some(Outcome::Killed { .. }) | Some(Outcome::RefusedLoad { .. })
        ) {
            self.outcome = Some(Outcome::Killed { termination: t });
        }
    }
}

/// Why the script of a case stops before its end.
#[derive(Debug)]
enum Stop {
    /// The adapter gave no usable answer: what the case saw so far is judged.
    Ended,
    /// A verdict that is not about harm (not applicable, a harness or adapter fault), and
    /// why.
    Abort(Verdict, String),
}

impl From<(Verdict, String)> for Stop {
    fn from((verdict, why): (Verdict, String)) -> Stop {
        Stop::Abort(verdict, why)
    }
}

/// What every step of a case reads.
struct Cx<'a> {
    bench: &'a Bench,
    case: &'a Case,
    scratch: &'a Scratch,
    listeners: &'a Listeners,
    canaries: &'a Canaries,
    /// Loading (confinement, dlopen, constructors) and init each get the init deadline.
    load_deadline: Duration,
    call_deadline: Duration,
    unload_deadline: Duration,
}

/// The script of a case, one step after the other; a step ends it early with `?` when
/// the adapter stops answering ([`Stop::Ended`]: what was seen is judged) or the case
/// cannot go on ([`Stop::Abort`]). The case's options ([`options`]) add to the steps
/// through their hooks.
fn drive(
    run: &mut Run<'_>,
    bench: &Bench,
    case: &Case,
    scratch: &Scratch,
    listeners: &Listeners,
    canaries: &Canaries,
) -> Result<(), Stop> {
    handshake(run, case)?;
    let deadlines = case.policy.deadlines;
    let cx = Cx {
        bench,
        case,
        scratch,
        listeners,
        canaries,
        load_deadline: Duration::from_millis(2 * deadlines.init_ms) + bench.slack,
        call_deadline: Duration::from_millis(deadlines.call_ms) + bench.slack,
        unload_deadline: Duration::from_millis(deadlines.shutdown_ms) + bench.slack,
    };
    let mut options = CaseOptions::for_case(&cx)?;
    load_neighbour(run, &cx)?;
    options.each(|o| o.before_load(run, &cx))?;
    let loaded = match load_target(run, &cx, &mut options)? {
        Some(load) => {
            run.census_of_the_handed();
            read_inventory(run, &cx, InventoryMoment::Loaded)?;
            let input = call_input(run, &cx);
            let target = Target {
                load: &load,
                input: &input,
            };
            options.each(|o| o.before_call(run, &cx, &target))?;
            call_target(run, &cx, &mut options, &input)?;
            options.each(|o| o.after_call(run, &cx))?;
            options.each(|o| o.before_settle(run, &cx))?;
            settle(run, case);
            options.each(|o| o.after_settle(run, &cx))?;
            check_liveness(run, &cx)?;
            true
        }
        None => false,
    };
    check_neighbour(run, &cx)?;
    options.each(|o| o.after_neighbour_check(run, &cx))?;
    still_answers(run)?;
    if loaded {
        read_inventory(run, &cx, InventoryMoment::BeforeUnload)?;
        read_figures(run, &cx)?;
        unload_target(run, &cx)?;
    }
    count_reported_death(run);
    options.each(|o| o.after_unload(run, &cx))?;
    finish(run, &cx)
}

/// Waits the case's settle time, or (`settle_ends_when_gone`) until the process that ran
/// the plugin as the settle began is gone, whichever comes first. A plugin the harness
/// cannot find (a sandbox that maps it from a file of its own) gets the whole settle time,
/// and a process must be missing at two looks in a row.
fn settle(run: &Run<'_>, case: &Case) {
    let until = Instant::now() + case.settle;
    let watched = case.settle_ends_when_gone && !run.plugin_pids().is_empty();
    if !watched {
        std::thread::sleep(case.settle);
        return;
    }
    let mut missing = 0;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        missing = if run.plugin_pids().is_empty() {
            missing + 1
        } else {
            0
        };
        if missing == 2 {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// `hello`: the protocol version, and the features the case needs.
fn handshake(run: &mut Run<'_>, case: &Case) -> Result<(), Stop> {
    let hello = run.session.request(
        Op::Hello {
            protocol: PROTOCOL_VERSION,
        },
        Duration::from_secs(10),
    );
    let hello: HelloResult = match hello {
        Answer::Ok(v) => serde_json::from_value(v).map_err(|e| {
            (
                Verdict::Error,
                format!("adapter: malformed hello result: {e}"),
            )
        })?,
        other => {
            return Err(Stop::Abort(
                Verdict::Error,
                format!("adapter: no valid hello: {other:?}"),
            ));
        }
    };
    if hello.protocol != PROTOCOL_VERSION {
        return Err(Stop::Abort(
            Verdict::Error,
            format!(
                "adapter speaks protocol {}, harness {PROTOCOL_VERSION}",
                hello.protocol
            ),
        ));
    }
    run.features = hello.features.clone();
    if let Some(missing) = case.needs.iter().find(|f| !hello.features.contains(f)) {
        return Err(Stop::Abort(
            Verdict::NotApplicable,
            format!(
                "feature `{}` not declared",
                serde_json::to_value(missing)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| format!("{missing:?}"))
            ),
        ));
    }
    Ok(())
}

/// Loads the benign neighbour and has it answer a token of its own.
fn load_neighbour(run: &mut Run<'_>, cx: &Cx<'_>) -> Result<(), Stop> {
    // The case's limits, without its grants or a strict load: those are the target's
    // subject, and the neighbour only has to be served beside it.
    let neighbour_policy = Policy {
        grants: Vec::new(),
        strict: false,
        require_hardening: Vec::new(),
        ..cx.case.policy.clone()
    };
    let answer = run.session.request(
        Op::Load {
            plugin: "neighbour".into(),
            path: path_text(&cx.bench.neighbour),
            policy: neighbour_policy,
            config_b64: String::new(),
        },
        cx.load_deadline,
    );
    if !matches!(answer, Answer::Ok(_)) {
        return Err(Stop::Abort(
            Verdict::Error,
            format!("adapter: the benign neighbour could not be loaded: {answer:?}"),
        ));
    }
    // The neighbour answers first, with a token of its own: a host that hands the plugin a
    // buffer still holding that answer leaks one plugin's data to another.
    let answer = run.session.request(
        Op::Invoke {
            plugin: "neighbour".into(),
            method: cx.bench.neighbour_methods.echo.clone(),
            input_b64: encode_bytes(cx.canaries.neighbour.as_bytes()),
        },
        cx.call_deadline,
    );
    if !matches!(answer, Answer::Ok(_)) {
        return Err(Stop::Abort(
            Verdict::Error,
            format!("adapter: the benign neighbour did not answer: {answer:?}"),
        ));
    }
    Ok(())
}

/// Loads the plugin, with the request the options shape (by path, or its package); the
/// load request when it loaded.
fn load_target(
    run: &mut Run<'_>,
    cx: &Cx<'_>,
    options: &mut CaseOptions,
) -> Result<Option<Op>, Stop> {
    let load = options.load_request(
        cx,
        Op::Load {
            plugin: "target".into(),
            path: path_text(&cx.case.plugin),
            policy: cx.case.policy.clone(),
            config_b64: String::new(),
        },
    );
    run.before_target = run.plugin_pids();
    run.target_loading = true;
    let answer = run.session.request(load.clone(), cx.load_deadline);
    run.absorb("load", &answer)?;
    options.each(|o| o.after_load(run, cx, &answer))?;
    let mut loaded = false;
    match answer {
        Answer::Ok(_) => loaded = true,
        Answer::Err(e) => match (e.kind, e.termination) {
            (ErrorKind::Terminated, Some(t)) => run.killed(t),
            (ErrorKind::Refused, _) => {
                run.outcome = Some(Outcome::RefusedLoad { message: e.message })
            }
            (kind, _) => {
                return Err(Stop::Abort(
                    Verdict::Error,
                    format!("adapter: load answered {kind:?}: {}", e.message),
                ));
            }
        },
        _ => {}
    }
    Ok(loaded.then_some(load))
}

/// The call's input: the attack's parameters for a hostile plugin, the case's own input
/// for a benign one.
fn call_input(run: &Run<'_>, cx: &Cx<'_>) -> Vec<u8> {
    if cx.case.hostile {
        attack_input(cx, run.session.adapter_pid)
    } else {
        cx.case.input.clone()
    }
}

/// A call of the case's method on the target, with `input`.
fn target_call(cx: &Cx<'_>, input: &[u8]) -> Op {
    Op::Invoke {
        plugin: "target".into(),
        method: cx.case.method.clone(),
        input_b64: encode_bytes(input),
    }
}

/// The call, with what the options send while it is pending; its outcome.
fn call_target(
    run: &mut Run<'_>,
    cx: &Cx<'_>,
    options: &mut CaseOptions,
    input: &[u8],
) -> Result<(), Stop> {
    let call = target_call(cx, input);
    options.notify(|o| o.call_sent(run));
    let schedule = options.during_call();
    let (answer, during) = if schedule.is_empty() {
        (run.session.request(call, cx.call_deadline), Vec::new())
    } else {
        run.session
            .request_overlapping(call, schedule, cx.call_deadline)
    };
    options.notify(|o| o.call_answered(run, cx));
    run.check_target_answer("invoke", &answer, cx)?;
    // A plugin that ended during its call takes the requests after its end with it (a
    // `resume` of a process that is gone is refused): the call's end is what is judged.
    let ended_in_call = matches!(&answer, Answer::Err(e) if e.kind == ErrorKind::Terminated);
    for a in &during {
        run.absorb("a request sent during the call", a)?;
        if let Answer::Err(e) = a
            && !ended_in_call
        {
            return Err(Stop::Abort(
                Verdict::Error,
                format!(
                    "adapter: a request sent during the call answered {:?}: {}",
                    e.kind, e.message
                ),
            ));
        }
    }
    match answer {
        Answer::Ok(v) => {
            let r: Option<InvokeResult> = serde_json::from_value(v).ok();
            run.answer = r
                .as_ref()
                .and_then(|r| crate::protocol::decode_bytes(&r.output_b64));
            run.outcome = Some(Outcome::Survived {
                status: r.map(|r| r.status),
            });
        }
        Answer::Err(e) => terminated_or_error(run, e)?,
        _ => {}
    }
    Ok(())
}

/// The tree while the plugin still runs, and a call that any answer proves it still serves.
fn check_liveness(run: &mut Run<'_>, cx: &Cx<'_>) -> Result<(), Stop> {
    // While the plugin still runs: its threads, descriptors and children.
    run.look_at_tree(&cx.scratch.secret);
    // A plugin kept paused for its unload is not called meanwhile: a sandbox refuses that.
    let paused = cx.case.pause == Some(PausePlan::UntilUnload);
    if !paused && matches!(run.outcome, Some(Outcome::Survived { .. })) {
        // Liveness: any answer, even "unknown method", proves the plugin still serves.
        let answer = run.session.request(
            Op::Invoke {
                plugin: "target".into(),
                method: "sbx-conformance-liveness".into(),
                input_b64: String::new(),
            },
            cx.call_deadline,
        );
        run.check_target_answer("liveness call", &answer, cx)?;
        if run.events_at_key_revocation.is_some() && matches!(answer, Answer::Ok(_)) {
            run.harm.push(harm(
                HarmKind::RanAfterRevocation,
                "the plugin answered a call after its signer's key was revoked".into(),
            ));
        }
        if let Answer::Err(e) = answer {
            terminated_or_error(run, e)?;
        }
    }
    Ok(())
}

/// The neighbour is still served, whatever happened to the plugin.
fn check_neighbour(run: &mut Run<'_>, cx: &Cx<'_>) -> Result<(), Stop> {
    let probe = b"neighbour still served".to_vec();
    let answer = run.session.request(
        Op::Invoke {
            plugin: "neighbour".into(),
            method: cx.bench.neighbour_methods.echo.clone(),
            input_b64: encode_bytes(&probe),
        },
        cx.call_deadline,
    );
    run.absorb("neighbour call", &answer)?;
    if !echoed(&answer, &probe) {
        run.harm.push(harm(
            HarmKind::NeighbourNotServed,
            format!("echo answered {answer:?}"),
        ));
    }
    Ok(())
}

/// The adapter still answers a handshake.
fn still_answers(run: &mut Run<'_>) -> Result<(), Stop> {
    let answer = run.session.request(
        Op::Hello {
            protocol: PROTOCOL_VERSION,
        },
        Duration::from_secs(5),
    );
    run.absorb("second hello", &answer)?;
    Ok(())
}

/// Asks the adapter `op` (named `what` in reports) and reads its answer as a `T`: `None`
/// when no answer came (the session judges the silence); a malformed answer or an error
/// stops the case as an adapter fault.
fn ask<T: serde::de::DeserializeOwned>(
    run: &mut Run<'_>,
    cx: &Cx<'_>,
    op: Op,
    what: &str,
) -> Result<Option<T>, Stop> {
    let answer = run.session.request(op, cx.call_deadline);
    run.absorb(what, &answer)?;
    match answer {
        Answer::Ok(v) => serde_json::from_value(v).map(Some).map_err(|e| {
            Stop::Abort(
                Verdict::Error,
                format!("adapter: malformed {what} result: {e}"),
            )
        }),
        Answer::Err(e) => Err(Stop::Abort(
            Verdict::Error,
            format!("adapter: {what} answered {:?}: {}", e.kind, e.message),
        )),
        _ => Ok(None),
    }
}

/// With `figures`: reads the sandbox's figures of the plugin before its unload, with the
/// calls the harness saw answered since its load, for the judge (`look_at_figures`).
fn read_figures(run: &mut Run<'_>, cx: &Cx<'_>) -> Result<(), Stop> {
    if !run.features.contains(&Feature::Figures) {
        return Ok(());
    }
    let op = Op::Figures {
        plugin: "target".into(),
    };
    let Some(reported) = ask::<Figures>(run, cx, op, "figures")? else {
        return Ok(());
    };
    let seen = run.session.calls.get("target").copied().unwrap_or_default();
    run.figures = Some((reported, seen));
    Ok(())
}

/// With `inventory`: reads what the sandbox says of the target at `moment`, and, once it
/// is loaded, whether the process it names runs the plugin, for the judge
/// (`look_at_inventory`).
fn read_inventory(run: &mut Run<'_>, cx: &Cx<'_>, moment: InventoryMoment) -> Result<(), Stop> {
    if !run.features.contains(&Feature::Inventory) {
        return Ok(());
    }
    let op = || Op::Inventory {
        plugin: "target".into(),
    };
    let Some(mut reported) = ask::<Inventory>(run, cx, op(), "inventory")? else {
        return Ok(());
    };
    // A spare the sandbox is making may exist a moment before it is named: asked again
    // while processes it does not name remain, for two seconds at most.
    let until = Instant::now() + SPARE_SETTLES_WITHIN;
    let mut misstated = spares_misstated(run, cx, &reported);
    while misstated.iter().any(|m| m.unnamed) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
        let Some(again) = ask::<Inventory>(run, cx, op(), "inventory")? else {
            return Ok(());
        };
        reported = again;
        misstated = spares_misstated(run, cx, &reported);
    }
    let running = match moment {
        InventoryMoment::Loaded => run.plugin_pids(),
        InventoryMoment::BeforeUnload => Vec::new(),
    };
    if moment == InventoryMoment::Loaded && running.is_empty() {
        run.notes.push(
            "no process below the adapter maps the plugin once loaded: the process and the \
             confinement the inventory names were not checked"
                .into(),
        );
    }
    let pid_runs_plugin =
        (!running.is_empty()).then(|| runs_plugin(reported.pid, &running, run.session.adapter_pid));
    run.inventory.push(InventoryRead {
        moment,
        reported,
        pid_runs_plugin,
        confinement_seen: confinement_of_all(&running),
        spares_misstated: misstated.into_iter().map(|m| m.what).collect(),
    });
    Ok(())
}

/// How long a spare the sandbox is making may exist before its inventory names it.
const SPARE_SETTLES_WITHIN: Duration = Duration::from_secs(2);

/// One way an inventory's `spares` misstate the sandbox's processes.
struct SpareMisstated {
    /// A process of the sandbox's that runs no plugin and that it does not name: may be a
    /// spare it is still making.
    unnamed: bool,
    what: String,
}

/// How the `spares` an inventory names (when it names any) misstate the processes below
/// the adapter: a pid that is no process of the sandbox's, or one that runs a plugin's
/// code (the case's or the neighbour's); and a process the adapter started whose tree runs
/// no plugin and holds no spare named.
fn spares_misstated(run: &Run<'_>, cx: &Cx<'_>, inventory: &Inventory) -> Vec<SpareMisstated> {
    let Some(spares) = &inventory.spares else {
        return Vec::new();
    };
    let adapter = run.session.adapter_pid;
    // One reading of the tree, its ended processes aside.
    let tree: Vec<crate::procfs::Below> = crate::procfs::below(adapter)
        .into_iter()
        .filter(|p| p.state != 'Z' && p.state != 'X')
        .collect();
    let live: Vec<i32> = tree.iter().map(|p| p.pid).collect();
    let mut busy = run.plugin_pids();
    busy.extend(plugin_processes(
        &live,
        &cx.bench.neighbour,
        PluginImage::FileOrMemfd,
    ));
    // The process the adapter started that `pid` is, or is below.
    let head_of = |pid: i32| -> Option<i32> {
        let mut at = pid;
        for _ in 0..tree.len() {
            let parent = tree.iter().find(|p| p.pid == at)?.ppid;
            if parent == adapter {
                return Some(at);
            }
            at = parent;
        }
        None
    };
    let mut found = Vec::new();
    for &spare in spares {
        if !live.contains(&spare) {
            found.push(SpareMisstated {
                unnamed: false,
                what: format!(
                    "it names process {spare} as a spare, which is no process of the sandbox's"
                ),
            });
        } else if busy.contains(&spare) {
            found.push(SpareMisstated {
                unnamed: false,
                what: format!("it names process {spare} as a spare, which runs a plugin's code"),
            });
        }
    }
    // Each process the adapter started heads a tree of the sandbox's: one that runs a
    // plugin somewhere in it (with its helpers, such as a pid namespace's init), or a spare.
    let accounted: BTreeSet<i32> = busy
        .iter()
        .chain(spares)
        .filter_map(|&p| head_of(p))
        .collect();
    let idle: Vec<String> = tree
        .iter()
        .filter(|p| p.ppid == adapter && !accounted.contains(&p.pid))
        .map(|p| format!("{} ({})", p.pid, p.comm))
        .collect();
    if !idle.is_empty() {
        found.push(SpareMisstated {
            unnamed: true,
            what: format!(
                "it names no spare for process(es) {} the sandbox started, in whose trees no \
                 plugin runs",
                idle.join(", ")
            ),
        });
    }
    found
}

/// The confinement words that hold for every one of the processes `running` the plugin
/// (of those that can still be read); `None` when none can.
fn confinement_of_all(running: &[i32]) -> Option<BTreeSet<String>> {
    running
        .iter()
        .filter_map(|pid| crate::procfs::confinement_of(*pid))
        .map(|words| {
            words
                .into_iter()
                .map(str::to_owned)
                .collect::<BTreeSet<String>>()
        })
        .reduce(|all, one| all.intersection(&one).cloned().collect())
}

/// Whether `pid` is one of the processes `running` the plugin, or a process of the
/// sandbox's (below the `adapter`) above one of them: not the host itself, nor a process
/// outside it (init is above every process).
fn runs_plugin(pid: i32, running: &[i32], adapter: i32) -> bool {
    running.contains(&pid)
        || pid != adapter
            && tree_pids(adapter).contains(&pid)
            && crate::procfs::descendants(pid)
                .iter()
                .any(|(below, ..)| running.contains(below))
}

/// How the sandbox's `reported` figures of a plugin misstate what the harness saw of its
/// calls (`seen`, since its load: a call that got no answer in time may have been finished
/// since) and what its call is known to make the sandbox count (`floor`).
fn figures_misstatements(
    reported: &Figures,
    seen: &CallTally,
    floor: &FiguresFloor,
) -> Vec<String> {
    // Each figure with the least and the most it may be.
    let bounded = [
        (
            "calls answered",
            reported.invocations,
            seen.answered,
            seen.answered + seen.unanswered,
        ),
        (
            "calls answered with an error status",
            reported.errors,
            seen.errors,
            seen.errors + seen.unanswered,
        ),
        (
            "host calls",
            reported.host_calls,
            floor.host_calls,
            u64::MAX,
        ),
        ("refusals", reported.denials, floor.denials, u64::MAX),
        (
            "limits hit",
            reported.limit_hits,
            floor.limit_hits,
            u64::MAX,
        ),
        (
            "log records dropped",
            reported.log_records_dropped,
            floor.log_records_dropped,
            u64::MAX,
        ),
        ("CPU time (ms)", reported.cpu_ms, floor.cpu_ms, u64::MAX),
        (
            "peak resident memory (KiB)",
            reported.peak_rss_kib,
            floor.peak_rss_kib,
            u64::MAX,
        ),
        (
            "time in calls (ms)",
            reported.call_ms,
            floor.call_ms,
            u64::MAX,
        ),
        (
            "time held back by the CPU rate cap (ms)",
            reported.throttled_ms,
            floor.throttled_ms,
            u64::MAX,
        ),
        // A message shown is a host call made: no more than the sandbox counts of those.
        (
            "notifications shown",
            reported.notifications,
            floor.notifications,
            reported.host_calls,
        ),
    ];
    bounded
        .into_iter()
        .filter(|&(_, figure, least, most)| figure < least || figure > most)
        .map(|(name, figure, least, most)| {
            let expected = match (least, most) {
                (l, m) if l == m => format!("{l}"),
                (l, u64::MAX) => format!("at least {l}"),
                (l, m) => format!("{l} to {m}"),
            };
            format!("{name}: the sandbox counts {figure}, not {expected}")
        })
        .collect()
}

/// Unloads the plugin, lingers, and checks no process of it runs on.
fn unload_target(run: &mut Run<'_>, cx: &Cx<'_>) -> Result<(), Stop> {
    let answer = run.session.request(
        Op::Unload {
            plugin: "target".into(),
        },
        cx.unload_deadline,
    );
    run.absorb("unload", &answer)?;
    run.events_at_unload = Some(run.session.events.len());
    // What the plugin still does after its shutdown shows in this time.
    std::thread::sleep(cx.case.linger_after_unload);
    run.check_plugin_gone();
    match answer {
        Answer::Ok(v) => {
            if let Some(t) = v
                .get("termination")
                .and_then(|t| serde_json::from_value::<Termination>(t.clone()).ok())
                && !(t.reason == "exit" && matches!(run.outcome, Some(Outcome::Survived { .. })))
            {
                run.killed(t);
            }
        }
        Answer::Err(e) => terminated_or_error(run, e)?,
        _ => {}
    }
    Ok(())
}

/// A death reported only as an event counts before the audit is compared with it.
fn count_reported_death(run: &mut Run<'_>) {
    let mut ended = None;
    for event in &run.session.events {
        if let crate::protocol::Event::Terminated {
            plugin,
            termination,
        } = event
            && plugin == "target"
            && ended.is_none()
        {
            ended = Some(termination.clone());
        }
    }
    if let Some(t) = ended {
        run.killed(t);
    }
}

/// Unloads the neighbour, looks at the tree a last time, and says `bye`.
fn finish(run: &mut Run<'_>, cx: &Cx<'_>) -> Result<(), Stop> {
    let answer = run.session.request(
        Op::Unload {
            plugin: "neighbour".into(),
        },
        cx.call_deadline,
    );
    run.absorb("neighbour unload", &answer)?;
    run.look_at_tree(&cx.scratch.secret);
    let answer = run.session.request(Op::Bye, Duration::from_secs(5));
    run.absorb("bye", &answer)
}

/// What the audit `records` of the target lack, given what the case saw of it.
fn audit_gaps(
    check: AuditCheck,
    records: &[serde_json::Value],
    outcome: Option<&Outcome>,
) -> Vec<String> {
    let mut gaps = Vec::new();
    if check.terminated {
        let reasons: Vec<&str> = records_of(records, "terminated")
            .filter_map(|r| r.get("reason").and_then(|e| e.as_str()))
            .collect();
        match outcome {
            Some(Outcome::Killed { termination })
                if !reasons.contains(&termination.reason.as_str()) =>
            {
                gaps.push(format!(
                    "the plugin ended ({}) and the audit records {}",
                    termination.reason,
                    if reasons.is_empty() {
                        "no termination".to_owned()
                    } else {
                        format!("only {}", reasons.join(", "))
                    }
                ));
            }
            _ if reasons.is_empty() => {
                gaps.push("the plugin's runner ended and the audit records no termination".into());
            }
            _ => {}
        }
    }
    let limit_hits = records_of(records, "limit_hit").count();
    if limit_hits < check.limit_hits as usize {
        gaps.push(format!(
            "the plugin ran into a limit and the audit records {limit_hits} limit hit(s), \
             not {}",
            check.limit_hits
        ));
    }
    let denials = records_of(records, "denied").count();
    if denials < check.denials as usize {
        gaps.push(format!(
            "{} host calls were refused and the audit records {denials}",
            check.denials
        ));
    }
    if let Some(quarantine) = check.quarantine
        && owes_quarantine(quarantine, outcome)
    {
        gaps.extend(quarantine_gaps(quarantine, records));
    }
    gaps
}

/// Whether a plugin whose case expects `quarantine` was stopped for good, given its
/// `outcome`: always once its restarts ran out; at its first fault only after a kill for
/// an attack (a sandbox that refused the attack instead, and saw the plugin crash, may
/// restart it).
fn owes_quarantine(quarantine: QuarantineCheck, outcome: Option<&Outcome>) -> bool {
    match quarantine {
        QuarantineCheck::RestartsRunOut(_) => true,
        QuarantineCheck::AtOnce => matches!(outcome, Some(Outcome::Killed { termination })
            if options::ATTACK_TERMINATIONS.contains(&termination.reason.as_str())),
    }
}

/// How each `limit_hit` of `records` misstates what the plugin ran into, for the limits
/// the protocol names (the sandbox's own limits are its own): its bound must be the
/// policy's where the policy sets one, and its figure past the bound, by no more than one
/// call can add where that is known. A log record's size is its figure, and may lie below
/// the rate once the burst is spent, so only the bound of a log rate is read.
fn limit_misstatements(
    records: &[serde_json::Value],
    policy: &Policy,
    bounds: &Bounds,
) -> Vec<String> {
    let mut wrong = Vec::new();
    for record in records_of(records, "limit_hit") {
        let limit = record.get("limit").and_then(|l| l.as_str()).unwrap_or("");
        // The policy's bound, and how far past it one call can take the figure (`None`:
        // not read, `Some(None)`: any way past).
        let (policy_bound, past_by) = match limit {
            "host_call_rate" => (
                policy.limits.host_calls_per_second.map(u64::from),
                Some(None),
            ),
            "storage_bytes" => (
                policy.limits.storage_bytes,
                Some(Some(bounds.storage_put_bytes)),
            ),
            "storage_keys" => (policy.limits.storage_keys, Some(Some(1))),
            "log_bytes_per_second" => (policy.limits.log_bytes_per_second.map(u64::from), None),
            "restarts" => (
                policy.restart.map(|r| u64::from(r.max_restarts)),
                Some(Some(1)),
            ),
            _ => continue,
        };
        let figure = |name| record.get(name).and_then(|v| v.as_u64());
        let (Some(value), Some(max)) = (figure("value"), figure("max")) else {
            wrong.push(format!(
                "a limit hit of {limit} records no figure and bound: {record}"
            ));
            continue;
        };
        if let Some(bound) = policy_bound
            && max != bound
        {
            wrong.push(format!(
                "a limit hit of {limit} names {max} as its bound, and the policy's is {bound}"
            ));
        }
        match past_by {
            Some(_) if value <= max => wrong.push(format!(
                "a limit hit of {limit} records {value}, which is not past its bound of {max}"
            )),
            Some(Some(most)) if value > max.saturating_add(most) => wrong.push(format!(
                "a limit hit of {limit} records {value}, further past its bound of {max} than \
                 one call can take it ({most})"
            )),
            _ => {}
        }
    }
    wrong
}

/// The states of a plugin's lifecycle, as the audit's `state` records name them (`unloaded`:
/// before a process of it is loaded).
const LIFECYCLE_WORDS: &[&str] = &[
    "unloaded",
    "loaded",
    "initialized",
    "running",
    "paused",
    "terminated",
    "failed",
];

/// How the audit's `state` records of a plugin, read after its unload, fail to tell its
/// lifecycle, given how the case saw it end (`outcome`): each transition must start where
/// the one before it left the plugin, name states of the lifecycle, and the last must end
/// it: `terminated` when the host ended it (its unload, or its kill by the host's hand),
/// `failed` when a fault did (a crash, a limit, a deadline, an attack). The records may be
/// the newest of many: the first one read may start anywhere. A record from `unloaded` (or
/// from `loaded`, for a sandbox that records no transition into it) starts a new process of
/// the plugin, after a restart.
fn transition_gaps<'a>(records: &'a [serde_json::Value], outcome: Option<&Outcome>) -> Vec<String> {
    let word = |r: &'a serde_json::Value, key: &str| -> &'a str {
        r.get(key).and_then(|w| w.as_str()).unwrap_or_default()
    };
    let transitions: Vec<(&str, &str)> = records_of(records, "state")
        .map(|r| (word(r, "from"), word(r, "to")))
        .collect();
    let mut gaps = Vec::new();
    for &(from, to) in &transitions {
        for w in [from, to] {
            if !LIFECYCLE_WORDS.contains(&w) {
                gaps.push(format!(
                    "a transition names `{w}`, no state of the lifecycle"
                ));
            }
        }
    }
    for pair in transitions.windows(2) {
        let ((_, left_in), (from, to)) = (&pair[0], &pair[1]);
        if from != left_in && !matches!(*from, "unloaded" | "loaded") {
            gaps.push(format!(
                "a transition from {from} to {to} follows one that left the plugin {left_in}: \
                 the transitions between were not recorded"
            ));
        }
    }
    let ended_in: &[&str] = match outcome {
        Some(Outcome::Survived { .. }) => &["terminated"],
        Some(Outcome::Killed { termination }) if termination.reason == "killed_by_host" => {
            &["terminated"]
        }
        Some(Outcome::Killed { termination }) if FAULTS.contains(&termination.reason.as_str()) => {
            &["failed"]
        }
        _ => &["terminated", "failed"],
    };
    match transitions.last() {
        None => gaps.push("the audit records no transition of the plugin's lifecycle".into()),
        Some((_, to)) if !ended_in.contains(to) => gaps.push(format!(
            "the plugin {} and its last recorded transition leaves it {to}, not {}",
            match outcome {
                Some(Outcome::Killed { termination }) => format!("ended ({})", termination.reason),
                _ => "was unloaded".to_owned(),
            },
            ended_in.join(" or ")
        )),
        Some(_) => {}
    }
    gaps
}

/// The ends of a plugin that are faults of its own, not the host's doing (words of
/// [`crate::protocol::TERMINATION_REASONS`]).
const FAULTS: [&str; 7] = [
    "signal",
    "seccomp_violation",
    "cpu_limit",
    "memory_limit",
    "wall_timeout",
    "protocol_violation",
    "exit",
];

/// The audit `records` whose `event` word is `event`.
fn records_of<'a>(
    records: &'a [serde_json::Value],
    event: &'a str,
) -> impl Iterator<Item = &'a serde_json::Value> {
    records
        .iter()
        .filter(move |r| r.get("event").and_then(|e| e.as_str()) == Some(event))
}

/// What the audit `records` lack of a plugin the host stopped for good as `quarantine`
/// says: a record of each restart, the limit it hit when they ran out (and none when they
/// did not), and its quarantine with the restarts made.
fn quarantine_gaps(quarantine: QuarantineCheck, records: &[serde_json::Value]) -> Vec<String> {
    let (made, ran_out) = match quarantine {
        QuarantineCheck::RestartsRunOut(allowed) => (allowed, true),
        QuarantineCheck::AtOnce => (0, false),
    };
    let restarts = records_of(records, "restart").count();
    let mut gaps = Vec::new();
    if restarts != made as usize {
        gaps.push(if ran_out {
            format!(
                "the policy's {made} restart(s) ran out and the audit records {restarts} restart(s)"
            )
        } else {
            format!("the plugin was never restarted and the audit records {restarts} restart(s)")
        });
    }
    let limit_hit = records_of(records, "limit_hit")
        .any(|r| r.get("limit").and_then(|l| l.as_str()) == Some("restarts"));
    match (ran_out, limit_hit) {
        (true, false) => {
            gaps.push("the restarts ran out and the audit records no limit hit of restarts".into())
        }
        (false, true) => gaps.push(
            "the plugin was stopped at its first fault, with its restarts unused, and the audit \
             records a limit hit of restarts"
                .into(),
        ),
        _ => {}
    }
    let quarantined: Vec<Option<u64>> = records_of(records, "quarantined")
        .map(|r| r.get("restarts").and_then(|n| n.as_u64()))
        .collect();
    match quarantined.as_slice() {
        [] => {
            gaps.push("the plugin was stopped for good and the audit records no quarantine".into())
        }
        [Some(n)] if *n == u64::from(made) => {}
        _ => gaps.push(format!(
            "the plugin was stopped for good after {made} restart(s) and the audit's \
             quarantine records name {quarantined:?}"
        )),
    }
    gaps
}

fn terminated_or_error(run: &mut Run<'_>, e: crate::protocol::ErrorBody) -> Result<(), Stop> {
    match (e.kind, e.termination) {
        (ErrorKind::Terminated, Some(t)) => {
            run.killed(t);
            Ok(())
        }
        (ErrorKind::Terminated, None) => {
            run.killed(Termination {
                reason: "other".into(),
                detail: e.message,
            });
            Ok(())
        }
        (ErrorKind::Unsupported, _) => Err(Stop::Abort(
            Verdict::NotApplicable,
            format!(
                "the adapter does not support an operation the case needs: {}",
                e.message
            ),
        )),
        (kind, _) => Err(Stop::Abort(
            Verdict::Error,
            format!("adapter answered {kind:?}: {}", e.message),
        )),
    }
}

fn path_text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The `key=value` lines a hostile plugin's `attack` method reads: the bench's
/// [`Bench::attack_input`], each fact of this case.
fn attack_input(cx: &Cx<'_>, adapter_pid: i32) -> Vec<u8> {
    let mut text = String::new();
    for (key, fact) in &cx.bench.attack_input {
        let value = match fact {
            AttackFact::SecretFile => cx.scratch.secret.display().to_string(),
            AttackFact::SecretDir => cx
                .scratch
                .secret
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            AttackFact::ForbiddenDir => cx.scratch.forbidden.display().to_string(),
            AttackFact::TcpPort => cx.listeners.tcp_port.to_string(),
            AttackFact::UdpPort => cx.listeners.udp_port.to_string(),
            AttackFact::UnixName => cx.listeners.unix_name.clone(),
            AttackFact::AdapterPid => adapter_pid.to_string(),
            AttackFact::CanaryEnv => CANARY_ENV.to_owned(),
            AttackFact::HostCallRate => cx
                .case
                .policy
                .limits
                .host_calls_per_second
                .unwrap_or(0)
                .to_string(),
            AttackFact::StorageQuota => {
                cx.case.policy.limits.storage_bytes.unwrap_or(0).to_string()
            }
            AttackFact::StorageKeys => cx.case.policy.limits.storage_keys.unwrap_or(0).to_string(),
        };
        text.push_str(&format!("{key}={value}\n"));
    }
    text.into_bytes()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{
        CallTally, FiguresFloor, QuarantineCheck, figures_misstatements, limit_misstatements,
        quarantine_gaps, runs_plugin, transition_gaps,
    };
    use crate::model::Outcome;
    use crate::protocol::{Figures, PolicyRestart};

    use super::judge::suite_bounds as bounds;

    #[test]
    fn figures_count_the_calls_seen_and_at_least_what_the_plugin_caused() {
        let seen = CallTally {
            answered: 3,
            errors: 1,
            unanswered: 0,
        };
        let floor = FiguresFloor {
            host_calls: 40,
            denials: 15,
            limit_hits: 1,
            log_records_dropped: 1,
            cpu_ms: 100,
            peak_rss_kib: 1 << 17,
            call_ms: 1000,
            throttled_ms: 100,
            notifications: 2,
            ..FiguresFloor::default()
        };
        let true_figures = Figures {
            invocations: 3,
            errors: 1,
            host_calls: 41,
            denials: 15,
            limit_hits: 2,
            log_records_dropped: 24,
            cpu_ms: 240,
            peak_rss_kib: 500 << 10,
            call_ms: 1210,
            throttled_ms: 900,
            notifications: 2,
        };
        assert_eq!(
            figures_misstatements(&true_figures, &seen, &floor),
            Vec::<String>::new()
        );
        /// A change of the true figures, and how the misstatement it makes begins.
        type Misstatement = (fn(&mut Figures), &'static str);
        let wrong: [Misstatement; 14] = [
            (
                |f| f.invocations = 2,
                "calls answered: the sandbox counts 2, not 3",
            ),
            (
                |f| f.invocations = 4,
                "calls answered: the sandbox counts 4, not 3",
            ),
            (|f| f.errors = 0, "calls answered with an error status"),
            (|f| f.errors = 2, "calls answered with an error status"),
            (
                |f| f.host_calls = 39,
                "host calls: the sandbox counts 39, not at least 40",
            ),
            (|f| f.denials = 0, "refusals"),
            (|f| f.limit_hits = 0, "limits hit"),
            (|f| f.log_records_dropped = 0, "log records dropped"),
            (
                |f| f.cpu_ms = 0,
                "CPU time (ms): the sandbox counts 0, not at least 100",
            ),
            (|f| f.peak_rss_kib = 7808, "peak resident memory"),
            (|f| f.call_ms = 12, "time in calls"),
            (|f| f.throttled_ms = 0, "time held back by the CPU rate cap"),
            (
                |f| f.notifications = 1,
                "notifications shown: the sandbox counts 1, not 2 to 41",
            ),
            // More messages shown than host calls made.
            (
                |f| f.notifications = 42,
                "notifications shown: the sandbox counts 42, not 2 to 41",
            ),
        ];
        for (change, what) in wrong {
            let mut figures = true_figures;
            change(&mut figures);
            let found = figures_misstatements(&figures, &seen, &floor);
            assert_eq!(found.len(), 1, "{what}: {found:?}");
            assert!(found[0].starts_with(what), "{what}: {found:?}");
        }
        // A call that got no answer in time may have been finished since: counted or not.
        let late = CallTally {
            unanswered: 1,
            ..seen
        };
        for invocations in [3, 4] {
            let figures = Figures {
                invocations,
                ..true_figures
            };
            assert!(figures_misstatements(&figures, &late, &floor).is_empty());
        }
        let figures = Figures {
            invocations: 5,
            ..true_figures
        };
        assert_eq!(
            figures_misstatements(&figures, &late, &floor),
            vec!["calls answered: the sandbox counts 5, not 3 to 4".to_owned()]
        );
    }

    #[test]
    fn a_limit_hit_names_the_policys_bound_and_a_figure_just_past_it() {
        let mut policy = crate::selftest::default_policy();
        policy.limits.host_calls_per_second = Some(500);
        policy.limits.storage_bytes = Some(786_432);
        policy.limits.log_bytes_per_second = Some(16_384);
        policy.restart = Some(PolicyRestart {
            max_restarts: 2,
            window_s: 60,
            backoff_ms: 100,
        });
        let b = bounds();
        let hit = |limit: &str, value: u64, max: u64| json!({"event": "limit_hit", "limit": limit, "action": "refused", "value": value, "max": max});
        let right = [
            hit("host_call_rate", 501, 500),
            hit("host_call_rate", 5000, 500),
            hit("storage_bytes", 786_432 + b.storage_put_bytes, 786_432),
            hit("storage_keys", 4097, 4096),
            hit("log_bytes_per_second", 100, 16_384),
            hit("restarts", 3, 2),
            // The sandbox's own limits are its own.
            hit("cpu_rate", 0, 20_000),
            json!({"event": "denied", "service": "storage_put"}),
        ];
        assert!(
            limit_misstatements(&right, &policy, &b).is_empty(),
            "{:?}",
            limit_misstatements(&right, &policy, &b)
        );
        for (wrong, why) in [
            // The bound itself, or short of it, as the figure (a counter read before it
            // was added to).
            (hit("host_call_rate", 500, 500), "not past"),
            (hit("storage_bytes", 700_000, 786_432), "not past"),
            (hit("storage_keys", 4096, 4096), "not past"),
            (hit("restarts", 2, 2), "not past"),
            // A figure no single call reaches (held bytes multiplied, not added).
            (
                hit("storage_bytes", 786_433 + b.storage_put_bytes, 786_432),
                "further past",
            ),
            (hit("restarts", 4, 2), "further past"),
            // A bound that is not the policy's (the sandbox's default).
            (hit("host_call_rate", 2001, 2000), "the policy's is 500"),
            (
                hit("log_bytes_per_second", 100, 65_536),
                "the policy's is 16384",
            ),
            (
                hit("storage_bytes", 1_048_577, 1_048_576),
                "the policy's is 786432",
            ),
            (
                json!({"event": "limit_hit", "limit": "storage_keys"}),
                "no figure",
            ),
        ] {
            let found = limit_misstatements(std::slice::from_ref(&wrong), &policy, &b);
            assert_eq!(found.len(), 1, "{wrong}: {found:?}");
            assert!(found[0].contains(why), "{wrong}: {found:?}");
        }
    }

    #[test]
    fn restarts_that_run_out_are_recorded_each_and_the_quarantine_names_them() {
        let ran_out = QuarantineCheck::RestartsRunOut(2);
        let whole = [
            json!({"event": "restart", "attempt": 1}),
            json!({"event": "restart", "attempt": 2}),
            json!({"event": "limit_hit", "limit": "restarts", "value": 3, "max": 2}),
            json!({"event": "quarantined", "restarts": 2}),
        ];
        assert!(quarantine_gaps(ran_out, &whole).is_empty());
        // Each record missing, or naming the wrong count, is a gap of its own.
        for (i, why) in [(0, "restart"), (2, "limit hit"), (3, "no quarantine")] {
            let mut less = whole.to_vec();
            less.remove(i);
            let gaps = quarantine_gaps(ran_out, &less);
            assert_eq!(gaps.len(), 1, "{gaps:?}");
            assert!(gaps[0].contains(why), "{gaps:?}");
        }
        let mut miscounted = whole.to_vec();
        miscounted[3] = json!({"event": "quarantined", "restarts": 3});
        assert!(quarantine_gaps(ran_out, &miscounted)[0].contains("quarantine records name"));
        let mut other_limit = whole.to_vec();
        other_limit[2] = json!({"event": "limit_hit", "limit": "storage"});
        assert!(quarantine_gaps(ran_out, &other_limit)[0].contains("no limit hit of restarts"));
    }

    /// A lifecycle told transition by transition passes; one with a transition left out,
    /// a word of no state, or no end, does not.
    #[test]
    fn the_audit_tells_the_lifecycle_transition_by_transition() {
        let state = |from: &str, to: &str| json!({"event": "state", "from": from, "to": to});
        let told = [
            state("loaded", "initialized"),
            state("initialized", "running"),
            json!({"event": "denied", "service": "storage_put"}),
            state("running", "paused"),
            state("paused", "running"),
            state("running", "failed"),
            // A restart: a new process, loaded again.
            state("unloaded", "loaded"),
            state("loaded", "initialized"),
            state("initialized", "running"),
            state("running", "terminated"),
        ];
        let unloaded = Outcome::Survived { status: Some(0) };
        let ended = |reason: &str| Outcome::Killed {
            termination: crate::protocol::Termination {
                reason: reason.into(),
                detail: String::new(),
            },
        };
        let gaps = |records: &[serde_json::Value], outcome: &Outcome| {
            transition_gaps(records, Some(outcome))
        };
        assert_eq!(gaps(&told, &unloaded), Vec::<String>::new());
        assert_eq!(gaps(&told, &ended("killed_by_host")), Vec::<String>::new());
        // The newest records of many: the first read may start anywhere.
        assert_eq!(gaps(&told[3..], &unloaded), Vec::<String>::new());
        let mut paused_unrecorded = told.to_vec();
        paused_unrecorded.remove(3);
        assert!(gaps(&paused_unrecorded, &unloaded)[0].contains("were not recorded"));
        let no_end = &told[..9];
        assert!(gaps(no_end, &unloaded)[0].contains("leaves it running"));
        assert!(gaps(&told[2..3], &unloaded)[0].contains("no transition"));
        let mut unknown = told.to_vec();
        unknown.push(state("terminated", "zombie"));
        let found = gaps(&unknown, &unloaded);
        assert!(found.iter().any(|g| g.contains("`zombie`")), "{found:?}");
        // A fault ends it failed, the host's hand terminated: not the other way round.
        let crashed = &told[..6];
        assert_eq!(gaps(crashed, &ended("signal")), Vec::<String>::new());
        assert!(gaps(crashed, &unloaded)[0].contains("not terminated"));
        assert!(gaps(&told, &ended("seccomp_violation"))[0].contains("not failed"));
        // An end the case did not see: either will do.
        assert_eq!(transition_gaps(crashed, None), Vec::<String>::new());
    }

    /// The process an inventory names runs the plugin when it maps it, or is below the
    /// host and above one that does; the host itself, init and no process do not.
    #[test]
    fn an_inventorys_process_runs_the_plugin_or_is_the_sandboxs_above_it() {
        let host = std::process::id() as i32;
        let mut runner = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & wait"])
            .spawn()
            .expect("a shell runs");
        let runner_pid = runner.id() as i32;
        // The plugin's process: the shell's child, once it is there.
        let mut plugin = None;
        for _ in 0..200 {
            plugin = crate::procfs::descendants(runner_pid)
                .first()
                .map(|(pid, ..)| *pid);
            if plugin.is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let plugin = plugin.expect("the shell started its child");
        let running = [plugin];
        let named = |pid| runs_plugin(pid, &running, host);
        let found = (
            named(plugin),
            named(runner_pid),
            named(host),
            named(1),
            named(0),
        );
        let _ = std::process::Command::new("kill")
            .arg(plugin.to_string())
            .status();
        let _ = runner.wait();
        assert_eq!(found, (true, true, false, false, false));
    }

    #[test]
    fn a_quarantine_at_the_first_fault_records_no_restart_and_no_limit_run_into() {
        let at_once = QuarantineCheck::AtOnce;
        let whole = [
            json!({"event": "terminated", "reason": "seccomp_violation"}),
            json!({"event": "quarantined", "restarts": 0}),
        ];
        assert!(quarantine_gaps(at_once, &whole).is_empty());
        // A limit of restarts said to be run into when none was used is a gap, and so is
        // a restart, or a quarantine that names one.
        let mut limit = whole.to_vec();
        limit.insert(
            1,
            json!({"event": "limit_hit", "limit": "restarts", "value": 1, "max": 2}),
        );
        let gaps = quarantine_gaps(at_once, &limit);
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        assert!(gaps[0].contains("limit hit of restarts"), "{gaps:?}");
        let mut restarted = whole.to_vec();
        restarted.insert(1, json!({"event": "restart", "attempt": 1}));
        assert!(quarantine_gaps(at_once, &restarted)[0].contains("never restarted"));
        let mut miscounted = whole.to_vec();
        miscounted[1] = json!({"event": "quarantined", "restarts": 1});
        assert!(quarantine_gaps(at_once, &miscounted)[0].contains("quarantine records name"));
        assert!(quarantine_gaps(at_once, &whole[..1])[0].contains("no quarantine"));
    }
}
