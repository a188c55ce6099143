//! The system under test: a real sandboxed probe plugin, driven step by step and checked
//! against the model after every step.
//!
//! `shutdown` and `kill` consume the [`Plugin`]: after them no method can even be called,
//! so the type system is what refuses further requests. The test keeps a [`Controller`]
//! (taken before the plugin is consumed) so that the state stays observable and pause
//! and resume — the requests a controller can make — are still really attempted and must
//! be refused; the other requests are checked against the model only.

use std::marker::PhantomData;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use proptest_state_machine::StateMachineTest;
use sbx_host::{
    Controller, Deadlines, InvalidTransition, Phase, Plugin, SandboxConfig, SandboxError, State,
    TerminationReason, TerminationRecord,
};

use crate::fd_census::FdCensus;
use crate::model::{Lifecycle, Model, Rules, Transition};

/// The call deadline: what a `DeadlineExpiry` step costs, so not long, but with a wide
/// margin over a `ping` (tens of microseconds) even on a loaded two-core machine: a ping
/// that misses it fails the property for a reason that has nothing to do with the model.
pub const CALL_DEADLINE: Duration = Duration::from_secs(1);

fn config() -> &'static SandboxConfig {
    static CONFIG: OnceLock<SandboxConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        SandboxConfig::builder(sbx_adversarial_plugins::path("probe"))
            .runner(crate::common::runner())
            .deadlines(Deadlines {
                load: Duration::from_secs(10),
                init: Duration::from_secs(5),
                call: CALL_DEADLINE,
                shutdown: Duration::from_secs(2),
                heartbeat: Duration::from_secs(2),
                pause: Duration::from_secs(2),
            })
            .build()
            .expect("probe configuration")
    })
}

/// Cases run one at a time in this process, whichever test they belong to: the count of
/// open descriptors is per process, so a case running beside another could not be checked.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    // A case that failed poisoned the lock; the next one starts afresh anyway.
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The one-letter kernel state of a process, `None` once it no longer exists (reaped).
fn kernel_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

/// Exists and is not a zombie.
fn is_alive(pid: i32) -> bool {
    kernel_state(pid).is_some_and(|s| s != 'Z' && s != 'X')
}

/// What one request did to the real sandbox.
#[derive(Debug)]
enum Observed {
    /// Succeeded with nothing to return.
    Done,
    /// An invoke call returned this output.
    Output(Vec<u8>),
    /// The plugin answered with an error status and goes on.
    PluginStatus(&'static str),
    /// The process ended (a fault, or a shutdown or kill that succeeded).
    Ended(TerminationRecord),
    /// The lifecycle refused the request.
    Refused(InvalidTransition),
    /// The plugin was consumed by shutdown or kill: the request cannot be made at all.
    Consumed,
    /// Any other error.
    Error(#[expect(dead_code, reason = "read through Debug, in failure messages")] String),
}

impl Observed {
    fn of<T>(result: Result<T, SandboxError>, ok: impl FnOnce(T) -> Observed) -> Observed {
        match result {
            Ok(value) => ok(value),
            Err(SandboxError::InvalidTransition(refusal)) => Observed::Refused(refusal),
            Err(SandboxError::Ended(record)) => Observed::Ended(*record),
            Err(SandboxError::Plugin { name, .. }) => Observed::PluginStatus(name),
            Err(other) => Observed::Error(format!("{other:?}")),
        }
    }

    fn unit(result: Result<(), SandboxError>) -> Observed {
        Observed::of(result, |()| Observed::Done)
    }

    fn output(result: Result<Vec<u8>, SandboxError>) -> Observed {
        Observed::of(result, Observed::Output)
    }

    fn ended(result: Result<TerminationRecord, SandboxError>) -> Observed {
        Observed::of(result, Observed::Ended)
    }
}

/// Whether `observed` is what a legal `transition` must do.
fn legal_effect(transition: Transition, observed: &Observed) -> bool {
    use Transition as T;
    match (transition, observed) {
        (T::Init | T::Start | T::Pause | T::Resume, Observed::Done) => true,
        (T::Invoke, Observed::Output(out)) => out == b"pong",
        (T::PluginError, Observed::PluginStatus(name)) => *name == "SBX_ERR_INTERNAL",
        (T::Terminate, Observed::Ended(r)) => r.reason == TerminationReason::Exit { code: 0 },
        (T::Kill | T::KillDuringCall, Observed::Ended(r)) => {
            r.reason == TerminationReason::KilledByHost
        }
        (T::PauseDuringCall, Observed::Output(out)) => out == b"slept",
        (T::PluginCrash, Observed::Ended(r)) => {
            matches!(
                r.reason,
                TerminationReason::Signal {
                    signal: libc::SIGSEGV,
                    ..
                }
            )
        }
        (T::DeadlineExpiry, Observed::Ended(r)) => {
            matches!(r.reason, TerminationReason::WallTimeout { phase: Phase::Call, after_ms }
                if after_ms <= CALL_DEADLINE.as_millis() as u64)
        }
        _ => false,
    }
}

/// One case's sandbox and what is needed to check it.
pub struct Sandbox {
    /// `None` once shutdown or kill consumed it.
    plugin: Option<Plugin>,
    /// Outlives the plugin: the state stays observable after it is consumed.
    control: Controller,
    pid: i32,
    /// Open descriptors before the plugin was spawned.
    fds_before: FdCensus,
    /// Dropped last, after the plugin and the controller.
    _serial: MutexGuard<'static, ()>,
}

impl Sandbox {
    fn perform(&mut self, transition: Transition) -> Observed {
        use Transition as T;
        let Some(plugin) = self.plugin.as_mut() else {
            return match transition {
                T::Pause => Observed::unit(self.control.pause()),
                T::Resume => Observed::unit(self.control.resume()),
                _ => Observed::Consumed,
            };
        };
        match transition {
            T::Init => Observed::unit(plugin.init(b"")),
            T::Start => Observed::unit(plugin.start()),
            T::Invoke => Observed::output(plugin.invoke("ping", b"")),
            T::PluginError => Observed::output(plugin.invoke("error", b"")),
            T::PluginCrash => Observed::output(plugin.invoke("segfault", b"")),
            T::DeadlineExpiry => Observed::output(plugin.invoke("hang", b"")),
            T::PauseDuringCall => {
                let control = self.control.clone();
                // Paused a moment into the call, for longer than the whole call deadline.
                let pauser = std::thread::spawn(move || {
                    std::thread::sleep(CALL_DEADLINE / 20);
                    if control.pause().is_ok() {
                        std::thread::sleep(CALL_DEADLINE + CALL_DEADLINE / 5);
                        control.resume().expect("resume what this thread paused");
                    }
                });
                let ms = (CALL_DEADLINE / 3).as_millis().to_string();
                let observed = Observed::output(plugin.invoke("sleep", ms.as_bytes()));
                pauser.join().expect("the pausing thread");
                observed
            }
            T::KillDuringCall => {
                let control = self.control.clone();
                // Only a call in flight is killed: a refused one leaves the plugin alone.
                let killer = std::thread::spawn(move || {
                    std::thread::sleep(CALL_DEADLINE / 20);
                    if control.state() == State::Running {
                        control.kill();
                    }
                });
                let observed = Observed::output(plugin.invoke("hang", b""));
                killer.join().expect("the killing thread");
                observed
            }
            T::Pause => Observed::unit(plugin.pause()),
            T::Resume => Observed::unit(plugin.resume()),
            T::Terminate => Observed::ended(self.take_plugin().shutdown()),
            T::Kill => Observed::ended(self.take_plugin().kill()),
        }
    }

    fn take_plugin(&mut self) -> Plugin {
        self.plugin.take().expect("a plugin to consume")
    }
}

/// The real sandbox checked against [`Lifecycle`] over the rules `R`.
#[derive(Debug)]
pub struct RealSandbox<R>(PhantomData<R>);

impl<R: Rules> StateMachineTest for RealSandbox<R> {
    type SystemUnderTest = Sandbox;
    type Reference = Lifecycle<R>;

    fn init_test(model: &Model) -> Sandbox {
        let serial = serial();
        let fds_before = FdCensus::take();
        let plugin = Plugin::spawn(config()).expect("spawn the probe");
        assert_eq!(plugin.state(), model.state, "a new plugin is Loaded");
        Sandbox {
            control: plugin.controller(),
            pid: plugin.pid(),
            plugin: Some(plugin),
            fds_before,
            _serial: serial,
        }
    }

    /// `model` is the state after the step; `model.last` says what the step was allowed
    /// to do.
    fn apply(mut sandbox: Sandbox, model: &Model, transition: Transition) -> Sandbox {
        let step = model.last.expect("the model took a step");
        let before = sandbox.control.state();
        assert_eq!(
            before, step.from,
            "before {transition:?}: sandbox and model disagree"
        );
        let was_alive = is_alive(sandbox.pid);
        let observed = sandbox.perform(transition);
        match step.verdict {
            Err(refusal) => {
                match &observed {
                    Observed::Refused(got) => assert_eq!(
                        *got, refusal,
                        "{transition:?} from {before:?} refused for the wrong reason"
                    ),
                    // Only a consumed plugin cannot be asked, and only a final one is consumed.
                    Observed::Consumed => assert!(before.is_final()),
                    other => {
                        panic!("{transition:?} from {before:?} must be refused, got {other:?}")
                    }
                }
                let after = sandbox.control.state();
                assert_eq!(after, before, "a refused {transition:?} changed the state");
                if was_alive {
                    assert!(
                        is_alive(sandbox.pid),
                        "a refused {transition:?} ended the process"
                    );
                }
            }
            Ok(next) => {
                assert!(
                    legal_effect(transition, &observed),
                    "{transition:?} from {before:?} (to {next:?}) did {observed:?}"
                );
                // A fault leaves the plugin in place: its record is the one returned.
                if let (Some(plugin), Observed::Ended(record)) = (&sandbox.plugin, &observed) {
                    assert_eq!(plugin.termination(), Some(record), "{transition:?}");
                }
            }
        }
        sandbox
    }

    fn check_invariants(sandbox: &Sandbox, model: &Model) {
        let state = sandbox.control.state();
        assert_eq!(state, model.state, "sandbox and model disagree");
        let pid = sandbox.pid;
        let kernel = kernel_state(pid);
        if state.is_final() {
            // Reaped: not even a zombie is left.
            assert_eq!(kernel, None, "runner {pid} still exists in {state:?}");
        } else {
            assert!(is_alive(pid), "runner {pid} is {kernel:?} in {state:?}");
            // A pause stops the process that runs the plugin.
            let runs = crate::common::plugin_process(pid);
            let kernel = kernel_state(runs);
            let stopped = matches!(kernel, Some('T' | 't'));
            assert_eq!(
                stopped,
                state == State::Paused,
                "the plugin's process {runs} is {kernel:?} in {state:?}"
            );
        }
    }

    fn teardown(sandbox: Sandbox) {
        let Sandbox {
            plugin,
            control,
            pid,
            fds_before,
            _serial,
        } = sandbox;
        drop(plugin);
        drop(control);
        assert_eq!(
            kernel_state(pid),
            None,
            "runner {pid} outlived its plugin handle"
        );
        fds_before.assert_none_leaked("the case");
    }
}
