//! The options a case may carry (`conformance/cases.toml`), each its own type: what it adds
//! to the script of [`super::drive`], at the steps it names.
//!
//! The script calls every hook of every option the case has, in [`CaseOptions::for_case`]'s
//! order; a hook an option does not need is the trait's default, which does nothing. A new
//! option is one type here and one line in `for_case`.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use super::judge::PluginProcess;
use super::{
    Cx, NEIGHBOUR_THREAD_PROBE, Run, Stop, echoed, harm, neighbour_thread_echo, path_text,
    terminated_or_error,
};
use crate::model::{HarmKind, Outcome, Verdict};
use crate::package::{BuiltPackage, PackageForm};
use crate::protocol::{ErrorKind, Op, PolicyRestart};
use crate::session::Answer;

/// The target as loaded: its load request (sent again by a reload) and the call's input.
pub(super) struct Target<'t> {
    pub load: &'t Op,
    pub input: &'t [u8],
}

/// A case option's hooks, in the order the script reaches them.
pub(super) trait CaseOption {
    /// After the neighbour answered its first call, before the target's load is sent.
    fn before_load(&mut self, _run: &mut Run<'_>, _cx: &Cx<'_>) -> Result<(), Stop> {
        Ok(())
    }

    /// The target's load request, reshaped.
    fn load_request(&self, _cx: &Cx<'_>, load: Op) -> Op {
        load
    }

    /// Once the load answered (whatever it answered).
    fn after_load(
        &mut self,
        _run: &mut Run<'_>,
        _cx: &Cx<'_>,
        _answer: &Answer,
    ) -> Result<(), Stop> {
        Ok(())
    }

    /// The target loaded and its census taken, before the call.
    fn before_call(
        &mut self,
        _run: &mut Run<'_>,
        _cx: &Cx<'_>,
        _target: &Target<'_>,
    ) -> Result<(), Stop> {
        Ok(())
    }

    /// Requests sent while the call is pending, each with the wait before it (from the
    /// request before it, the call first).
    fn during_call(&self) -> Vec<(Duration, Op)> {
        Vec::new()
    }

    /// Just before the call is sent.
    fn call_sent(&mut self, _run: &mut Run<'_>) {}

    /// The call answered (the answers to what [`CaseOption::during_call`] sent aside).
    fn call_answered(&mut self, _run: &mut Run<'_>, _cx: &Cx<'_>) {}

    /// After the call's outcome is recorded.
    fn after_call(&mut self, _run: &mut Run<'_>, _cx: &Cx<'_>) -> Result<(), Stop> {
        Ok(())
    }

    /// Before the settle time.
    fn before_settle(&mut self, _run: &mut Run<'_>, _cx: &Cx<'_>) -> Result<(), Stop> {
        Ok(())
    }

    /// After the settle time.
    fn after_settle(&mut self, _run: &mut Run<'_>, _cx: &Cx<'_>) -> Result<(), Stop> {
        Ok(())
    }

    /// The neighbour was found still served (or not).
    fn after_neighbour_check(&mut self, _run: &mut Run<'_>, _cx: &Cx<'_>) -> Result<(), Stop> {
        Ok(())
    }

    /// The target unloaded (or never loaded), before the neighbour is.
    fn after_unload(&mut self, _run: &mut Run<'_>, _cx: &Cx<'_>) -> Result<(), Stop> {
        Ok(())
    }
}

/// The options of one case, in the order their hooks run.
pub(super) struct CaseOptions(Vec<Box<dyn CaseOption>>);

impl CaseOptions {
    /// The case's options; building one may fail (a package the harness cannot make).
    pub fn for_case(cx: &Cx<'_>) -> Result<CaseOptions, Stop> {
        let case = cx.case;
        let package = Package::for_case(cx)?;
        let key_revocation = package.as_ref().and_then(SignerKeyRevocation::for_package);
        let update = package.as_ref().and_then(Update::for_package);
        let mut all: Vec<Box<dyn CaseOption>> = Vec::new();
        let mut add = |o: Option<Box<dyn CaseOption>>| all.extend(o);
        add(case
            .neighbour_threads
            .then(|| boxed(NeighbourThreads::default())));
        add(package.map(boxed));
        add(case
            .allowlist_listener_prefix
            .then(|| boxed(ListenerPrefixAllowlist)));
        if let Some(wanted) = &case.allowlisted_service {
            add(Some(boxed(AllowlistedDestination::start(wanted)?)));
        }
        add(case.exception_ends_s.map(|s| boxed(ExceptionEnds(s))));
        add(case.reload.then(|| boxed(Reload)));
        add(case
            .revoke_during_call
            .as_ref()
            .map(|r| boxed(RevokeDuringCall(r.clone()))));
        add(case
            .kill_host_during_call
            .map(|after| boxed(KillHostDuringCall(after))));
        add(case
            .policy
            .limits
            .cpu_percent
            .map(|cap| boxed(CpuRate::new(cap))));
        add(key_revocation.map(boxed));
        add(update.map(boxed));
        add(case
            .pause
            .map(|plan| boxed(Pause(plan, case.pause_during_call, None))));
        add(case.audit.map(|check| boxed(Audit(check))));
        // An update case's restarts are the new version's to be judged by its probation,
        // not a restart case's count.
        let updating = case.package.is_some_and(PackageForm::is_update);
        add(case.policy.restart.filter(|_| !updating).map(|policy| {
            boxed(Restarts {
                policy,
                watch: None,
                sent: Vec::new(),
                killed_for_attack: None,
            })
        }));
        Ok(CaseOptions(all))
    }

    /// Runs `hook` on every option, stopping at the first that stops the case.
    pub fn each(
        &mut self,
        mut hook: impl FnMut(&mut dyn CaseOption) -> Result<(), Stop>,
    ) -> Result<(), Stop> {
        self.0.iter_mut().try_for_each(|o| hook(o.as_mut()))
    }

    /// The load request, as every option shapes it.
    pub fn load_request(&self, cx: &Cx<'_>, load: Op) -> Op {
        self.0.iter().fold(load, |load, o| o.load_request(cx, load))
    }

    /// What is sent while the call is pending (one option at most asks for it).
    pub fn during_call(&self) -> Vec<(Duration, Op)> {
        self.0
            .iter()
            .map(|o| o.during_call())
            .find(|schedule| !schedule.is_empty())
            .unwrap_or_default()
    }

    /// Calls `hook` on every option (for the hooks that cannot stop a case).
    pub fn notify(&mut self, mut hook: impl FnMut(&mut dyn CaseOption)) {
        self.0.iter_mut().for_each(|o| hook(o.as_mut()));
    }
}

fn boxed<O: CaseOption + 'static>(option: O) -> Box<dyn CaseOption> {
    Box::new(option)
}

/// `neighbour_threads`: the neighbour starts a thread before the target is loaded and again
/// while it runs; if it could before and cannot then, the target's cap on tasks was not its
/// own (harm: `neighbour_not_served`).
#[derive(Default)]
struct NeighbourThreads {
    /// What the neighbour answered before the target was loaded.
    before: Option<Answer>,
}

impl CaseOption for NeighbourThreads {
    fn before_load(&mut self, run: &mut Run<'_>, cx: &Cx<'_>) -> Result<(), Stop> {
        // Whether the neighbour can start a thread before the plugin is there: a sandbox
        // that gives its plugins no threads at all has none for one plugin to starve
        // another of.
        let answer = neighbour_thread_echo(run, cx.bench, cx.call_deadline);
        run.absorb("neighbour thread call", &answer)?;
        self.before = Some(answer);
        Ok(())
    }

    fn after_neighbour_check(&mut self, run: &mut Run<'_>, cx: &Cx<'_>) -> Result<(), Stop> {
        match self.before.take() {
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
                            "the neighbour started a thread before the plugin was loaded, not \
                             while it ran: {} answered {answer:?}",
                            cx.bench.neighbour_methods.thread_echo
                        ),
                    ));
                }
            }
            Some(before) => run.notes.push(format!(
                "the neighbour could not start a thread even before the plugin was loaded \
                 ({} answered {before:?}): no thread for the plugin to starve it of",
                cx.bench.neighbour_methods.thread_echo
            )),
            None => {}
        }
        Ok(())
    }
}

/// `package`: the target is a signed package made with the case's defect (`load_package`);
/// with `swapped_after_load`, the case's `swap_in` binary is written over the package's
/// plugin once its load is answered; with `swapped_during_load`, each reader of the
/// binary while the load runs is shown what tests it ([`crate::swap`]).
struct Package {
    form: PackageForm,
    built: BuiltPackage,
    swapping: Option<crate::swap::Swapper>,
}

impl Package {
    fn for_case(cx: &Cx<'_>) -> Result<Option<Package>, Stop> {
        let Some(form) = cx.case.package else {
            return Ok(None);
        };
        // The manifest asks for what the case's policy grants, by rule or by exception.
        let policy = &cx.case.policy;
        let requested: Vec<String> = policy
            .grants
            .iter()
            .chain(policy.exceptions.iter().map(|e| &e.capability))
            .cloned()
            .collect();
        // Outside the adapter's working directory: the package is the harness's.
        let signing = cx.scratch.root.join("signing");
        let built = match (form.is_update(), &cx.case.update_installed) {
            (true, Some(installed)) => {
                crate::package::build_update(form, installed, &cx.case.plugin, &signing, &requested)
            }
            (true, None) => {
                return Err(Stop::Abort(
                    Verdict::Error,
                    "harness: an update case names no installed version".into(),
                ));
            }
            (false, _) => crate::package::build(form, &cx.case.plugin, &signing, &requested),
        }
        .map_err(|e| {
            (
                Verdict::Error,
                format!("harness: building the package: {e}"),
            )
        })?;
        Ok(Some(Package {
            form,
            built,
            swapping: None,
        }))
    }
}

impl CaseOption for Package {
    fn before_load(&mut self, run: &mut Run<'_>, cx: &Cx<'_>) -> Result<(), Stop> {
        let plugin = self.built.dir.join(sbx_package::PLUGIN_FILE);
        run.plugin_file = plugin.clone();
        run.plugin_image = crate::handed::PluginImage::FileOrMemfd;
        run.peak_rss_before_target_load_kib =
            Some(crate::procfs::tree_peak_rss_kib(run.session.adapter_pid));
        if let (PackageForm::SwappedDuringLoad, Some(swap_in)) = (self.form, &cx.case.swap_in) {
            let work = cx.scratch.root.join("signing").join("swapping");
            let swapper = crate::swap::Swapper::start(&self.built.dir, swap_in, &work)
                .map_err(|e| (Verdict::Error, format!("harness: swapping the binary: {e}")))?;
            self.swapping = Some(swapper);
        }
        Ok(())
    }

    fn load_request(&self, _cx: &Cx<'_>, load: Op) -> Op {
        match load {
            Op::Load {
                plugin,
                policy,
                config_b64,
                ..
            } => Op::LoadPackage {
                plugin,
                package: path_text(&self.built.dir),
                trust: path_text(&self.built.trust),
                policy,
                config_b64,
            },
            other => other,
        }
    }

    fn after_load(&mut self, run: &mut Run<'_>, cx: &Cx<'_>, answer: &Answer) -> Result<(), Stop> {
        if let Some(swapper) = self.swapping.take() {
            let seen = swapper
                .stop()
                .map_err(|e| (Verdict::Error, format!("harness: swapping the binary: {e}")))?;
            run.notes.push(format!(
                "while the package loaded: {}",
                if seen.is_empty() {
                    "nothing in it was opened".to_owned()
                } else {
                    seen.join("; ")
                }
            ));
        }
        if let (PackageForm::SwappedAfterLoad, Some(swap_in), Answer::Ok(_)) =
            (self.form, &cx.case.swap_in, answer)
        {
            // Verified and loaded: from now on only the verified bytes may ever run.
            std::fs::copy(swap_in, self.built.dir.join(sbx_package::PLUGIN_FILE))
                .map_err(|e| (Verdict::Error, format!("harness: swapping the binary: {e}")))?;
        }
        Ok(())
    }
}

/// `allowlist_listener_prefix`: the net allowlist holds the harness's TCP listener's
/// address less the last digit of its port (`127.0.0.1:4123` for a listener on 41234), a
/// destination that an exact comparison refuses and a prefix match lets through.
struct ListenerPrefixAllowlist;

impl CaseOption for ListenerPrefixAllowlist {
    fn load_request(&self, cx: &Cx<'_>, mut load: Op) -> Op {
        if let Some(policy) = policy_of(&mut load) {
            policy.net_allowlist = vec![format!("127.0.0.1:{}", cx.listeners.tcp_port / 10)];
        }
        load
    }
}

/// `allowlisted_service` and `allowlisted_closed_port`: a destination the net allowlist
/// holds and the policy's configuration names under the case's key: an echo service of the
/// harness's own, which a plugin granted the network must reach (a connection to it is no
/// harm), or a port on 127.0.0.1 where nothing listens, which no host may report reached.
struct AllowlistedDestination {
    key: String,
    /// Held until the case ends.
    held: Held,
}

/// What answers at an allowlisted destination, for as long as the case runs.
enum Held {
    Service(crate::observe::EchoService),
    ClosedPort(crate::observe::ClosedPort),
}

impl Held {
    /// Its address, `127.0.0.1:PORT`.
    fn addr(&self) -> &str {
        match self {
            Held::Service(s) => &s.addr,
            Held::ClosedPort(p) => &p.addr,
        }
    }
}

impl AllowlistedDestination {
    fn start(wanted: &super::AllowlistedService) -> Result<AllowlistedDestination, Stop> {
        let failed = |e: std::io::Error| {
            (
                Verdict::Error,
                format!("harness: cannot make the allowlisted destination: {e}"),
            )
        };
        let held = if wanted.listening {
            Held::Service(crate::observe::EchoService::start().map_err(failed)?)
        } else {
            Held::ClosedPort(crate::observe::ClosedPort::bind().map_err(failed)?)
        };
        Ok(AllowlistedDestination {
            key: wanted.key.clone(),
            held,
        })
    }
}

impl CaseOption for AllowlistedDestination {
    fn load_request(&self, _cx: &Cx<'_>, mut load: Op) -> Op {
        if let Some(policy) = policy_of(&mut load) {
            let addr = self.held.addr();
            policy.net_allowlist.push(addr.to_owned());
            policy.config.insert(self.key.clone(), addr.to_owned());
        }
        load
    }
}

/// The policy a load request carries.
fn policy_of(load: &mut Op) -> Option<&mut crate::protocol::Policy> {
    match load {
        Op::Load { policy, .. } | Op::LoadPackage { policy, .. } => Some(policy),
        _ => None,
    }
}

/// `exception_ends_s`: the policy's time-bound exceptions end this many seconds after the
/// load is sent (negative: before it), however long the run has taken to get there.
struct ExceptionEnds(i64);

impl CaseOption for ExceptionEnds {
    fn load_request(&self, _cx: &Cx<'_>, mut load: Op) -> Op {
        let until = crate::protocol::PolicyException::until_from_now(self.0);
        if let Some(policy) = policy_of(&mut load) {
            for e in &mut policy.exceptions {
                e.until.clone_from(&until);
            }
        }
        load
    }
}

/// `reload`: the attack runs once, the target is unloaded and loaded again under the same
/// handle, and its census taken again: what it held (storage, quotas) must carry over.
struct Reload;

impl CaseOption for Reload {
    fn before_call(
        &mut self,
        run: &mut Run<'_>,
        cx: &Cx<'_>,
        target: &Target<'_>,
    ) -> Result<(), Stop> {
        let first = run
            .session
            .request(super::target_call(cx, target.input), cx.call_deadline);
        run.absorb("first invoke", &first)?;
        run.check_output_bound(&first, cx.case.policy.limits.output_bytes);
        let unload = run.session.request(
            Op::Unload {
                plugin: "target".into(),
            },
            cx.unload_deadline,
        );
        run.absorb("unload before the reload", &unload)?;
        let again = run.session.request(target.load.clone(), cx.load_deadline);
        run.absorb("reload", &again)?;
        if let Answer::Err(e) = again {
            return Err(Stop::Abort(
                Verdict::Error,
                format!("adapter: the reload answered {:?}: {}", e.kind, e.message),
            ));
        }
        run.census_of_the_handed();
        Ok(())
    }
}

/// `revoke_during_call`: capabilities revoked while the call is pending, each its own
/// `revoke` request.
struct RevokeDuringCall(super::RevokeDuringCall);

impl CaseOption for RevokeDuringCall {
    fn during_call(&self) -> Vec<(Duration, Op)> {
        // All at once, `after` into the call.
        self.0
            .capabilities
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let wait = if i == 0 { self.0.after } else { Duration::ZERO };
                let revoke = Op::Revoke {
                    plugin: "target".into(),
                    capability: c.clone(),
                };
                (wait, revoke)
            })
            .collect()
    }
}

/// `kill_host_during_call`: the harness kills the adapter (SIGKILL) this long after the call
/// is sent, from a thread of its own while the script waits for the answer, which then
/// never comes: the session ends, and the case guard reports what outlived the host.
struct KillHostDuringCall(Duration);

impl CaseOption for KillHostDuringCall {
    fn call_sent(&mut self, run: &mut Run<'_>) {
        // A pidfd, not a pid: were the adapter gone and reaped before the wait ends, its
        // pid could be another process's by then.
        // SAFETY: pidfd_open with a pid and no flags; no pointer.
        let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, run.session.adapter_pid, 0) };
        let Some(raw) = i32::try_from(raw).ok().filter(|fd| *fd >= 0) else {
            // The case then runs on as any other, and its plugin blocks to its deadline:
            // judged so, it fails, rather than pass for a kill that never came.
            run.notes.push(format!(
                "the harness could not kill the adapter: pidfd_open: {}",
                std::io::Error::last_os_error()
            ));
            return;
        };
        // SAFETY: pidfd_open returned a fresh descriptor that nothing else owns.
        let adapter = unsafe { OwnedFd::from_raw_fd(raw) };
        run.host_killed = true;
        let after = self.0;
        std::thread::spawn(move || {
            std::thread::sleep(after);
            // SAFETY: pidfd_send_signal on a descriptor this thread owns, with no siginfo.
            unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    adapter.as_raw_fd(),
                    libc::SIGKILL,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                )
            };
        });
    }
}

/// A policy with a CPU rate cap: what the call cost is measured from /proc against it.
struct CpuRate {
    /// Percent of one CPU.
    cap: u32,
    /// The tree's CPU time (ms) and the clock when the call was sent.
    sent: Option<(u64, Instant)>,
}

impl CpuRate {
    fn new(cap: u32) -> CpuRate {
        CpuRate { cap, sent: None }
    }
}

impl CaseOption for CpuRate {
    fn call_sent(&mut self, run: &mut Run<'_>) {
        self.sent = Some((
            crate::procfs::tree_cpu_ms(run.session.adapter_pid),
            Instant::now(),
        ));
    }

    fn call_answered(&mut self, run: &mut Run<'_>, cx: &Cx<'_>) {
        if let Some((cpu_before, started)) = self.sent.take() {
            run.check_cpu_rate(&cx.bench.bounds, self.cap, cpu_before, started);
        }
    }
}

/// A `key_revoked_while_running` package: its signer's key is revoked while it runs, and
/// the same package loaded again.
struct SignerKeyRevocation {
    built: BuiltPackage,
}

impl SignerKeyRevocation {
    fn for_package(package: &Package) -> Option<SignerKeyRevocation> {
        (package.form == PackageForm::KeyRevokedWhileRunning).then(|| SignerKeyRevocation {
            built: package.built.clone(),
        })
    }
}

impl CaseOption for SignerKeyRevocation {
    fn after_call(&mut self, run: &mut Run<'_>, cx: &Cx<'_>) -> Result<(), Stop> {
        if !matches!(run.outcome, Some(Outcome::Survived { .. })) {
            return Ok(());
        }
        // The plugin runs (its call answered, its own threads going on): its signer's key
        // is revoked now, and from the answer on it must not run any more. The id is sent
        // in capitals: hex names the same key in either case, and a sandbox comparing text
        // as written stops nothing.
        let a = run.session.request(
            Op::RevokeKey {
                key: self.built.publisher.to_ascii_uppercase(),
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
        // The same package again, with the same trust store (which still lists the key):
        // the sandbox must remember that the key is revoked.
        let again = run.session.request(
            Op::LoadPackage {
                plugin: "target-again".into(),
                package: path_text(&self.built.dir),
                trust: path_text(&self.built.trust),
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
        Ok(())
    }
}

/// An update case: the installed version (loaded as the case's package) stores a token at
/// its init; once it is loaded the case's plugin is offered in its place (`update`), and
/// the target is called until a call is answered (the new version's first calls may fault:
/// that is what a failure budget counts). Every version answers with its own version and
/// the storage it finds, `sbx-update version=V state=S`: which version serves after the
/// update, and whether the storage is as the installed version left it, are told by the
/// plugins the harness built, not by the sandbox.
struct Update {
    form: PackageForm,
    /// The new version's package.
    package: std::path::PathBuf,
    /// The trust store.
    trust: std::path::PathBuf,
    /// What the installed version stores at its init.
    token: String,
}

/// What an update case's version answers.
#[derive(Debug, PartialEq, Eq)]
struct Serving {
    version: String,
    state: String,
}

impl Serving {
    /// Reads `sbx-update version=V state=S`.
    fn parse(output: &[u8]) -> Option<Serving> {
        let text = std::str::from_utf8(output).ok()?.trim_end();
        let rest = text.strip_prefix("sbx-update version=")?;
        let (version, state) = rest.split_once(" state=")?;
        Some(Serving {
            version: version.to_owned(),
            state: state.to_owned(),
        })
    }
}

impl Update {
    fn for_package(package: &Package) -> Option<Update> {
        if !package.form.is_update() {
            return None;
        }
        Some(Update {
            form: package.form,
            package: package.built.update.clone()?,
            trust: package.built.trust.clone(),
            token: crate::package::INSTALLED_STATE.to_owned(),
        })
    }

    /// The version that answers the target's calls after the update, and the answers
    /// before it: up to one call more than the policy's failure budget allows faults.
    fn serving(
        &self,
        run: &mut Run<'_>,
        cx: &Cx<'_>,
        input: &[u8],
    ) -> Result<(Option<Serving>, Vec<String>), Stop> {
        let tries = cx.case.policy.update.map_or(1, |u| u.failure_budget + 2);
        let mut seen = Vec::new();
        for _ in 0..tries {
            let a = run.session.request(
                Op::Invoke {
                    plugin: "target".into(),
                    method: cx.case.method.clone(),
                    input_b64: crate::protocol::encode_bytes(input),
                },
                cx.call_deadline,
            );
            run.absorb("a call after the update", &a)?;
            match a {
                Answer::Ok(v) => {
                    let output = serde_json::from_value::<crate::protocol::InvokeResult>(v)
                        .ok()
                        .and_then(|r| crate::protocol::decode_bytes(&r.output_b64))
                        .unwrap_or_default();
                    match Serving::parse(&output) {
                        Some(s) => return Ok((Some(s), seen)),
                        None => {
                            seen.push(format!("answered {:?}", String::from_utf8_lossy(&output)))
                        }
                    }
                }
                Answer::Err(e) => seen.push(format!("{:?}: {}", e.kind, e.message)),
                _ => {}
            }
        }
        Ok((None, seen))
    }
}

impl CaseOption for Update {
    fn load_request(&self, _cx: &Cx<'_>, load: Op) -> Op {
        match load {
            Op::LoadPackage {
                plugin,
                package,
                trust,
                policy,
                ..
            } => Op::LoadPackage {
                plugin,
                package,
                trust,
                policy,
                config_b64: crate::protocol::encode_bytes(self.token.as_bytes()),
            },
            other => other,
        }
    }

    fn before_call(
        &mut self,
        run: &mut Run<'_>,
        cx: &Cx<'_>,
        target: &Target<'_>,
    ) -> Result<(), Stop> {
        use crate::package::{INSTALLED_VERSION, NEXT_VERSION};
        let answer = run.session.request(
            Op::Update {
                plugin: "target".into(),
                package: path_text(&self.package),
                trust: path_text(&self.trust),
                policy: cx.case.policy.clone(),
                config_b64: String::new(),
            },
            cx.load_deadline,
        );
        run.absorb("update", &answer)?;
        let answered = match &answer {
            Answer::Ok(_) => "taken".to_owned(),
            Answer::Err(e) => format!("answered {:?}: {}", e.kind, e.message),
            _ => String::new(),
        };
        run.notes.push(format!("the update was {answered}"));
        let (serving, before) = self.serving(run, cx, target.input)?;
        if !before.is_empty() {
            run.notes.push(format!(
                "calls after the update before one was served: {}",
                before.join("; ")
            ));
        }
        let said = match &serving {
            Some(s) => format!(
                "version {} served, finding the storage {:?}",
                s.version, s.state
            ),
            None => "no version served a call".to_owned(),
        };
        let expected = if self.form == PackageForm::UpdateValid {
            NEXT_VERSION
        } else {
            INSTALLED_VERSION
        };
        let version_ok = serving.as_ref().is_some_and(|s| s.version == expected);
        let storage_ok = serving.as_ref().is_none_or(|s| s.state == self.token);
        if self.form.update_must_be_refused() {
            if matches!(answer, Answer::Ok(_)) {
                run.harm.push(harm(
                    HarmKind::RefusedUpdateRan,
                    format!("the update was taken; {said}"),
                ));
            } else if !version_ok || !storage_ok {
                run.harm.push(harm(
                    HarmKind::RefusedUpdateRan,
                    format!("the update was {answered}, yet {said}"),
                ));
            }
        } else if self.form == PackageForm::UpdateFailsCalls
            && (!matches!(answer, Answer::Ok(_)) || before.is_empty())
        {
            // Its init succeeds: a sandbox must take it, and its first call must reach it
            // (and fault). One that refused it, or kept the installed version serving, never
            // tried the rollback this case is about.
            run.harm.push(harm(
                HarmKind::UpdateNotInstalled,
                format!(
                    "a valid update (its init succeeds) was {answered}; then {said} at the first call \
                     after it, which the new version would have faulted in"
                ),
            ));
        } else {
            let kind = if self.form.update_must_roll_back() {
                HarmKind::UpdateNotRolledBack
            } else {
                HarmKind::UpdateNotInstalled
            };
            if !version_ok {
                run.harm.push(harm(
                    kind,
                    format!("the update was {answered}; then {said}, not {expected}"),
                ));
            }
            if !storage_ok {
                run.harm.push(harm(
                    HarmKind::UpdateStorageLost,
                    format!("{said}; the installed version had stored {:?}", self.token),
                ));
            }
        }
        // The process that runs the plugin from now on maps the version that serves.
        if serving.is_some_and(|s| s.version != INSTALLED_VERSION) {
            run.plugin_file = self.package.join(sbx_package::PLUGIN_FILE);
        }
        Ok(())
    }
}

/// `pause`: the target is paused through the settle time, then resumed and given the same
/// time again for what was due while it was stopped; or left paused for its unload; or
/// paused while its call is pending, and resumed before it is answered. A pause between
/// calls is looked at: every thread of the plugin's processes stopped when it is
/// answered, and no CPU used while it holds.
struct Pause(
    super::PausePlan,
    Option<super::PauseDuringCall>,
    /// The case's CPU (ms) when the pause was answered.
    Option<u64>,
);

impl Pause {
    /// What a pause between calls must have done once it is answered: no thread of the
    /// plugin's processes still running.
    fn look_at_stopped(&mut self, run: &mut Run<'_>) {
        let running = crate::procfs::threads_running(&run.plugin_pids());
        if !running.is_empty() {
            run.harm.push(harm(
                HarmKind::PauseNotInForce,
                format!(
                    "when the pause was answered, threads of the plugin's processes still ran: {}",
                    running.join(", ")
                ),
            ));
        }
        self.2 = Some(crate::procfs::tree_cpu_ms(run.session.adapter_pid));
    }

    /// The CPU the case's processes used while the plugin was held paused.
    fn look_at_paused_cpu(&self, run: &mut Run<'_>, cx: &Cx<'_>) {
        let Some(at_pause) = self.2 else {
            return;
        };
        let used = crate::procfs::tree_cpu_ms(run.session.adapter_pid).saturating_sub(at_pause);
        if used > cx.bench.bounds.paused_cpu_ms {
            run.harm.push(harm(
                HarmKind::PauseNotInForce,
                format!(
                    "the case's processes used {used} ms of CPU while the plugin was paused \
                     ({} ms; at most {} ms is the adapter's and the neighbour's own)",
                    cx.case.settle.as_millis(),
                    cx.bench.bounds.paused_cpu_ms
                ),
            ));
        }
    }
}

impl CaseOption for Pause {
    fn during_call(&self) -> Vec<(Duration, Op)> {
        let (super::PausePlan::DuringCall, Some(timing)) = (self.0, self.1) else {
            return Vec::new();
        };
        let target = || "target".to_owned();
        vec![
            (timing.after, Op::Pause { plugin: target() }),
            (timing.hold, Op::Resume { plugin: target() }),
        ]
    }

    fn before_settle(&mut self, run: &mut Run<'_>, cx: &Cx<'_>) -> Result<(), Stop> {
        if self.0 != super::PausePlan::DuringCall
            && matches!(run.outcome, Some(Outcome::Survived { .. }))
        {
            let a = run.session.request(
                Op::Pause {
                    plugin: "target".into(),
                },
                cx.call_deadline,
            );
            run.absorb("pause", &a)?;
            // As for the resume: a plugin found ended is judged by its end, any other
            // refusal of a pause the sandbox declares is its error.
            match a {
                Answer::Err(e) => terminated_or_error(run, e)?,
                _ => self.look_at_stopped(run),
            }
        }
        Ok(())
    }

    fn after_settle(&mut self, run: &mut Run<'_>, cx: &Cx<'_>) -> Result<(), Stop> {
        self.look_at_paused_cpu(run, cx);
        if self.0 == super::PausePlan::ThroughSettle
            && matches!(run.outcome, Some(Outcome::Survived { .. }))
        {
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
}

/// `audit`: the sandbox's records of the target against what the case saw.
struct Audit(super::AuditCheck);

/// Audit records kept as a case's evidence, at most: a flooded log is harm of its own
/// (`audit_flooded`), not a results file of megabytes.
const AUDIT_EVIDENCE_RECORDS: usize = 32;
/// Characters of one record kept as evidence.
const AUDIT_EVIDENCE_CHARS: usize = 400;

/// The first records, each as one line of JSON, cut to a bound; what was left out, said.
fn audit_evidence(records: &[serde_json::Value]) -> Vec<String> {
    let mut out: Vec<String> = records
        .iter()
        .take(AUDIT_EVIDENCE_RECORDS)
        .map(|r| {
            let line = r.to_string();
            match line.char_indices().nth(AUDIT_EVIDENCE_CHARS) {
                Some((at, _)) => format!("{}…", &line[..at]),
                None => line,
            }
        })
        .collect();
    if records.len() > AUDIT_EVIDENCE_RECORDS {
        out.push(format!(
            "… and {} more record(s)",
            records.len() - AUDIT_EVIDENCE_RECORDS
        ));
    }
    out
}

impl CaseOption for Audit {
    fn after_unload(&mut self, run: &mut Run<'_>, cx: &Cx<'_>) -> Result<(), Stop> {
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
        run.audit = audit_evidence(&records);
        let gaps = super::audit_gaps(self.0, &records, run.outcome.as_ref());
        if !gaps.is_empty() {
            run.harm.push(harm(HarmKind::AuditMissing, gaps.join("; ")));
        }
        let gaps = super::transition_gaps(&records, run.outcome.as_ref());
        if !gaps.is_empty() {
            run.harm
                .push(harm(HarmKind::TransitionsUnrecorded, gaps.join("; ")));
        }
        let misstated = super::limit_misstatements(&records, &cx.case.policy, &cx.bench.bounds);
        if !misstated.is_empty() {
            run.harm
                .push(harm(HarmKind::AuditMisstated, misstated.join("; ")));
        }
        if records.len() > cx.bench.bounds.audit_records {
            run.harm.push(harm(
                HarmKind::AuditFlooded,
                format!(
                    "the audit log holds {} records of the plugin after one case (the suite \
                     allows {})",
                    records.len(),
                    cx.bench.bounds.audit_records
                ),
            ));
        }
        Ok(())
    }
}

/// A policy that lets the host restart the plugin: every process that runs it is watched
/// from its load to the end of the settle time, with when it started, and judged against
/// the calls that made it fault ([`super::judge::restart_harms`]). With
/// `faults_before_call`, the plugin is made to fault first, once for each of its waits (a
/// benign plugin must then still serve the call judged); a hostile plugin, which faults in
/// every call, is called again until the policy's restarts are spent, and once more.
struct Restarts {
    policy: PolicyRestart,
    watch: Option<ProcessWatch>,
    /// When each call to the target was sent, on the boot clock (ms).
    sent: Vec<u64>,
    /// When the call was sent that the sandbox said it killed the plugin in for an attack.
    killed_for_attack: Option<u64>,
}

/// The terminations that say the plugin attacked (the filter killed it, or it broke the
/// protocol; words of [`crate::protocol::TERMINATION_REASONS`]): after one, a restart would
/// only give it another try.
pub(super) const ATTACK_TERMINATIONS: [&str; 2] = ["seccomp_violation", "protocol_violation"];

impl Restarts {
    /// Sends the target a call that may fault; whatever it answers, the processes tell.
    fn fault_call(&mut self, run: &mut Run<'_>, cx: &Cx<'_>, input: &[u8]) -> Result<(), Stop> {
        self.sent.push(crate::procfs::boot_clock_ms());
        let answer = run
            .session
            .request(super::target_call(cx, input), cx.call_deadline);
        run.check_target_answer("a call that faults", &answer, cx)
    }

    /// The backoff before restart `n` (1-based) of a host that doubles it each time.
    fn doubled_backoff(&self, n: u32) -> Duration {
        Duration::from_millis(self.policy.backoff_ms.saturating_mul(1 << n.min(10)) / 2)
    }
}

impl CaseOption for Restarts {
    fn after_load(&mut self, run: &mut Run<'_>, _cx: &Cx<'_>, answer: &Answer) -> Result<(), Stop> {
        if matches!(answer, Answer::Ok(_)) {
            self.watch = Some(ProcessWatch::start(run));
        }
        Ok(())
    }

    fn before_call(
        &mut self,
        run: &mut Run<'_>,
        cx: &Cx<'_>,
        _target: &Target<'_>,
    ) -> Result<(), Stop> {
        if let Some(faults) = &cx.case.faults_before_call {
            for wait in &faults.waits {
                self.fault_call(run, cx, &faults.input)?;
                std::thread::sleep(*wait);
            }
        }
        Ok(())
    }

    fn call_sent(&mut self, _run: &mut Run<'_>) {
        self.sent.push(crate::procfs::boot_clock_ms());
    }

    fn after_call(&mut self, run: &mut Run<'_>, cx: &Cx<'_>) -> Result<(), Stop> {
        if !cx.case.hostile {
            return Ok(());
        }
        if let Some(Outcome::Killed { termination }) = &run.outcome
            && ATTACK_TERMINATIONS.contains(&termination.reason.as_str())
        {
            self.killed_for_attack = self.sent.last().copied();
        }
        // The call faulted; each restart the policy allows is waited for (a host may
        // restart in the background, after its backoff) and faulted again, and the call
        // after the last allowed must find the plugin stopped. After a kill for an attack
        // no restart is allowed: one call, a backoff later, shows any.
        let input = super::call_input(run, cx);
        let calls = if self.killed_for_attack.is_some() {
            1
        } else {
            self.policy.max_restarts + 1
        };
        for n in 1..=calls {
            std::thread::sleep(self.doubled_backoff(n) + RESTART_SLACK);
            self.fault_call(run, cx, &input)?;
        }
        Ok(())
    }

    fn after_settle(&mut self, run: &mut Run<'_>, _cx: &Cx<'_>) -> Result<(), Stop> {
        let Some(watch) = self.watch.take() else {
            return Ok(());
        };
        let processes = watch.finish();
        let tick = crate::procfs::start_resolution_ms();
        let first = self.sent.iter().min().copied().unwrap_or(u64::MAX);
        let restarts: Vec<String> = super::judge::restart_processes(&processes)
            .iter()
            .map(|p| format!("{} ms", p.start.saturating_sub(first)))
            .collect();
        run.notes.push(format!(
            "processes that ran the plugin: {}; the restarts started {} after the first call \
             that faulted ({} calls sent)",
            processes.len(),
            if restarts.is_empty() {
                "never".to_owned()
            } else {
                restarts.join(", ")
            },
            self.sent.len()
        ));
        run.harm.extend(super::judge::restart_harms(
            &processes,
            &self.sent,
            &self.policy,
            tick,
            self.killed_for_attack,
        ));
        Ok(())
    }
}

/// Beyond a restart's backoff, how long the harness waits for a host that restarts in the
/// background before it calls again.
const RESTART_SLACK: Duration = Duration::from_millis(200);

/// How often [`ProcessWatch`] looks: a process of the plugin that lives a tenth of a second
/// (the hostile restart plugins linger that long in their init, `ATK_LINGERING_INIT`) is
/// seen several times.
const WATCH_INTERVAL: Duration = Duration::from_millis(20);

/// A thread that looks for the processes that run the plugin every [`WATCH_INTERVAL`],
/// and keeps when each one started and when it was last seen alive. It is started once
/// the load is answered: the processes of its first look are the load's, never restarts
/// (a start is read to the clock tick, too coarse to tell a load answered at once from a
/// restart by the time alone).
struct ProcessWatch {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<Seen>>,
    loaded: Vec<(i32, u64)>,
}

/// What the watch's looks found, each process by its pid and start (boot clock, ms).
#[derive(Default)]
struct Seen {
    /// Each process that ran the plugin: the end of the first look that found it so, and
    /// the start of the last.
    running: std::collections::BTreeMap<(i32, u64), (u64, u64)>,
    /// Each other process of the sandbox's tree: the last look that found it alive without
    /// the plugin (a process started ahead, which may map it later).
    without: std::collections::BTreeMap<(i32, u64), u64>,
}

impl ProcessWatch {
    fn start(run: &Run<'_>) -> ProcessWatch {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (adapter, plugin, image) = (
            run.session.adapter_pid,
            run.plugin_file.clone(),
            run.plugin_image,
        );
        let before = run.before_target.clone();
        // One look: the clock first, so that a process found alive was alive then.
        let look = move |seen: &mut Seen| {
            // Read before the processes are: one found alive, or found without the plugin,
            // was so at this time or later.
            let now = crate::procfs::boot_clock_ms();
            let pids = crate::procfs::tree_pids(adapter);
            let running = crate::handed::plugin_processes(&pids, &plugin, image);
            // Read after: one found running the plugin began to by this time.
            let by = crate::procfs::boot_clock_ms();
            for pid in pids.iter().filter(|pid| !before.contains(pid)) {
                let Some(start) = crate::procfs::start_boot_ms(*pid) else {
                    continue;
                };
                let key = (*pid, start);
                if running.contains(pid) {
                    seen.running.entry(key).or_insert((by, now)).1 = now;
                } else if !seen.running.contains_key(&key) {
                    seen.without.insert(key, now);
                }
            }
        };
        let mut seen = Seen::default();
        look(&mut seen);
        let loaded = seen.running.keys().copied().collect();
        let stopping = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            loop {
                let done = stopping.load(std::sync::atomic::Ordering::Relaxed);
                look(&mut seen);
                if done {
                    return seen;
                }
                std::thread::sleep(WATCH_INTERVAL);
            }
        });
        ProcessWatch {
            stop,
            thread: Some(thread),
            loaded,
        }
    }

    /// Stops looking (after one last look); every process seen.
    fn finish(mut self) -> Vec<PluginProcess> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let seen = self
            .thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        seen.running
            .iter()
            .map(|(key, &(first, last_seen))| {
                // Seen alive without the plugin first: it began to run it after that look,
                // and by the first look that found it running it.
                let late = seen.without.get(key).map(|&without| (without, first));
                PluginProcess {
                    start: late.map_or(key.1, |(without, _)| without.max(key.1)),
                    began_by: late.map(|(_, first)| first),
                    last_seen,
                    loaded: self.loaded.contains(key),
                }
            })
            .collect()
    }
}

impl Drop for ProcessWatch {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_evidence_is_bounded_and_says_what_it_left_out() {
        let long = serde_json::json!({ "event": "log", "message": "x".repeat(1000) });
        let records: Vec<serde_json::Value> = std::iter::repeat_n(long, 40).collect();
        let kept = audit_evidence(&records);
        assert_eq!(kept.len(), AUDIT_EVIDENCE_RECORDS + 1);
        assert_eq!(kept[0].chars().count(), AUDIT_EVIDENCE_CHARS + 1);
        assert_eq!(kept[AUDIT_EVIDENCE_RECORDS], "… and 8 more record(s)");
        let short = [serde_json::json!({ "event": "terminated", "reason": "cpu_limit" })];
        assert_eq!(
            audit_evidence(&short),
            [r#"{"event":"terminated","reason":"cpu_limit"}"#]
        );
    }
}
