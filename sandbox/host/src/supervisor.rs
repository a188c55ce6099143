//! The host side of one sandboxed plugin: spawn, lifecycle, calls, deadlines, reaping.
//!
//! Every wait has a deadline, every signal goes through a pidfd (no pid-reuse race), and
//! every process is reaped with `wait4` — on success, on failure and on drop. The host
//! never trusts the runner for how it ended: see [`crate::termination`].

use std::collections::VecDeque;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::unistd::Pid;
use sbx_ipc::{Frame, Message};

use crate::audit::{Audit, AuditEvent, MAX_KEPT_EVENTS};
use crate::broker::{Broker, BrokerConfigError, Capability, Grants};
use crate::cgroup::{CapLayer, PluginCgroup};
use crate::config::{ConfigError, MAX_FRAME_OUTPUT, SandboxConfig};
use crate::lifecycle::{Event, InvalidTransition, State};
use crate::liveness::{BEAT_INTERVAL, Beats, Liveness};
use crate::load_guard::LoadGuard;
use crate::process::ProcessView;
use crate::session::{Expect, HostSession, Step};
use crate::spawn::{Placed, SpawnError, kill_and_reap, map_runner_ids, spawn_runner};
use crate::termination::{Phase, ReapFacts, TerminationReason, TerminationRecord, classify};
use crate::window::PayloadWindow;
use sbx_contract::abi;
use sbx_contract::channel::{Channel, ChannelError, StreamChannel};
use sbx_contract::enforcement::{EnforcementReport, LOAD_GUARD_LAYER, Status};
use sbx_contract::ring::{RingChannel, SharedRing, Side};

pub use crate::session::MAX_KEPT_LOGS;
pub use crate::stats::{LogRecord, Stats};

/// How long a process that closed its channel may take to exit before it is killed.
const EXIT_GRACE: Duration = Duration::from_millis(500);

/// A failure of a sandbox operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The runner could not be started.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// The lifecycle does not allow this operation now; nothing was changed.
    #[error(transparent)]
    InvalidTransition(#[from] InvalidTransition),
    /// Loading or initialising failed; the process is gone and nothing is left behind.
    #[error("activation failed during {phase:?}: {message}")]
    ActivationFailed {
        /// The phase that failed.
        phase: Phase,
        /// What the runner or the host saw.
        message: String,
        /// How the process ended.
        termination: Box<TerminationRecord>,
    },
    /// The plugin answered a call with an error status; it keeps running.
    #[error("plugin returned {name} ({code}): {message}")]
    Plugin {
        /// `sbx_status` code.
        code: i32,
        /// Its `SBX_*` name.
        name: &'static str,
        /// Message from the runner.
        message: String,
    },
    /// The process ended during the operation (crash, limit, deadline, protocol violation).
    #[error("plugin process ended: {}", .0.reason.kind())]
    Ended(Box<TerminationRecord>),
    /// The process ended while the host paused or resumed it (it died as it was stopped or
    /// continued); it is not reaped yet: shutting down or killing the plugin reaps it and
    /// says how it ended.
    #[error("the plugin process ended while it was paused or resumed")]
    EndedWhileWaiting,
    /// The operating system refused a host-side operation (signal, poll).
    #[error("host operation failed: {0}")]
    Host(#[source] std::io::Error),
    /// The broker configuration cannot be served (bad allowlist, storage directory).
    #[error(transparent)]
    Broker(#[from] BrokerConfigError),
    /// The plugin's binary lacks hardening the configuration requires, or cannot be checked
    /// for it: nothing was spawned.
    #[error(transparent)]
    Hardening(#[from] crate::hardening::HardeningRefusal),
    /// The host's own request does not fit the channel (an input larger than the payload
    /// window, or without one than a frame): nothing was sent, and the plugin goes on as it
    /// was. The caller's fault, never the plugin's.
    #[error("the request is {len} bytes, more than the channel carries ({max})")]
    RequestTooLarge {
        /// The request's length: the input's in the window, the frame's without one.
        len: usize,
        /// The most the window's half, or a frame, carries.
        max: usize,
    },
}

/// Refuses, and audits the refusal of, a plugin whose binary lacks hardening `config`
/// requires ([`crate::hardening`]).
fn refuse_unhardened(config: &SandboxConfig, audit: &Audit) -> Result<(), SandboxError> {
    crate::hardening::check(config).map_err(|refusal| {
        audit.record(&AuditEvent::PackageRefused {
            kind: "not_hardened".into(),
            detail: refusal.to_string(),
        });
        SandboxError::Hardening(refusal)
    })
}

/// Call latencies kept for the percentiles.
const LATENCY_WINDOW: usize = 1024;

/// State shared with [`Controller`]s (other threads may pause, resume or kill).
struct Shared {
    state: Mutex<State>,
    /// Why the host killed the process, when it did.
    host_reason: Mutex<Option<TerminationReason>>,
    pidfd: OwnedFd,
    pid: Pid,
    /// What procfs says about the process.
    proc: ProcessView,
    /// The process that runs the plugin, when the runner started one in a pid namespace of
    /// its own: what a pause stops and what the figures read. Found once the runner reports
    /// its confinement.
    plugin_process: OnceLock<PluginProcess>,
    pause_deadline: Duration,
    /// Capabilities in force; revocable from any thread.
    grants: Grants,
    /// How long the process has been held stopped: a call is not charged for it.
    paused: Mutex<PauseClock>,
    /// The liveness beats, sent while a request waits.
    beats: Beats,
    /// Where events go: replaced once when a warm spare becomes a plugin's process
    /// ([`Plugin::adopt`]).
    audit: Mutex<Audit>,
    /// The newest events, also written to the audit log when there is one.
    events: Mutex<VecDeque<AuditEvent>>,
    /// What the plugin's process had used when the host killed it (see `kill_with`).
    used_before_kill: Mutex<Option<crate::process::Usage>>,
}

/// How long the runner may take to end once the plugin's process has ended (it reaps it,
/// ends the namespace's init and ends the same way at once): a bound, not a wait.
const RUNNER_ENDS_WITH_PLUGIN_WITHIN: Duration = Duration::from_secs(1);

/// How long a runner whose load failed by its own word (its Error frame, or its channel
/// closed as it died) may take to exit: the runner exits right after it, and a constructor
/// that forged the frame to be left running gets no longer than this.
const RUNNER_ENDS_AFTER_LOAD_FAILURE_WITHIN: Duration = Duration::from_secs(1);

/// The runner's child that runs the plugin, pid 2 of its own pid namespace.
struct PluginProcess {
    pidfd: OwnedFd,
    proc: ProcessView,
}

/// A sandboxed plugin: a confined runner process and the channel to it.
pub struct Plugin {
    shared: Arc<Shared>,
    channel: Box<dyn Channel>,
    violations: OwnedFd,
    config: SandboxConfig,
    enforcement: EnforcementReport,
    next_id: u64,
    /// What each frame of the runner means: answers, host calls, logs, breaches.
    session: HostSession,
    stats: Stats,
    latencies: VecDeque<u64>,
    /// Dropped after the process is reaped (fields drop after `Drop::drop`).
    cgroup: Option<PluginCgroup>,
    termination: Option<TerminationRecord>,
    /// Answers the loader's calls from `Confined` to `Loaded`, where it ends. A load that
    /// fails keeps it until the process is ended, so that the runner is not failed by its
    /// own loader's calls first and ends as the host decided.
    load_guard: Option<LoadGuard>,
    /// The memory file that carries inputs and outputs too large for a frame, when the
    /// configuration gives one.
    window: Option<PayloadWindow>,
    /// In the development mode: the calls the filter refused and the plugin went on from
    /// (the newest [`crate::development::MAX_KEPT`]).
    refused: Vec<crate::development::RefusedCall>,
    /// In the development mode: the read end of the runner's stderr, and what it carried
    /// (the first [`crate::development::MAX_STDERR`] bytes).
    stderr: Option<OwnedFd>,
    stderr_text: Vec<u8>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("pid", &self.shared.pid)
            .field("state", &self.state())
            .field("plugin", &self.config.plugin)
            .finish()
    }
}

impl Plugin {
    /// Starts the runner, confines it, loads the plugin and waits until it is `Loaded`.
    /// On any failure the process is killed and reaped before the error is returned.
    /// Events are kept in memory only; see [`Plugin::spawn_audited`].
    pub fn spawn(config: &SandboxConfig) -> Result<Plugin, SandboxError> {
        Plugin::spawn_audited(config, Audit::new(None, config.name.clone()))
    }

    /// [`Plugin::spawn`], with every event also appended to `audit`.
    pub fn spawn_audited(config: &SandboxConfig, audit: Audit) -> Result<Plugin, SandboxError> {
        // Confinement, load and its outcome, as the runner reports them (crate::trace).
        let _span = tracing::info_span!("activation", plugin = %config.name).entered();
        refuse_unhardened(config, &audit)?;
        let mut plugin = Plugin::start_runner(config, audit, false)?;
        let deadline = Instant::now() + config.deadlines.load;
        match plugin.finish_loading(deadline) {
            Ok(()) => Ok(plugin),
            Err(SandboxError::ActivationFailed {
                phase,
                message,
                termination,
            }) if !plugin.stderr().is_empty() => {
                // In the development mode: what the process said before it ended (a
                // sanitizer's runtime that could not start says why there).
                let said = String::from_utf8_lossy(plugin.stderr()).trim().to_owned();
                Err(SandboxError::ActivationFailed {
                    phase,
                    message: format!("{message}; it wrote on stderr: {said}"),
                    termination,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// A warm spare that runs no byte of the plugin yet: spawned and confined, its runner
    /// waiting for [`Plugin::load_confined`]. Events are kept in memory until then.
    pub(crate) fn spawn_confined(config: &SandboxConfig) -> Result<Plugin, SandboxError> {
        let _span = tracing::info_span!("spare", plugin = %config.name).entered();
        let audit = Audit::new(None, config.name.clone());
        let mut plugin = Plugin::start_runner(config, audit, true)?;
        let deadline = Instant::now() + config.deadlines.load;
        if let Err(failure) = plugin.await_loaded(deadline, true) {
            return Err(plugin.load_failed(failure, deadline));
        }
        Ok(plugin)
    }

    /// Activates a spare of [`Plugin::spawn_confined`] as `config`'s plugin, its events
    /// recorded to `audit` ([`Plugin::adopt`]): its runner loads the plugin now, within
    /// the load deadline from now. `Ok(false)`: the spare could not be told to load (it
    /// ended while it waited, or its channel failed), so nothing of the plugin ran in it
    /// and nothing of it reached `audit`: the caller takes another. An error after that is
    /// the load's own.
    pub(crate) fn load_confined(
        &mut self,
        config: &SandboxConfig,
        audit: Audit,
    ) -> Result<bool, SandboxError> {
        let _span = tracing::info_span!("activation", plugin = %config.name).entered();
        // Before the spare is told anything: a binary refused runs in no process.
        refuse_unhardened(config, &audit)?;
        let load = Frame {
            request_id: 0,
            message: Message::Load,
        };
        if self
            .channel
            .send(&load, Some(Instant::now() + config.deadlines.load))
            .is_err()
        {
            return Ok(false);
        }
        // Before anything the load reports is recorded: its records go to `audit` too.
        self.adopt(config, audit)?;
        // From here: opening the storage in `adopt` is not the load's time.
        self.finish_loading(Instant::now() + config.deadlines.load)?;
        Ok(true)
    }

    /// Forks and execs the runner for `config` and sets up the host's side of it; nothing
    /// read from it yet. `await_load`: it waits after its confinement for `Load`.
    fn start_runner(
        config: &SandboxConfig,
        audit: Audit,
        await_load: bool,
    ) -> Result<Plugin, SandboxError> {
        let grants = Grants::new(config.broker.grants.clone());
        // Before anything is spawned: a broker that cannot serve is a configuration error.
        let broker = Broker::new(config.broker.clone(), grants.clone())?;
        // A group when a cap asks for one; without a memory cap its memory is not limited.
        let cgroup =
            (config.memory_cap_mib.is_some() || config.cpu_rate_percent.is_some()).then(|| {
                PluginCgroup::create(
                    &config.host_paths.cgroup_root,
                    &config.name,
                    config
                        .memory_cap_mib
                        .map_or(i64::MAX as u64, |mib| mib << 20),
                    // The runner's liveness thread and its init are not the plugin's.
                    config
                        .limits
                        .processes
                        .saturating_add(sbx_contract::fds::RUNNER_OWN_TASKS),
                    config.cpu_rate_percent,
                )
            });
        let mut runner_cfg = config.runner_config(std::process::id());
        runner_cfg.await_load = await_load;
        if let (Some(c), Some(mib)) = (&cgroup, config.memory_cap_mib)
            && c.layer() == CapLayer::None
        {
            // No cgroup here: the address-space rlimit is the cap's last resort.
            runner_cfg.limits.address_space_bytes =
                runner_cfg.limits.address_space_bytes.min(mib << 20);
        }
        let json = serde_json::to_string(&runner_cfg)
            .map_err(|e| SandboxError::Host(std::io::Error::other(e)))?;
        let plugin_fd = config.sealed.as_ref().map(|s| s.fd());
        let window = match config.payload_window {
            0 => None,
            half => Some(PayloadWindow::create(half).map_err(SandboxError::Host)?),
        };
        let ring = match runner_cfg.ring {
            0 => None,
            capacity => Some(SharedRing::create(capacity).map_err(SandboxError::Host)?),
        };
        let procs = cgroup.as_ref().map(|c| c.procs_files()).unwrap_or_default();
        // In the development mode the runner's stderr is a pipe of the host's: what a
        // sanitizer's runtime reports reaches the plugin's author. Both ends non-blocking: a
        // plugin that writes more than the pipe holds loses the rest, and never waits.
        let stderr = if config.development {
            let nonblocking = nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK;
            Some(nix::unistd::pipe2(nonblocking).map_err(|e| SandboxError::Host(e.into()))?)
        } else {
            None
        };
        let placed = Placed {
            plugin: plugin_fd,
            window: window.as_ref().map(PayloadWindow::fd),
            ring: ring.as_ref().map(|(_, fd)| fd.as_fd()),
            stderr: stderr.as_ref().map(|(_, write)| write.as_fd()),
        };
        let proc = spawn_runner(
            &config.runner,
            &[json],
            &config.runner_env(),
            placed,
            &procs,
            config.layers.host_closes_descriptors,
        )?;
        // SAFETY: pidfd_open on a child we have not reaped: the pid is ours.
        let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, proc.pid.as_raw(), 0) };
        if raw < 0 {
            let err = std::io::Error::last_os_error();
            kill_and_reap(proc.pid);
            return Err(SandboxError::Host(err));
        }
        // SAFETY: pidfd_open returned a fresh descriptor we own.
        let pidfd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
        // A root host's runner leaves root, then stops in its user namespace for the host to
        // write its maps. (With no id for it, past the largest uid, it refuses to start and
        // says so.)
        if runner_cfg.ids_mapped_by_host(nix::unistd::geteuid().is_root())
            && let Some(id) = runner_cfg
                .unprivileged_id
                .for_runner(proc.pid.as_raw() as u32)
            && let Err(e) = map_runner_ids(proc.pid, id, config.deadlines.load)
        {
            kill_and_reap(proc.pid);
            return Err(e.into());
        }
        let set_up = nix::fcntl::fcntl(
            &proc.violations,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        )
        .map_err(std::io::Error::from)
        .and_then(|_| Beats::new(proc.liveness))
        .and_then(|beats| Ok((StreamChannel::new(proc.channel)?.accepting_passed(), beats)))
        .map(|(stream, beats)| {
            // The runner has its copy of the ring's file; the host keeps the mapping.
            let channel: Box<dyn Channel> = match ring {
                Some((ring, _fd)) => Box::new(RingChannel::new(stream, Some(ring), Side::Host)),
                None => Box::new(stream),
            };
            (channel, beats)
        });
        let (channel, beats) = match set_up {
            Ok(both) => both,
            Err(e) => {
                // Nothing may be left behind: kill and reap before reporting.
                kill_and_reap(proc.pid);
                return Err(SandboxError::Host(e));
            }
        };
        Ok(Plugin {
            shared: Arc::new(Shared {
                state: Mutex::new(State::Loaded),
                host_reason: Mutex::new(None),
                pidfd,
                pid: proc.pid,
                proc: ProcessView::new(&config.host_paths.proc_root, proc.pid),
                plugin_process: OnceLock::new(),
                pause_deadline: config.deadlines.pause,
                grants,
                paused: Mutex::new(PauseClock::default()),
                beats,
                audit: Mutex::new(audit),
                events: Mutex::new(VecDeque::new()),
                used_before_kill: Mutex::new(None),
            }),
            channel,
            violations: proc.violations,
            config: config.clone(),
            enforcement: EnforcementReport::default(),
            next_id: 1,
            session: HostSession::new(broker, config.limits.output_bytes as usize)
                .with_window(window.as_ref().map(PayloadWindow::half)),
            stats: Stats::default(),
            latencies: VecDeque::new(),
            cgroup,
            termination: None,
            load_guard: None,
            window,
            refused: Vec::new(),
            stderr: stderr.map(|(read, _)| read),
            stderr_text: Vec::new(),
        })
    }

    /// Waits for `Confined` (unless it came) and `Loaded`, and records the process as the
    /// plugin's; on failure the process is ended and reaped first.
    fn finish_loading(&mut self, deadline: Instant) -> Result<(), SandboxError> {
        let plugin = self;
        match plugin.await_loaded(deadline, false) {
            Ok(()) => {
                if let Some(c) = &plugin.cgroup
                    && plugin.config.memory_cap_mib.is_some()
                {
                    let status = match c.layer() {
                        CapLayer::None => Status::Unavailable,
                        CapLayer::V1 | CapLayer::V2 => Status::Applied,
                    };
                    plugin
                        .enforcement
                        .record("cgroup.memory", status, c.detail().to_owned());
                }
                let (status, detail) = if plugin.config.layers.host_closes_descriptors {
                    (
                        Status::Applied,
                        "the host closed every descriptor it did not place before exec",
                    )
                } else {
                    (
                        Status::Disabled,
                        "switched off: the host's descriptors not close-on-exec reach the runner",
                    )
                };
                plugin
                    .enforcement
                    .record("descriptors.host", status, detail);
                if let Some((holds, detail)) = plugin.cgroup.as_ref().and_then(|c| c.cpu_detail()) {
                    let status = if holds {
                        Status::Applied
                    } else {
                        Status::Unavailable
                    };
                    plugin
                        .enforcement
                        .record("cgroup.cpu", status, detail.to_owned());
                }
                let enforcement = plugin
                    .enforcement
                    .layers
                    .iter()
                    .map(|l| format!("{}={}", l.layer, l.status.name()))
                    .collect();
                plugin.shared.emit(AuditEvent::Spawned {
                    pid: plugin.pid(),
                    enforcement,
                });
                for c in plugin.shared.grants.current() {
                    plugin.shared.emit(AuditEvent::Granted {
                        capability: c.name().into(),
                    });
                }
                plugin.shared.emit(AuditEvent::State {
                    from: "unloaded".into(),
                    to: "loaded".into(),
                });
                Ok(())
            }
            Err(failure) => Err(plugin.load_failed(failure, deadline)),
        }
    }

    /// Ends a process whose load failed and the error that says so. The loader's rights
    /// end first, whatever the failure: what reported it may be the plugin's constructor.
    /// A runner that ends by itself (it refused the load, or its channel closed as it died)
    /// gets a moment to do so, within `deadline`, and its end is recorded as it happened;
    /// one that broke the protocol is killed at once.
    fn load_failed(&mut self, failure: LoadFailure, deadline: Instant) -> SandboxError {
        if let Some(guard) = self.load_guard.take() {
            guard.end();
        }
        let grace = if failure.ends_by_itself {
            deadline.min(Instant::now() + RUNNER_ENDS_AFTER_LOAD_FAILURE_WITHIN)
        } else {
            Instant::now()
        };
        let termination = self.end(failure.reason, grace);
        SandboxError::ActivationFailed {
            phase: Phase::Load,
            message: failure.message,
            termination: Box::new(termination),
        }
    }

    /// Waits for `Confined` then `Loaded` (`only_confined`: returns at `Confined`). On failure
    /// returns a message and the reason the host should record if it has to kill the process.
    fn await_loaded(&mut self, deadline: Instant, only_confined: bool) -> Result<(), LoadFailure> {
        let timeout = TerminationReason::WallTimeout {
            phase: Phase::Load,
            after_ms: self.config.deadlines.load.as_millis() as u64,
        };
        loop {
            let frame = match self.channel.recv(Some(deadline)) {
                Ok(f) => f,
                Err(ChannelError::Timeout) => {
                    return Err(LoadFailure::fault("load deadline expired".into(), timeout));
                }
                Err(ChannelError::Closed) => {
                    let closed = ChannelError::Closed.to_string();
                    return Err(LoadFailure::ending(
                        format!("channel: {closed}"),
                        protocol(closed),
                    ));
                }
                Err(e) => {
                    return Err(LoadFailure::fault(
                        format!("channel: {e}"),
                        protocol(e.to_string()),
                    ));
                }
            };
            match frame.message {
                Message::Confined { report } if self.enforcement.layers.is_empty() => {
                    // Sent by the process that runs the plugin: it exists by now.
                    self.shared
                        .find_plugin_process(&self.config.host_paths.proc_root);
                    match serde_json::from_slice::<EnforcementReport>(&report) {
                        Ok(r) if !r.layers.is_empty() => self.enforcement = r,
                        _ => {
                            return Err(LoadFailure::broken(
                                "unreadable enforcement report".into(),
                            ));
                        }
                    }
                    self.load_guard = self.take_load_guard().map_err(LoadFailure::broken)?;
                    if only_confined {
                        return Ok(());
                    }
                }
                Message::Loaded { abi_version } if !self.enforcement.layers.is_empty() => {
                    // Whoever wrote it, the loader's rights end here, and the runner's frames
                    // take the channel's fast path from here.
                    let let_through = self.load_guard.take().map(LoadGuard::end);
                    self.channel.start_fast_path();
                    tracing::debug!(?let_through, "loader calls let through until Loaded");
                    if abi_version != abi::ABI_VERSION {
                        return Err(LoadFailure::broken(format!(
                            "runner reports ABI {abi_version}"
                        )));
                    }
                    return Ok(());
                }
                Message::Log { level, message } => {
                    let mut events = Vec::new();
                    self.session.keep_log(level, message, &mut events);
                    self.shared.emit_all(events);
                }
                // The runner's own refusal (strict mode, dlopen failure, bad ABI version).
                Message::Error { message, .. } => {
                    return Err(LoadFailure::ending(
                        message,
                        TerminationReason::KilledByHost,
                    ));
                }
                other => {
                    return Err(LoadFailure::broken(format!(
                        "unexpected {} while loading",
                        other.name()
                    )));
                }
            }
        }
    }

    /// The guard of the loader's calls, started on the listener the runner passed with its
    /// report: one when the report has the `seccomp.load_guard` layer in force, none
    /// otherwise.
    fn take_load_guard(&mut self) -> Result<Option<LoadGuard>, String> {
        let guarded = self
            .enforcement
            .get(LOAD_GUARD_LAYER)
            .is_some_and(|l| l.status == Status::Applied);
        match (guarded, self.channel.take_passed()) {
            (true, Some(listener)) => LoadGuard::watch(listener, &self.config.host_paths.proc_root)
                .map(Some)
                .map_err(|e| format!("load guard: {e}")),
            (true, None) => Err("the runner reports a load guard and passed no listener".into()),
            (false, Some(_)) => {
                Err("the runner passed a descriptor and reports no load guard".into())
            }
            (false, None) => Ok(None),
        }
    }

    /// Calls `sbx_plugin_init` (Loaded -> Initialized). A failed init is a failed activation:
    /// the process is stopped and reaped, and the plugin is Failed.
    pub fn init(&mut self, config: &[u8]) -> Result<(), SandboxError> {
        let _span = tracing::info_span!(
            "init",
            plugin = %self.config.name,
            config_bytes = config.len()
        )
        .entered();
        let next = self.check(Event::Init)?;
        let msg = Message::Init {
            config: config.to_vec(),
        };
        let answer = self.request(msg, Phase::Init, self.config.deadlines.init);
        self.read_development_reports();
        match answer {
            Ok(_) => {
                self.set_state(next);
                Ok(())
            }
            Err(SandboxError::Plugin {
                code,
                name,
                message,
            }) => {
                // A failed activation rolls back: no process is left, and the plugin is Failed.
                let grace = Instant::now() + self.config.deadlines.shutdown;
                let termination = self.end(TerminationReason::KilledByHost, grace);
                self.set_state(State::Failed);
                Err(SandboxError::ActivationFailed {
                    phase: Phase::Init,
                    message: format!("sbx_plugin_init returned {name} ({code}): {message}"),
                    termination: Box::new(termination),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Initialized -> Running: the plugin accepts calls from now on.
    pub fn start(&mut self) -> Result<(), SandboxError> {
        let next = self.check(Event::Start)?;
        self.set_state(next);
        Ok(())
    }

    /// Calls `sbx_plugin_invoke`. A plugin error status is [`SandboxError::Plugin`] and the
    /// plugin keeps running; a crash, a missed deadline or a protocol violation ends it.
    pub fn invoke(&mut self, method: &str, input: &[u8]) -> Result<Vec<u8>, SandboxError> {
        let _span = tracing::info_span!(
            "call",
            plugin = %self.config.name,
            method,
            input_bytes = input.len()
        )
        .entered();
        self.check(Event::Invoke)?;
        let started = Instant::now();
        let msg = self.call_message(method, input)?;
        let result = self.request(msg, Phase::Call, self.config.deadlines.call);
        self.read_development_reports();
        self.note_cpu_throttling();
        let duration_us = started.elapsed().as_micros() as u64;
        if matches!(result, Ok(_) | Err(SandboxError::Plugin { .. })) {
            if self.latencies.len() == LATENCY_WINDOW {
                self.latencies.pop_front();
            }
            self.latencies.push_back(duration_us);
            self.stats.invocations += 1;
            self.stats.total_latency_us += duration_us;
            self.stats.max_latency_us = self.stats.max_latency_us.max(duration_us);
            self.stats.count_latency(duration_us);
            if result.is_err() {
                self.stats.errors += 1;
            }
        }
        match &result {
            Ok(Message::Result { output }) => {
                tracing::info!(duration_us, output_bytes = output.len(), "call answered")
            }
            Ok(Message::ResultShared { output_len }) => {
                tracing::info!(duration_us, output_bytes = output_len, "call answered")
            }
            Ok(_) => tracing::info!(duration_us, output_bytes = 0, "call answered"),
            Err(SandboxError::Plugin { name, .. }) => {
                tracing::info!(duration_us, status = *name, "call refused by the plugin")
            }
            Err(e) => tracing::warn!(duration_us, error = %e, "call failed"),
        }
        match result? {
            Message::Result { output } => Ok(output),
            // Within the window's half and the output bound: the session checked both.
            Message::ResultShared { output_len } => match &self.window {
                Some(window) => window
                    .read_output(u64::from(output_len))
                    .map_err(SandboxError::Host),
                None => Ok(Vec::new()),
            },
            // `request` returns a Result message for every call that is not a heartbeat.
            _ => Ok(Vec::new()),
        }
    }

    /// The message that carries a call. Inline while the input is small and the output bound
    /// fits a frame; otherwise through the payload window, where the input is written first
    /// (and the output may be as large as the bound). Without a window everything is inline,
    /// and a frame bounds the input.
    fn call_message(&self, method: &str, input: &[u8]) -> Result<Message, SandboxError> {
        let inline = || Message::Invoke {
            method: method.to_owned(),
            input: input.to_vec(),
        };
        let Some(window) = &self.window else {
            return Ok(inline());
        };
        let large_output = u64::from(self.config.limits.output_bytes) > MAX_FRAME_OUTPUT;
        if input.len() <= sbx_ipc::INLINE_MAX && !large_output {
            return Ok(inline());
        }
        let input_len = u32::try_from(input.len())
            .ok()
            .filter(|&len| u64::from(len) <= window.half())
            .ok_or(SandboxError::RequestTooLarge {
                len: input.len(),
                max: usize::try_from(window.half()).unwrap_or(usize::MAX),
            })?;
        window.write_input(input).map_err(SandboxError::Host)?;
        Ok(Message::InvokeShared {
            method: method.to_owned(),
            input_len,
        })
    }

    /// Reports the time the CPU rate cap held the plugin back since the last look: a
    /// `limit_hit` record (`cpu_rate`, throttled) with the microseconds waited and the
    /// quota per period, and the total in the stats.
    fn note_cpu_throttling(&mut self) {
        let Some(cgroup) = &self.cgroup else {
            return;
        };
        let (Some(now), Some(quota_us)) = (cgroup.cpu_throttling(), cgroup.cpu_quota_us()) else {
            return;
        };
        let waited = now.throttled_us.saturating_sub(self.stats.cpu_throttled_us);
        let periods = now.periods.saturating_sub(self.stats.cpu_throttled_periods);
        if periods == 0 {
            return;
        }
        self.stats.cpu_throttled_us = now.throttled_us;
        self.stats.cpu_throttled_periods = now.periods;
        self.shared.emit(AuditEvent::LimitHit {
            limit: crate::event::Limit::CpuRate,
            action: crate::event::LimitAction::Throttled,
            value: waited,
            max: quota_us,
        });
    }

    /// Sends a heartbeat and waits for its echo. A runner that does not answer in time is
    /// killed (it is hung).
    pub fn ping(&mut self) -> Result<Duration, SandboxError> {
        let state = self.state();
        if state.is_final() || state == State::Paused {
            return Err(InvalidTransition {
                from: state,
                event: Event::Invoke,
            }
            .into());
        }
        let started = Instant::now();
        self.request(
            Message::Heartbeat,
            Phase::Heartbeat,
            self.config.deadlines.heartbeat,
        )?;
        Ok(started.elapsed())
    }

    /// Running -> Paused: stops the process (SIGSTOP) and waits until the kernel reports it
    /// stopped. A call in flight is not charged for the time it is held stopped: its
    /// deadline moves on by as much.
    pub fn pause(&self) -> Result<(), SandboxError> {
        self.controller().pause()
    }

    /// Paused -> Running: continues the process.
    pub fn resume(&self) -> Result<(), SandboxError> {
        self.controller().resume()
    }

    /// A handle other threads can use to pause, resume or kill this plugin.
    pub fn controller(&self) -> Controller {
        Controller {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Graceful shutdown: `sbx_plugin_shutdown`, then the process exits. A plugin that does
    /// not finish within the shutdown deadline is killed. Ends in Terminated; its figures and
    /// log records, those of the shutdown too, stay readable.
    pub fn shutdown(&mut self) -> Result<TerminationRecord, SandboxError> {
        let _span = tracing::info_span!("shutdown", plugin = %self.config.name).entered();
        let state = self.state();
        let next = state.apply(Event::Terminate)?;
        if state == State::Paused {
            // A stopped process cannot shut down; continue it first. Its shutdown deadline
            // runs from here: the pause is over.
            let _ = self.shared.signal(libc::SIGCONT);
            self.shared.pause_ended();
        }
        let budget = self.config.deadlines.shutdown;
        let record = match self.request(Message::Shutdown, Phase::Shutdown, budget) {
            // The runner exits right after its reply; give it the same budget to do so.
            Ok(_) => self.end(TerminationReason::KilledByHost, Instant::now() + budget),
            Err(SandboxError::Ended(record)) => *record,
            Err(_) => self.end(TerminationReason::KilledByHost, Instant::now()),
        };
        self.set_state(next);
        Ok(record)
    }

    /// Kills the process now (SIGKILL) and reaps it. Ends in Terminated.
    pub fn kill(&mut self) -> Result<TerminationRecord, SandboxError> {
        let next = self.state().apply(Event::Terminate)?;
        let record = self.end(TerminationReason::KilledByHost, Instant::now());
        self.set_state(next);
        Ok(record)
    }

    /// Current lifecycle state.
    pub fn state(&self) -> State {
        *self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What confinement is in force, as the runner reported it before loading the plugin.
    pub fn enforcement(&self) -> &EnforcementReport {
        &self.enforcement
    }

    /// The runner's pid in the host's pid namespace.
    pub fn pid(&self) -> i32 {
        self.shared.pid.as_raw()
    }

    /// In the development mode, the system calls the filter refused and the plugin went on
    /// from, oldest first (the newest [`crate::development::MAX_KEPT`]); empty otherwise.
    pub fn refused_calls(&self) -> &[crate::development::RefusedCall] {
        &self.refused
    }

    /// In the development mode, what the runner wrote on its stderr (a sanitizer's reports),
    /// its first [`crate::development::MAX_STDERR`] bytes; empty otherwise.
    pub fn stderr(&self) -> &[u8] {
        &self.stderr_text
    }

    /// Reads what the violation pipe and the runner's stderr hold now, in the development
    /// mode: the reports of the calls refused since the last read, and what was written.
    /// The host's ends are non-blocking (set at the spawn); a record torn by a full pipe is
    /// skipped.
    fn read_development_reports(&mut self) {
        if !self.config.development {
            return;
        }
        let mut bytes = Vec::new();
        let mut buf = [0u8; 8192];
        while let Ok(n) = nix::unistd::read(&self.violations, &mut buf) {
            if n == 0 {
                break;
            }
            bytes.extend_from_slice(&buf[..n]);
            if bytes.len() > crate::development::MAX_KEPT * sbx_contract::development::RECORD_LEN {
                break;
            }
        }
        self.refused
            .extend(crate::development::refused_calls(&bytes));
        let over = self
            .refused
            .len()
            .saturating_sub(crate::development::MAX_KEPT);
        self.refused.drain(..over);
        if let Some(stderr) = &self.stderr {
            while let Ok(n) = nix::unistd::read(stderr, &mut buf) {
                let room = crate::development::MAX_STDERR.saturating_sub(self.stderr_text.len());
                if n == 0 || room == 0 {
                    break;
                }
                self.stderr_text.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }

    /// Log records kept so far (at most [`MAX_KEPT_LOGS`], newest last).
    pub fn logs(&self) -> impl Iterator<Item = &LogRecord> {
        self.session.logs()
    }

    /// Figures measured by the host, with live CPU and memory from /proc (or, once the
    /// process has ended, from its reaping).
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        if let Some(usage) = self.shared.plugin_view().usage() {
            s.cpu_us = usage.cpu_us;
            s.peak_rss_kib = usage.peak_rss_kib;
        } else if let Some(t) = &self.termination {
            s.cpu_us = t.cpu_user_us + t.cpu_system_us;
            s.peak_rss_kib = t.peak_rss_kib;
        }
        let mut sorted: Vec<u64> = self.latencies.iter().copied().collect();
        sorted.sort_unstable();
        let pct = |p: usize| {
            sorted
                .get((sorted.len() * p / 100).min(sorted.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0)
        };
        s.p50_latency_us = pct(50);
        s.p95_latency_us = pct(95);
        s.p99_latency_us = pct(99);
        let logs = self.session.log_counts();
        s.log_records = logs.records;
        s.log_bytes = logs.bytes;
        s.logs_dropped = logs.dropped;
        s.broker = self.session.broker_stats();
        s
    }

    /// Capabilities in force now.
    pub fn grants(&self) -> std::collections::BTreeSet<Capability> {
        self.shared.grants.current()
    }

    /// The newest events (at most [`MAX_KEPT_EVENTS`]), oldest first.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.shared
            .events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Messages the plugin showed the user through `notify_user`.
    pub fn notifications(&self) -> &[String] {
        self.session.notifications()
    }

    /// The plugin's name (in the audit log and storage).
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// How the process ended, once it has.
    pub fn termination(&self) -> Option<&TerminationRecord> {
        self.termination.as_ref()
    }

    /// Makes this loaded process, spawned as a warm spare with `config` less its storage
    /// (and with as many grants or more), the process of `config`'s plugin: its grants
    /// narrowed to `config`'s (a spare spawned before a revocation holds what was revoked
    /// since), a broker of `config`'s own (its storage opened now, so that what an earlier
    /// process of the plugin stored since counts, and nothing of a store in use was touched
    /// while the spare waited), and its events recorded to `audit` from now on, those kept
    /// since its spawn first (but for grants it no longer holds).
    pub(crate) fn adopt(
        &mut self,
        config: &SandboxConfig,
        audit: Audit,
    ) -> Result<(), SandboxError> {
        for c in self.shared.grants.current() {
            if !config.broker.grants.contains(&c) {
                self.shared.grants.revoke(c);
            }
        }
        let broker = Broker::new(config.broker.clone(), self.shared.grants.clone())?;
        self.session.replace_broker(broker);
        self.config = config.clone();
        // The audit first: an event emitted meanwhile is then either kept (and replayed) or
        // recorded to the new one, never to the spare's.
        let mut current = self.shared.audit.lock().unwrap_or_else(|p| p.into_inner());
        let kept = self.events();
        for event in &kept {
            let withdrawn = matches!(
                event,
                AuditEvent::Granted { capability }
                    if Capability::from_name(capability)
                        .is_some_and(|c| !config.broker.grants.contains(&c))
            );
            if !withdrawn {
                audit.record(event);
            }
        }
        *current = audit;
        Ok(())
    }

    /// Whether the process has ended, without waiting and without reaping it.
    pub(crate) fn has_ended(&self) -> bool {
        self.termination.is_some() || self.shared.wait_exit(Instant::now())
    }

    // ---- internals ---------------------------------------------------------------

    fn check(&self, event: Event) -> Result<State, SandboxError> {
        Ok(self.state().apply(event)?)
    }

    fn set_state(&self, state: State) {
        let mut current = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        let from = *current;
        *current = state;
        drop(current);
        self.shared.emit_transition(from, state);
    }

    /// Sends a request and waits for its reply. Any fault ends the process and moves the
    /// plugin to Failed.
    fn request(
        &mut self,
        message: Message,
        phase: Phase,
        budget: Duration,
    ) -> Result<Message, SandboxError> {
        let id = self.next_id;
        let frame = Frame {
            request_id: id,
            message,
        };
        // Refused before anything starts: a request too large is the host's own, and the
        // plugin, which never saw it, must not pay for it.
        let len = frame.encoded_len();
        if len > sbx_ipc::MAX_FRAME_LEN {
            return Err(SandboxError::RequestTooLarge {
                len,
                max: sbx_ipc::MAX_FRAME_LEN,
            });
        }
        self.next_id += 1;
        self.shared.beats.start();
        let clock = RequestClock {
            sent: Instant::now(),
            budget,
            paused_before: self.shared.paused_for(),
        };
        let timeout = TerminationReason::WallTimeout {
            phase,
            after_ms: budget.as_millis() as u64,
        };
        let expect = match frame.message {
            Message::Heartbeat => Expect::Heartbeat,
            _ => Expect::Reply,
        };
        if let Err(e) = self
            .channel
            .send(&frame, Some(clock.deadline(&self.shared)))
        {
            return Err(self.send_failed(e, timeout));
        }
        loop {
            // Woken for each liveness beat while the answer is due.
            let wake = clock
                .deadline(&self.shared)
                .min(Instant::now() + BEAT_INTERVAL);
            let frame = match self.channel.recv(Some(wake)) {
                Ok(f) => f,
                // Not due yet (or paused meanwhile, which moved the deadline on): a beat,
                // unless the host holds the process stopped, then wait on.
                Err(ChannelError::Timeout) if clock.deadline(&self.shared) > Instant::now() => {
                    if self.state() != State::Paused {
                        self.shared.beats.beat();
                    }
                    continue;
                }
                Err(ChannelError::Timeout) => {
                    // Whether it still answered its beats: busy or blocked in the request
                    // (working), or answering nothing (hung).
                    self.shared.emit(AuditEvent::DeadlineMissed {
                        phase,
                        liveness: self.shared.beats.liveness(),
                        last_answer_ms: self.shared.beats.last_answer_ms(),
                    });
                    return Err(self.fault(timeout));
                }
                Err(ChannelError::Closed) => return Err(self.channel_closed()),
                Err(e) => return Err(self.fault(protocol(e.to_string()))),
            };
            let mut events = Vec::new();
            let step = self.session.on_frame(id, expect, frame, &mut events);
            self.shared.emit_all(events);
            match step {
                Step::Continue => {}
                Step::Reply(reply) => {
                    if let Err(e) = self
                        .channel
                        .send(&reply, Some(clock.deadline(&self.shared)))
                    {
                        return Err(self.send_failed(e, timeout.clone()));
                    }
                }
                Step::Answer(message) => return Ok(message),
                Step::PluginError { code, message } => {
                    return Err(SandboxError::Plugin {
                        code,
                        name: abi::status_name(code),
                        message,
                    });
                }
                Step::Violation(detail) => return Err(self.fault(protocol(detail))),
            }
        }
    }

    /// A send that failed during a request: a missed deadline, a closed channel or a broken
    /// one each end the process.
    fn send_failed(&mut self, e: ChannelError, timeout: TerminationReason) -> SandboxError {
        match e {
            ChannelError::Timeout => self.fault(timeout),
            ChannelError::Closed => self.channel_closed(),
            other => self.fault(protocol(format!("sending: {other}"))),
        }
    }

    /// Ends the process for a fault at once (the reason is recorded before the kill, so a
    /// process that exits cleanly in the meantime is still a fault) and moves the plugin to
    /// Failed.
    fn fault(&mut self, reason: TerminationReason) -> SandboxError {
        self.shared.kill_with(reason.clone());
        let record = self.end(reason, Instant::now());
        self.set_state(ended_in(&record));
        SandboxError::Ended(Box::new(record))
    }

    /// The channel closed: usually the process died (its own status tells how). One that
    /// closed the channel and lingers is a protocol violation.
    fn channel_closed(&mut self) -> SandboxError {
        let reason = protocol("closed the channel and kept running".into());
        let mut record = self.end(reason, Instant::now() + EXIT_GRACE);
        // The runner exits with its channel code only when the channel failed under it: with
        // a request pending, that is the plugin closing or corrupting the channel.
        if record.reason
            == (TerminationReason::Exit {
                code: sbx_contract::exit_code::CHANNEL,
            })
        {
            record.reason = protocol(format!(
                "the channel failed during a request (runner exit {})",
                sbx_contract::exit_code::CHANNEL
            ));
            self.termination = Some(record.clone());
        }
        self.set_state(ended_in(&record));
        SandboxError::Ended(Box::new(record))
    }

    /// Waits until `grace` for the process to exit; then kills it (recording `reason` as the
    /// host's) and reaps it. Idempotent.
    fn end(&mut self, reason: TerminationReason, grace: Instant) -> TerminationRecord {
        if let Some(t) = &self.termination {
            return t.clone();
        }
        // The plugin's process has ended already: the runner ends as it did, at once. A
        // kill before it has would record a crash as the host's kill.
        let grace = if self.shared.plugin_process_ended() {
            grace.max(Instant::now() + RUNNER_ENDS_WITH_PLUGIN_WITHIN)
        } else {
            grace
        };
        if !self.shared.wait_exit(grace) {
            self.shared.kill_with(reason);
        }
        let used_before_kill = *self
            .shared
            .used_before_kill
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let record = self.reap(used_before_kill);
        self.termination = Some(record.clone());
        self.shared.emit(AuditEvent::Terminated {
            reason: record.reason.kind(),
            detail: serde_json::to_string(&record.reason).unwrap_or_default(),
        });
        self.shared.emit(AuditEvent::Stats {
            stats: Box::new(self.stats()),
        });
        record
    }

    /// Reaps the runner; `used_before_kill` is its plugin's process's use, read before a
    /// kill that left the runner no time to reap that process (its figures are then the
    /// floor of the record's).
    fn reap(&mut self, used_before_kill: Option<crate::process::Usage>) -> TerminationRecord {
        let mut status: libc::c_int = 0;
        // SAFETY: zeroed rusage is a valid out-parameter.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let reaped = loop {
            // SAFETY: wait4 on our own child with valid out-pointers. The process has exited
            // or been sent SIGKILL, so this returns promptly.
            let rc = unsafe { libc::wait4(self.shared.pid.as_raw(), &mut status, 0, &mut usage) };
            if rc >= 0 {
                break true;
            }
            if nix::errno::Errno::last() != nix::errno::Errno::EINTR {
                break false;
            }
        };
        let mut facts = ReapFacts {
            host_reason: self
                .shared
                .host_reason
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            cpu_user_us: tv_us(usage.ru_utime),
            cpu_system_us: tv_us(usage.ru_stime),
            peak_rss_kib: usage.ru_maxrss.max(0) as u64,
            cpu_limit_seconds: self
                .config
                .layers
                .rlimits
                .then_some(self.config.limits.cpu_seconds),
            oom_killed: self.cgroup.as_ref().is_some_and(|c| c.oom_killed()),
            ..ReapFacts::default()
        };
        if let Some(seen) = used_before_kill {
            facts.cpu_user_us = facts.cpu_user_us.max(seen.cpu_user_us);
            facts.cpu_system_us = facts.cpu_system_us.max(seen.cpu_system_us);
            facts.peak_rss_kib = facts.peak_rss_kib.max(seen.peak_rss_kib);
        }
        // Without a status (wait4 failed) nothing is invented: the record has neither code
        // nor signal and names the host as the cause.
        if reaped && libc::WIFEXITED(status) {
            facts.exit_code = Some(libc::WEXITSTATUS(status));
        } else if reaped && libc::WIFSIGNALED(status) {
            facts.signal = Some(libc::WTERMSIG(status));
        }
        // In the development mode the pipe carries the reports of refused calls, and no
        // number precedes a kill (the kill list kills without the handler).
        if self.config.development {
            self.read_development_reports();
            return classify(&facts);
        }
        // The SIGSYS handler's write is the last thing the process did; a plugin may have
        // written numbers before it, so only the last four bytes count (and only advisorily).
        let mut pipe = [0u8; 4096];
        if let Ok(n) = nix::unistd::read(&self.violations, &mut pipe)
            && n >= 4
        {
            let mut last = [0u8; 4];
            last.copy_from_slice(&pipe[n - 4..n]);
            facts.reported_syscall = Some(i64::from(i32::from_le_bytes(last)));
        }
        classify(&facts)
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        // Never leave a process or a zombie behind, whatever path dropped the handle.
        if self.termination.is_none() {
            self.end(TerminationReason::KilledByHost, Instant::now());
        }
    }
}

/// The final state of a plugin whose process ended during a request: Terminated when the
/// host killed it on request (a [`Controller::kill`] from another thread, seen here first),
/// Failed for every fault.
fn ended_in(record: &TerminationRecord) -> State {
    if record.reason == TerminationReason::KilledByHost {
        State::Terminated
    } else {
        State::Failed
    }
}

/// When a request must be answered: its budget from when it was sent, moved on by the time
/// the host held the process stopped meanwhile (a pause during the call), since the budget
/// counts the time the process could run.
struct RequestClock {
    sent: Instant,
    budget: Duration,
    /// [`Shared::paused_for`] when it was sent.
    paused_before: Duration,
}

impl RequestClock {
    fn deadline(&self, shared: &Shared) -> Instant {
        self.sent + self.budget + shared.paused_for().saturating_sub(self.paused_before)
    }
}

/// The time a plugin's process has been held stopped, all pauses together.
#[derive(Debug, Default)]
struct PauseClock {
    /// The pauses that ended.
    ended: Duration,
    /// When the pause in force began.
    since: Option<Instant>,
}

/// Why a load failed: what to say, the reason recorded if the host kills the runner, and
/// whether the runner is ending by itself ([`Plugin::load_failed`]).
struct LoadFailure {
    message: String,
    reason: TerminationReason,
    ends_by_itself: bool,
}

impl LoadFailure {
    /// The runner is on its way out (its own refusal, or a channel closed as it died).
    fn ending(message: String, reason: TerminationReason) -> LoadFailure {
        LoadFailure {
            message,
            reason,
            ends_by_itself: true,
        }
    }

    /// The host ends the runner at once for `reason`.
    fn fault(message: String, reason: TerminationReason) -> LoadFailure {
        LoadFailure {
            message,
            reason,
            ends_by_itself: false,
        }
    }

    /// A frame or report that breaks the protocol: ended at once as a violation.
    fn broken(message: String) -> LoadFailure {
        LoadFailure::fault(message.clone(), protocol(message))
    }
}

fn protocol(detail: String) -> TerminationReason {
    TerminationReason::ProtocolViolation { detail }
}

fn tv_us(tv: libc::timeval) -> u64 {
    (tv.tv_sec.max(0) as u64) * 1_000_000 + tv.tv_usec.max(0) as u64
}

impl Shared {
    fn emit(&self, event: AuditEvent) {
        // Kept while the audit is held, in the order `Plugin::adopt` takes them: an event
        // is either recorded to the audit it replaces and kept (so replayed), or recorded
        // to the new one.
        let audit = self.audit.lock().unwrap_or_else(|p| p.into_inner());
        audit.record(&event);
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        if events.len() == MAX_KEPT_EVENTS {
            events.pop_front();
        }
        events.push_back(event);
    }

    /// Records a transition of the plugin's lifecycle, when it is one (`from` is not `to`):
    /// whoever made it, the owner or a [`Controller`] from another thread.
    fn emit_transition(&self, from: State, to: State) {
        if from != to {
            self.emit(AuditEvent::State {
                from: from.name().into(),
                to: to.name().into(),
            });
        }
    }

    fn emit_all(&self, events: Vec<AuditEvent>) {
        for e in events {
            self.emit(e);
        }
    }

    /// Sends `signal` to the process that runs the plugin; a SIGKILL to the runner too.
    fn signal(&self, signal: i32) -> std::io::Result<()> {
        let Some(plugin) = self.plugin_process.get() else {
            return send_signal(&self.pidfd, signal);
        };
        if signal == libc::SIGKILL {
            // The runner first: the plugin's process dies with it in any case.
            let runner = send_signal(&self.pidfd, signal);
            let _ = send_signal(&plugin.pidfd, signal);
            return runner;
        }
        send_signal(&plugin.pidfd, signal)
    }

    /// The runner's child that runs the plugin has ended (the runner ends as it did).
    fn plugin_process_ended(&self) -> bool {
        self.plugin_process
            .get()
            .is_some_and(|p| matches!(p.proc.state(), None | Some('Z' | 'X')))
    }

    /// What procfs says of the process that runs the plugin.
    fn plugin_view(&self) -> &ProcessView {
        self.plugin_process.get().map_or(&self.proc, |p| &p.proc)
    }

    /// Looks for the process the runner started for the plugin, seen in procfs (the
    /// runner's word is not needed): its one child that is not its pid namespace's init
    /// (pid 1 there). None when the runner runs the plugin itself (no pid namespace).
    fn find_plugin_process(&self, proc_root: &std::path::Path) {
        let runs_plugin = |pid: &Pid| ProcessView::new(proc_root, *pid).innermost_pid() != Some(1);
        let candidates: Vec<Pid> = self
            .proc
            .children()
            .into_iter()
            .filter(runs_plugin)
            .collect();
        let [child] = candidates[..] else {
            return;
        };
        // SAFETY: pidfd_open with a pid and no flags; the descriptor is checked below.
        let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, child.as_raw(), 0) };
        if raw < 0 {
            return;
        }
        // SAFETY: pidfd_open returned a fresh descriptor we own.
        let pidfd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
        // Still the runner's child once the descriptor is open: the descriptor is of that
        // process, not of one that took its pid after it ended (the runner reaps it).
        if !self.proc.children().contains(&child) {
            return;
        }
        let _ = self.plugin_process.set(PluginProcess {
            pidfd,
            proc: ProcessView::new(proc_root, child),
        });
    }

    /// The time the process has been held stopped so far, the pause in force included.
    fn paused_for(&self) -> Duration {
        let clock = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        clock.ended + clock.since.map_or(Duration::ZERO, |s| s.elapsed())
    }

    /// The process is stopped from now on.
    fn pause_began(&self) {
        let mut clock = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        clock.since.get_or_insert_with(Instant::now);
    }

    /// The process runs again: a request's deadline moves no further.
    fn pause_ended(&self) {
        let mut clock = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(since) = clock.since.take() {
            clock.ended += since.elapsed();
        }
    }

    fn kill_with(&self, reason: TerminationReason) {
        let mut r = self.host_reason.lock().unwrap_or_else(|p| p.into_inner());
        if r.is_none() {
            *r = Some(reason);
        }
        drop(r);
        // What the plugin's own process has used, read before it dies: the runner dies by
        // the same kill, before it can reap that process, so the runner's reaping does not
        // count it. Two kills may race (a Controller's and a fault's): the first reads,
        // under the lock, before either has sent its signal, and the other keeps that.
        let mut kept = self
            .used_before_kill
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if kept.is_none() {
            *kept = self.plugin_process.get().and_then(|p| p.proc.usage());
        }
        drop(kept);
        let _ = self.signal(libc::SIGKILL);
    }

    /// Waits until the process has exited or `until` passes; true if it exited.
    fn wait_exit(&self, until: Instant) -> bool {
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let ms = left.as_millis().min(i32::MAX as u128) as i32;
            let mut fds = [PollFd::new(self.pidfd.as_fd(), PollFlags::POLLIN)];
            match poll(
                &mut fds,
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
            ) {
                Ok(n) if n > 0 => return true,
                Ok(_) => return false,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => return false,
            }
        }
    }

    fn wait_stopped(&self, stopped: bool) -> Result<(), SandboxError> {
        let until = Instant::now() + self.pause_deadline;
        loop {
            match self.plugin_view().state() {
                // A dead process neither stops nor continues: say so at once rather than
                // waiting out the deadline with the state lock held.
                None | Some('Z' | 'X') => return Err(SandboxError::EndedWhileWaiting),
                // The process's state is its main thread's: a pause is done when every
                // thread has stopped, or another could still be spending CPU.
                Some(s)
                    if (s == 'T' || s == 't') == stopped
                        && (!stopped || self.plugin_view().every_thread_stopped()) =>
                {
                    return Ok(());
                }
                _ if Instant::now() >= until => {
                    return Err(SandboxError::Host(std::io::Error::other(format!(
                        "process did not {} within {:?}",
                        if stopped { "stop" } else { "continue" },
                        self.pause_deadline
                    ))));
                }
                _ => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    }
}

/// Sends `signal` to the process `pidfd` refers to.
fn send_signal(pidfd: &OwnedFd, signal: i32) -> std::io::Result<()> {
    // SAFETY: pidfd_send_signal with our pidfd, no siginfo, no flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Pauses, resumes or kills a plugin from any thread.
#[derive(Clone)]
pub struct Controller {
    shared: Arc<Shared>,
}

impl Controller {
    /// Running -> Paused (SIGSTOP, then waits until the kernel shows the process stopped).
    pub fn pause(&self) -> Result<(), SandboxError> {
        let mut state = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        let from = *state;
        let next = state.apply(Event::Pause)?;
        self.shared
            .signal(libc::SIGSTOP)
            .map_err(SandboxError::Host)?;
        if let Err(e) = self.shared.wait_stopped(true) {
            // Not stopped in time: undo, so the state (Running) stays true.
            let _ = self.shared.signal(libc::SIGCONT);
            return Err(e);
        }
        self.shared.pause_began();
        *state = next;
        drop(state);
        self.shared.emit_transition(from, next);
        Ok(())
    }

    /// Paused -> Running (SIGCONT).
    pub fn resume(&self) -> Result<(), SandboxError> {
        let mut state = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        let from = *state;
        let next = state.apply(Event::Resume)?;
        self.shared
            .signal(libc::SIGCONT)
            .map_err(SandboxError::Host)?;
        self.shared.wait_stopped(false)?;
        self.shared.pause_ended();
        *state = next;
        drop(state);
        self.shared.emit_transition(from, next);
        Ok(())
    }

    /// Withdraws a capability while the plugin runs: its next use is denied (`revoked`) and
    /// audited; the plugin keeps running. `false` if it was not granted.
    pub fn revoke(&self, capability: Capability) -> bool {
        let was = self.shared.grants.revoke(capability);
        if was {
            self.shared.emit(AuditEvent::Revoked {
                capability: capability.name().into(),
            });
        }
        was
    }

    /// Kills the process; the owner's pending or next operation reports it ended, and the
    /// plugin Terminated (the host asked for its end: no fault of the plugin's).
    pub fn kill(&self) {
        self.shared.kill_with(TerminationReason::KilledByHost);
    }

    /// Current lifecycle state.
    pub fn state(&self) -> State {
        *self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What the liveness beats say of the runner while its owner waits for an answer (a
    /// call in flight): working, hung, or `None` before a beat had time to be answered.
    pub fn liveness(&self) -> Option<Liveness> {
        self.shared.beats.liveness()
    }
}
