//! One case: one plugin against one sandbox, observed from outside.
//!
//! The procedure is the same for every case, so that a verdict depends on what happened
//! and not on how a case was written: prepare canaries, listeners and a scratch area;
//! start the adapter under the case guard; load a benign neighbour, then the plugin under
//! test; call it; let it settle; check that it, the neighbour and the host still answer;
//! unload; and then look, with the harness's own eyes, for every kind of harm.

mod judge;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use std::collections::BTreeSet;

use judge::harm;
pub use judge::{Bounds, Observations, describe_outcome, gained_line, judge, unjudged};

use crate::handed::{Handed, HostMarks, PluginImage, census, plugin_processes};
use crate::model::{CaseResult, Harm, HarmKind, Measured, Outcome, Verdict};
use crate::observe::{CANARY_ENV, Canaries, Listeners, Scratch, clean_tmp_attack_files, token};
use crate::package::PackageForm;
use crate::procfs::{TreeFacts, tree_cpu_ms, tree_facts, tree_peak_rss_kib, tree_pids};
use crate::protocol::{
    ErrorKind, Feature, HelloResult, InvokeResult, Op, PROTOCOL_VERSION, Policy, Termination,
    encode_bytes,
};
use crate::session::{Answer, Launch, Session};

/// A sandbox under test: how to start its adapter.
#[derive(Debug, Clone)]
pub struct Sut {
    /// Name used on the command line and in reports.
    pub name: String,
    /// `candidate`, `control` or `mutant`.
    pub role: String,
    /// The adapter's argv.
    pub command: Vec<String>,
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

/// The reaction the reference sandbox must show, from the plugin's metadata.
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
    /// Pause the plugin during the settle time, then resume it.
    pub pause_while_settling: bool,
    /// Idle time after the plugin's unload is answered, for what it does after its
    /// shutdown (its log records arriving then are harm: `ran_after_unload`).
    pub linger_after_unload: Duration,
    /// Features the adapter must declare for the case to apply.
    pub needs: Vec<Feature>,
    /// Load the plugin as a signed package made this way (`load_package`), not by path.
    pub package: Option<PackageForm>,
    /// With [`PackageForm::SwappedAfterLoad`]: the binary written over the package's
    /// `plugin.so` once the load is answered.
    pub swap_in: Option<PathBuf>,
    /// Capabilities revoked while the attack call runs.
    pub revoke_during_call: Option<RevokeDuringCall>,
    /// What the sandbox's audit log must hold for the plugin at the end (`audit`).
    pub audit: Option<AuditCheck>,
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
    /// Before the attack call, the attack runs once and the plugin is unloaded and loaded
    /// again under the same handle: what it held (storage, quotas) must carry over, not
    /// start afresh.
    pub reload: bool,
    /// The reference expectation.
    pub expected: Option<Expected>,
    /// The attack cannot do harm on this system under any sandbox (what it needs is
    /// missing here): why. A mutant is then held to the reference's reaction, the only
    /// evidence of its missing layer this system can give.
    pub inert: Option<String>,
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
        target_loading: false,
        corrupted_after_load: false,
        events_at_unload: None,
        events_at_key_revocation: None,
        tree: TreeFacts::default(),
        notes: Vec::new(),
        peak_rss_before_target_load_kib: None,
        plugin_file: case.plugin.clone(),
        plugin_image: PluginImage::File,
        host_canaries: (canaries.env.clone(), canaries.argv.clone()),
        handed: BTreeSet::new(),
        before_target: Vec::new(),
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
        peak_rss_before_target_load_kib: run.peak_rss_before_target_load_kib,
        logs_after_unload: run
            .events_at_unload
            .map_or(0, |at| run.target_logs_since(at)),
        logs_after_key_revocation: run
            .events_at_key_revocation
            .map_or(0, |at| run.target_logs_since(at)),
        logs_passed_on: run.target_logs_since(0),
        events_full: run.session.events.len() >= crate::session::MAX_EVENTS,
        corrupted_after_load: run.corrupted_after_load,
        malformed: run.malformed,
        host_gone: run.host_gone,
        outcome: run.outcome.take(),
        during: std::mem::take(&mut run.harm),
        ..Observations::default()
    };
    let mut notes = std::mem::take(&mut run.notes);
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
    obs.gained = gained_line(&seen);
    obs.guard = finished.guard;
    let mut result = judge(case, sut, &obs, &bench.bounds);
    result.notes = session.limit_warnings.clone();
    result.notes.append(&mut notes);
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
    /// Processes that mapped the plugin's file before the plugin was loaded: the
    /// neighbour's, when the case's plugin is the neighbour's file too.
    before_target: Vec<i32>,
}

impl Run<'_> {
    /// Log records of the target among the events from the `at`-th on.
    fn target_logs_since(&self, at: usize) -> usize {
        let events = &self.session.events;
        events[at.min(events.len())..]
            .iter()
            .filter(
                |e| matches!(e, crate::protocol::Event::Log { plugin, .. } if plugin == "target"),
            )
            .count()
    }

    /// Records harm when the case's processes used more CPU since `started` (when they
    /// had used `cpu_before` ms) than `cap` percent of one CPU allows. The slack (half the
    /// share again, and 100 ms for the sandbox's own work) keeps a capped plugin clear of
    /// the line; an uncapped spinner is far beyond it, however busy the machine is, since
    /// its case runs alone.
    fn check_cpu_rate(&mut self, cap: u32, cpu_before: u64, started: Instant) {
        let used = tree_cpu_ms(self.session.adapter_pid).saturating_sub(cpu_before);
        let wall = started.elapsed().as_millis() as u64;
        let allowed = wall * u64::from(cap) / 100 * 3 / 2 + 100;
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
        for pid in pids {
            self.handed.extend(census(pid, &marks, &self.plugin_file));
        }
    }

    /// Looks at the process tree now and keeps the worst of each figure.
    fn look_at_tree(&mut self, secret: &Path) {
        let adapter = self.session.adapter_pid;
        let now = tree_facts(adapter, secret);
        let t = &mut self.tree;
        t.zombies = t.zombies.max(now.zombies);
        t.max_fds = t.max_fds.max(now.max_fds);
        t.max_threads = t.max_threads.max(now.max_threads);
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
                HarmKind::ResourceExhausted,
                format!(
                    "the host answered a call with {} bytes of output (policy {limit})",
                    bytes.len()
                ),
            ));
        }
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
/// cannot go on ([`Stop::Abort`]).
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
    let neighbour_threads_before = load_neighbour(run, &cx)?;
    let built = build_package(&cx)?;
    let loaded = match load_target(run, &cx, built.as_ref())? {
        Some(load) => {
            let input = reload_if_asked(run, &cx, load)?;
            call_target(run, &cx, &input)?;
            revoke_signer_key(run, &cx, built.as_ref())?;
            settle(run, &cx)?;
            check_liveness(run, &cx)?;
            true
        }
        None => false,
    };
    check_neighbour(run, &cx, neighbour_threads_before)?;
    still_answers(run)?;
    if loaded {
        unload_target(run, &cx)?;
    }
    count_reported_death(run);
    check_audit(run, &cx)?;
    finish(run, &cx)
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

/// Loads the benign neighbour and has it answer a token of its own; with
/// `neighbour_threads`, asks it to start a thread (its answer is returned).
fn load_neighbour(run: &mut Run<'_>, cx: &Cx<'_>) -> Result<Option<Answer>, Stop> {
    let neighbour_policy = Policy {
        grants: Vec::new(),
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
    // Whether the neighbour can start a thread before the plugin is there: a sandbox that
    // gives its plugins no threads at all has none for one plugin to starve another of.
    let neighbour_threads_before = if cx.case.neighbour_threads {
        let answer = neighbour_thread_echo(run, cx.bench, cx.call_deadline);
        run.absorb("neighbour thread call", &answer)?;
        Some(answer)
    } else {
        None
    };
    Ok(neighbour_threads_before)
}

/// The case's signed package, when it loads one.
fn build_package(cx: &Cx<'_>) -> Result<Option<crate::package::BuiltPackage>, Stop> {
    // Outside the adapter's working directory: the package is the harness's.
    let built = cx
        .case
        .package
        .map(|form| crate::package::build(form, &cx.case.plugin, &cx.scratch.root.join("signing")))
        .transpose()
        .map_err(|e| {
            (
                Verdict::Error,
                format!("harness: building the package: {e}"),
            )
        })?;
    Ok(built)
}

/// Loads the plugin (by path, or its package); the load request when it loaded.
fn load_target(
    run: &mut Run<'_>,
    cx: &Cx<'_>,
    built: Option<&crate::package::BuiltPackage>,
) -> Result<Option<Op>, Stop> {
    let mut target_policy = cx.case.policy.clone();
    if cx.case.allowlist_listener_prefix {
        target_policy.net_allowlist = vec![format!("127.0.0.1:{}", cx.listeners.tcp_port / 10)];
    }
    let target_path = path_text(&cx.case.plugin);
    let load = match &built {
        None => Op::Load {
            plugin: "target".into(),
            path: target_path,
            policy: target_policy,
            config_b64: String::new(),
        },
        Some(built) => Op::LoadPackage {
            plugin: "target".into(),
            package: path_text(&built.dir),
            trust: path_text(&built.trust),
            policy: cx.case.policy.clone(),
            config_b64: String::new(),
        },
    };
    if let Some(built) = &built {
        run.plugin_file = built.dir.join(sbx_package::PLUGIN_FILE);
        run.plugin_image = PluginImage::FileOrMemfd;
    }
    run.before_target = run.plugin_pids();
    if cx.case.package.is_some() {
        run.peak_rss_before_target_load_kib = Some(tree_peak_rss_kib(run.session.adapter_pid));
    }
    run.target_loading = true;
    let answer = run.session.request(load.clone(), cx.load_deadline);
    run.absorb("load", &answer)?;
    if let (Some(PackageForm::SwappedAfterLoad), Some(swap_in), Some(built), Answer::Ok(_)) =
        (cx.case.package, &cx.case.swap_in, &built, &answer)
    {
        // Verified and loaded: from now on only the verified bytes may ever run.
        std::fs::copy(swap_in, built.dir.join(sbx_package::PLUGIN_FILE))
            .map_err(|e| (Verdict::Error, format!("harness: swapping the binary: {e}")))?;
    }
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

/// The census of what the plugin was handed; with `reload`, the attack once, an unload and
/// the same load again. Returns the call's input.
fn reload_if_asked(run: &mut Run<'_>, cx: &Cx<'_>, load: Op) -> Result<Vec<u8>, Stop> {
    run.census_of_the_handed();
    let input = if cx.case.hostile {
        attack_input(
            cx.scratch,
            cx.listeners,
            run.session.adapter_pid,
            &cx.case.policy,
        )
    } else {
        cx.case.input.clone()
    };
    if cx.case.reload {
        let first = run.session.request(
            Op::Invoke {
                plugin: "target".into(),
                method: cx.case.method.clone(),
                input_b64: encode_bytes(&input),
            },
            cx.call_deadline,
        );
        run.absorb("first invoke", &first)?;
        run.check_output_bound(&first, cx.case.policy.limits.output_bytes);
        let unload = run.session.request(
            Op::Unload {
                plugin: "target".into(),
            },
            cx.unload_deadline,
        );
        run.absorb("unload before the reload", &unload)?;
        let again = run.session.request(load, cx.load_deadline);
        run.absorb("reload", &again)?;
        if let Answer::Err(e) = again {
            return Err(Stop::Abort(
                Verdict::Error,
                format!("adapter: the reload answered {:?}: {}", e.kind, e.message),
            ));
        }
        run.census_of_the_handed();
    }
    Ok(input)
}

/// The call, with the revocations due during it and the CPU rate it ran at; its outcome.
fn call_target(run: &mut Run<'_>, cx: &Cx<'_>, input: &[u8]) -> Result<(), Stop> {
    let call = Op::Invoke {
        plugin: "target".into(),
        method: cx.case.method.clone(),
        input_b64: encode_bytes(input),
    };
    // Under a CPU rate cap, what the call costs is measured here, from /proc.
    let rate_cap = cx.case.policy.limits.cpu_percent;
    let before_call = rate_cap.map(|_| (tree_cpu_ms(run.session.adapter_pid), Instant::now()));
    let (answer, revoked) = match &cx.case.revoke_during_call {
        None => (run.session.request(call, cx.call_deadline), Vec::new()),
        Some(r) => {
            let revokes = r
                .capabilities
                .iter()
                .map(|c| Op::Revoke {
                    plugin: "target".into(),
                    capability: c.clone(),
                })
                .collect();
            run.session
                .request_overlapping(call, r.after, revokes, cx.call_deadline)
        }
    };
    if let (Some(cap), Some((cpu_before, started))) = (rate_cap, before_call) {
        run.check_cpu_rate(cap, cpu_before, started);
    }
    run.absorb("invoke", &answer)?;
    run.check_foreign_output(&answer, &cx.canaries.neighbour);
    run.check_output_bound(&answer, cx.case.policy.limits.output_bytes);
    for a in &revoked {
        run.absorb("revoke", a)?;
        if let Answer::Err(e) = a {
            return Err(Stop::Abort(
                Verdict::Error,
                format!("adapter: revoke answered {:?}: {}", e.kind, e.message),
            ));
        }
    }
    match answer {
        Answer::Ok(v) => {
            let r: Option<InvokeResult> = serde_json::from_value(v).ok();
            run.outcome = Some(Outcome::Survived {
                status: r.map(|r| r.status),
            });
        }
        Answer::Err(e) => terminated_or_error(run, e)?,
        _ => {}
    }
    Ok(())
}

/// For a `key_revoked_while_running` package: its signer's key revoked while it runs, and
/// the same package loaded again.
fn revoke_signer_key(
    run: &mut Run<'_>,
    cx: &Cx<'_>,
    built: Option<&crate::package::BuiltPackage>,
) -> Result<(), Stop> {
    if let (Some(PackageForm::KeyRevokedWhileRunning), Some(built)) = (cx.case.package, &built)
        && matches!(run.outcome, Some(Outcome::Survived { .. }))
    {
        // The plugin runs (its call answered, its own threads going on): its signer's
        // key is revoked now, and from the answer on it must not run any more. The id
        // is sent in capitals: hex names the same key in either case, and a sandbox
        // comparing text as written stops nothing.
        let a = run.session.request(
            Op::RevokeKey {
                key: built.publisher.to_ascii_uppercase(),
            },
            cx.call_deadline,
        );
        run.absorb("revoke_key", &a)?;
        if let Answer::Err(e) = a {
            return Err(Stop::Abort(
                Verdict::Error,
                format!("adapter: revoke_key answered {:?}: {}", e.kind, e.message),
            ));
        }
        run.events_at_key_revocation = Some(run.session.events.len());
        // The same package again, with the same trust store (which still lists the
        // key): the sandbox must remember that the key is revoked.
        let again = run.session.request(
            Op::LoadPackage {
                plugin: "target-again".into(),
                package: path_text(&built.dir),
                trust: path_text(&built.trust),
                policy: cx.case.policy.clone(),
                config_b64: String::new(),
            },
            cx.load_deadline,
        );
        run.absorb("load_package after revoke_key", &again)?;
        match &again {
            Answer::Ok(_) => {
                run.harm.push(harm(
                    HarmKind::RanAfterRevocation,
                    "a package signed by the revoked key was loaded again".into(),
                ));
                let a = run.session.request(
                    Op::Unload {
                        plugin: "target-again".into(),
                    },
                    cx.unload_deadline,
                );
                run.absorb("unload", &a)?;
            }
            Answer::Err(e) if e.kind == ErrorKind::Refused => {}
            Answer::Err(e) if e.kind == ErrorKind::Terminated => run.harm.push(harm(
                HarmKind::RanAfterRevocation,
                format!(
                    "a package signed by the revoked key was started again (and ended: {})",
                    e.message
                ),
            )),
            Answer::Err(e) => {
                return Err(Stop::Abort(
                    Verdict::Error,
                    format!(
                        "adapter: load_package after revoke_key answered {:?}: {}",
                        e.kind, e.message
                    ),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The settle time, paused through it with `pause`.
fn settle(run: &mut Run<'_>, cx: &Cx<'_>) -> Result<(), Stop> {
    if cx.case.pause_while_settling && matches!(run.outcome, Some(Outcome::Survived { .. })) {
        let a = run.session.request(
            Op::Pause {
                plugin: "target".into(),
            },
            cx.call_deadline,
        );
        run.absorb("pause", &a)?;
    }
    std::thread::sleep(cx.case.settle);
    if cx.case.pause_while_settling && matches!(run.outcome, Some(Outcome::Survived { .. })) {
        let a = run.session.request(
            Op::Resume {
                plugin: "target".into(),
            },
            cx.call_deadline,
        );
        run.absorb("resume", &a)?;
        if let Answer::Err(e) = a {
            terminated_or_error(run, e)?;
        }
        // What was due while the plugin was stopped happens now: give it the same time.
        std::thread::sleep(cx.case.settle);
    }
    Ok(())
}

/// The tree while the plugin still runs, and a call that any answer proves it still serves.
fn check_liveness(run: &mut Run<'_>, cx: &Cx<'_>) -> Result<(), Stop> {
    // While the plugin still runs: its threads, descriptors and children.
    run.look_at_tree(&cx.scratch.secret);
    if matches!(run.outcome, Some(Outcome::Survived { .. })) {
        // Liveness: any answer, even "unknown method", proves the plugin still serves.
        let answer = run.session.request(
            Op::Invoke {
                plugin: "target".into(),
                method: "sbx-conformance-liveness".into(),
                input_b64: String::new(),
            },
            cx.call_deadline,
        );
        run.absorb("liveness call", &answer)?;
        run.check_foreign_output(&answer, &cx.canaries.neighbour);
        run.check_output_bound(&answer, cx.case.policy.limits.output_bytes);
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

/// The neighbour is still served, and can still start a thread if it could before.
fn check_neighbour(
    run: &mut Run<'_>,
    cx: &Cx<'_>,
    neighbour_threads_before: Option<Answer>,
) -> Result<(), Stop> {
    // The neighbour must still be served, whatever happened to the plugin.
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
    match neighbour_threads_before {
        Some(before) if echoed(&before, NEIGHBOUR_THREAD_PROBE) => {
            let answer = neighbour_thread_echo(run, cx.bench, cx.call_deadline);
            run.absorb("neighbour thread call", &answer)?;
            if echoed(&answer, NEIGHBOUR_THREAD_PROBE) {
                run.notes
                    .push("the neighbour started a thread while the plugin ran".into());
            } else {
                run.harm.push(harm(
                    HarmKind::NeighbourNotServed,
                    format!(
                        "the neighbour started a thread before the plugin was loaded, not while \
                         it ran: thread_echo answered {answer:?}"
                    ),
                ));
            }
        }
        Some(before) => run.notes.push(format!(
            "the neighbour could not start a thread even before the plugin was loaded \
             (thread_echo answered {before:?}): no thread for the plugin to starve it of"
        )),
        None => {}
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

/// With an audit check, the sandbox's records of the plugin against what the case saw.
fn check_audit(run: &mut Run<'_>, cx: &Cx<'_>) -> Result<(), Stop> {
    if let Some(check) = cx.case.audit {
        let answer = run.session.request(
            Op::Audit {
                plugin: "target".into(),
            },
            cx.call_deadline,
        );
        run.absorb("audit", &answer)?;
        let records = match answer {
            Answer::Ok(v) => v
                .get("records")
                .and_then(|r| r.as_array())
                .cloned()
                .unwrap_or_default(),
            Answer::Err(e) => {
                return Err(Stop::Abort(
                    Verdict::Error,
                    format!("adapter: audit answered {:?}: {}", e.kind, e.message),
                ));
            }
            _ => Vec::new(),
        };
        let gaps = audit_gaps(check, &records, run.outcome.as_ref());
        if !gaps.is_empty() {
            run.harm.push(harm(HarmKind::AuditMissing, gaps.join("; ")));
        }
    }
    Ok(())
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
    fn of<'a>(
        records: &'a [serde_json::Value],
        event: &'a str,
    ) -> impl Iterator<Item = &'a serde_json::Value> {
        records
            .iter()
            .filter(move |r| r.get("event").and_then(|e| e.as_str()) == Some(event))
    }
    let mut gaps = Vec::new();
    if check.terminated {
        let reasons: Vec<&str> = of(records, "terminated")
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
    let limit_hits = of(records, "limit_hit").count();
    if limit_hits < check.limit_hits as usize {
        gaps.push(format!(
            "the plugin ran into a limit and the audit records {limit_hits} limit hit(s), \
             not {}",
            check.limit_hits
        ));
    }
    let denials = of(records, "denied").count();
    if denials < check.denials as usize {
        gaps.push(format!(
            "{} host calls were refused and the audit records {denials}",
            check.denials
        ));
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

/// The `key=value` lines a hostile plugin's `attack` method reads (see `attack.h`).
fn attack_input(
    scratch: &Scratch,
    listeners: &Listeners,
    adapter_pid: i32,
    policy: &Policy,
) -> Vec<u8> {
    format!(
        "secret_path={}\nsecret_dir={}\nforbidden_dir={}\ntcp_port={}\nudp_port={}\nunix_name={}\nhost_pid={}\ntoken_env={}\nstorage_bytes={}\n",
        scratch.secret.display(),
        scratch.secret.parent().map(|p| p.display().to_string()).unwrap_or_default(),
        scratch.forbidden.display(),
        listeners.tcp_port,
        listeners.udp_port,
        listeners.unix_name,
        adapter_pid,
        CANARY_ENV,
        policy.limits.storage_bytes.unwrap_or(0),
    )
    .into_bytes()
}
