//! The reference sandbox behind the adapter protocol, and its mutants: the same sandbox
//! with one defence switched off, so that the suite can show each requirement catching
//! the sandbox that breaks it.
//!
//! Signed packages go through [`Host`], the code `sbx host` and embedders run: it
//! verifies, asks the policy store, seals the verified bytes, spawns, and revokes keys. The
//! case's policy becomes the store's rule and its trust store the host's, so a defect in
//! the shipped loading path fails the suite. Plugins loaded by path run as [`Plugin`]s.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sbx_harness::protocol::{
    ErrorBody, ErrorKind, Event, Feature, Figures, HelloResult, Inventory, InventoryState, Policy,
    Termination,
};
use sbx_host::host::{Host, HostConfig, HostError, HostRevoker, HostedPlugin};
use sbx_host::plugin_policy::{PolicyStore, RestartPolicy};
use sbx_host::quota::Rate;
use sbx_host::{
    Audit, AuditLog, BrokerConfig, Capability, Controller, Deadlines, EnforcementReport, Layers,
    Limits, LogRecord, Plugin, SandboxConfig, SandboxConfigBuilder, SandboxError, State, Status,
    Strictness, TerminationRecord,
};
use sbx_package::TrustStore;
use sbx_package::hardening::Hardening;
use serde_json::Value;

use crate::serve::{Backend, Pauser, Revoker, error, invoke_result, terminated};

/// The mutants, by name.
pub const MUTANTS: &[&str] = &[
    "no-seccomp",
    "no-landlock",
    "no-namespaces",
    "no-rlimits",
    "no-identity-drop",
    "no-capability-drop",
    "no-new-privs-off",
    "no-deadlines",
    "no-signature-check",
    "no-audit",
    "no-host-call-lock",
    "no-cgroup",
];

/// The containment layers `--only` names: the reference with those alone, every other
/// containment layer relaxed (rlimits, deadlines and the cgroup stay: they guard the
/// machine, not the boundary). Each layer alone must stop the attacks it is meant for.
///
/// The two that close descriptors, the host's before exec and the runner's first thing,
/// are each other's cover and relaxed only when one of them is named: the one not named is
/// then relaxed. (The harness hands this adapter a descriptor of the secret that is not
/// close-on-exec, descriptor 9: what the one named must keep from the plugin.)
pub const LAYERS: &[&str] = &[
    "seccomp",
    "landlock",
    "namespaces",
    "identity-drop",
    "capability-drop",
    "no-new-privs",
    "host-descriptor-close",
    "runner-descriptor-close",
];

/// The descriptor layers of [`LAYERS`].
const DESCRIPTOR_LAYERS: [&str; 2] = ["host-descriptor-close", "runner-descriptor-close"];

/// Log records forwarded per plugin; the rest are counted, not forwarded. A backstop only,
/// far above the suite's bound on the records passed on (`log_records` of
/// `conformance/cases.toml`): every record the host admits reaches the harness, which so
/// judges the host's log bound, not one of the adapter's that no embedder has.
const MAX_FORWARDED_LOGS: u64 = 1 << 14;

/// Most records one `audit` answer holds (some 300 bytes each, well within a line).
const MAX_AUDIT_ANSWER: usize = 2000;

/// The audit log, in the adapter's working directory.
const AUDIT_FILE: &str = "audit.jsonl";

/// Storage each plugin may hold when the case policy names no storage limit.
const STORAGE_BYTES: u64 = 1 << 20;

/// Where plugins keep their storage, in the working directory (the harness measures it).
const STORAGE_DIR: &str = "storage";

/// The policy store of the packages, in the adapter's working directory: written from each
/// `load_package`'s policy and read back as `sbx host` reads its `--policy`.
const POLICY_FILE: &str = "policy.toml";

struct Loaded {
    /// Its process, when it was loaded by path (or unverified, by the `no-signature-check`
    /// mutant).
    plugin: Option<Plugin>,
    /// The name [`Host`] runs it under, when it was loaded from a package.
    hosted: Option<String>,
    forwarded_logs: u64,
    /// How it ended, once its process is gone outside an unload (its key was revoked, it
    /// died while paused or resumed, or the host ended a package's process in a call).
    stopped: Option<TerminationRecord>,
    /// Its figures when its process was reaped outside an unload (it died while paused or
    /// resumed), which neither the host nor a process of it holds any longer.
    ended_counts: Option<Counted>,
}

/// What the protocol's figures of a plugin are read from: the host's figures, and the
/// messages it holds for the plugin's user (an embedder's `Plugin::notifications`).
#[derive(Clone)]
struct Counted {
    stats: sbx_host::Stats,
    notifications: usize,
}

impl Counted {
    /// What `p`, a plugin's one process, holds.
    fn of(p: &Plugin) -> Counted {
        Counted {
            stats: p.stats(),
            notifications: p.notifications().len(),
        }
    }

    /// What `host` holds of its plugin `name`: figures over every process it started for
    /// it, and the messages of its running one (the host keeps no ended process's).
    fn hosted(host: &Host, name: &str) -> Result<Counted, ErrorBody> {
        Ok(Counted {
            stats: host.stats(name).map_err(host_error)?,
            notifications: host.plugin(name).map_or(0, |p| p.notifications().len()),
        })
    }
}

/// A plugin's running process: the adapter's own, or one its host holds for the while.
enum Process<'a> {
    Own(&'a Plugin),
    Hosted(HostedPlugin<'a>),
}

impl std::ops::Deref for Process<'_> {
    type Target = Plugin;

    fn deref(&self) -> &Plugin {
        match self {
            Process::Own(p) => p,
            Process::Hosted(p) => p,
        }
    }
}

impl Loaded {
    /// Its running process, wherever it lives.
    fn process<'a>(&'a self, host: Option<&'a Host>) -> Option<Process<'a>> {
        match &self.hosted {
            Some(name) if self.stopped.is_none() => {
                host.and_then(|h| h.plugin(name)).map(Process::Hosted)
            }
            Some(_) => None,
            None => self.plugin.as_ref().map(Process::Own),
        }
    }
}

impl Loaded {
    /// The answer to a request for a plugin whose process is gone: how it ended, if the
    /// host stopped it, or that it was unloaded.
    fn gone(&self, host: Option<&Host>) -> ErrorBody {
        let ended = self.stopped.clone().or_else(|| {
            // A package's process the host ended (a fault quarantines it).
            let name = self.hosted.as_ref()?;
            host?.last_termination(name)
        });
        match ended {
            Some(record) => terminated(termination(&record)),
            None => error(ErrorKind::Invalid, "plugin already unloaded"),
        }
    }
}

/// Where a `revoke` from the request reader goes, even in the middle of a call: the
/// process of a plugin loaded by path, or the host of a package (which withdraws the
/// capability from the processes its restarts start too).
enum Revocation {
    Process(Controller),
    Hosted(HostRevoker),
}

impl Revocation {
    fn revoke(&self, c: Capability) -> bool {
        match self {
            Revocation::Process(controller) => controller.revoke(c),
            Revocation::Hosted(host) => host.revoke(c),
        }
    }
}

/// The reference (or mutant) adapter.
pub struct Reference {
    mutant: Option<String>,
    /// `--only`: the containment layers kept, every other one relaxed.
    isolated: Option<String>,
    layers: Layers,
    /// `--low-latency`: every plugin's calls through the shared-memory rings.
    low_latency: bool,
    no_deadlines: bool,
    /// The `no-signature-check` mutant: packages are loaded without being verified.
    no_signature_check: bool,
    /// The `no-cgroup` mutant: no per-plugin cgroup, so no CPU rate cap.
    no_cgroup: bool,
    plugins: BTreeMap<String, Loaded>,
    /// The audit log every plugin writes to (`audit.jsonl` in the working directory).
    audit: Option<Arc<AuditLog>>,
    /// The `no-audit` mutant.
    no_audit: bool,
    /// Where each running plugin's `revoke` goes (its process, or its host), and its
    /// `pause` and `resume` while a call is pending (its process), for the request reader.
    controllers: Arc<Mutex<BTreeMap<String, Revocation>>>,
    /// The host of the packages, made at the first request that needs it (after
    /// `isolate`): it remembers the keys revoked during the session.
    host: Option<Host>,
    /// The policy store last given to `host` (a case's loads share one).
    policy_store: Option<PolicyStore>,
    /// The host's name of each package handle, for its audit records (kept after unload).
    recorded_as: BTreeMap<String, String>,
    events: Vec<Event>,
}

/// Goes on as `uid` (gid the same, no supplementary group), the way a host that is not root
/// runs the sandbox, in a directory of its own under the current one, which it owns: its
/// audit log and its plugins' storage are the user's. A process that is not root already
/// stays who it is.
pub fn become_user(uid: u32) -> Result<(), String> {
    use nix::unistd::{Gid, Uid, chown, setgroups, setresgid, setresuid};
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    let home = std::path::Path::new("unprivileged-host");
    std::fs::create_dir_all(home).map_err(|e| format!("making {}: {e}", home.display()))?;
    let (user, group) = (Uid::from_raw(uid), Gid::from_raw(uid));
    chown(home, Some(user), Some(group)).map_err(|e| format!("chown {}: {e}", home.display()))?;
    std::env::set_current_dir(home).map_err(|e| format!("entering {}: {e}", home.display()))?;
    setgroups(&[]).map_err(|e| format!("setgroups: {e}"))?;
    setresgid(group, group, group).map_err(|e| format!("setresgid: {e}"))?;
    setresuid(user, user, user).map_err(|e| format!("setresuid: {e}"))?;
    Ok(())
}

impl Reference {
    /// The reference sandbox, or the named mutant.
    pub fn new(mutant: Option<&str>) -> Result<Reference, String> {
        let mut layers = Layers::ALL;
        let mut no_deadlines = false;
        let mut no_signature_check = false;
        let mut no_audit = false;
        let mut no_cgroup = false;
        match mutant {
            None => {}
            Some("no-seccomp") => layers.seccomp = false,
            Some("no-landlock") => layers.landlock = false,
            Some("no-namespaces") => layers.namespaces = false,
            Some("no-rlimits") => layers.rlimits = false,
            Some("no-identity-drop") => layers.drop_identity = false,
            Some("no-capability-drop") => layers.drop_capabilities = false,
            Some("no-new-privs-off") => layers.no_new_privs = false,
            Some("no-deadlines") => no_deadlines = true,
            Some("no-signature-check") => no_signature_check = true,
            Some("no-audit") => no_audit = true,
            Some("no-host-call-lock") => layers.serialised_host_calls = false,
            Some("no-cgroup") => no_cgroup = true,
            Some(other) => return Err(format!("unknown mutant `{other}`")),
        }
        // No log is no audit: `audit` then says so, and the audit cases fail. The
        // `no-audit` mutant keeps none and answers `audit` with no records.
        let audit = if no_audit {
            None
        } else {
            AuditLog::open(AUDIT_FILE).ok().map(Arc::new)
        };
        Ok(Reference {
            mutant: mutant.map(str::to_owned),
            isolated: None,
            layers,
            low_latency: false,
            no_deadlines,
            no_signature_check,
            no_cgroup,
            plugins: BTreeMap::new(),
            audit,
            no_audit,
            controllers: Arc::default(),
            host: None,
            policy_store: None,
            recorded_as: BTreeMap::new(),
            events: Vec::new(),
        })
    }

    /// Every plugin in the low-latency mode (`on`), as an embedder that asks for it runs them.
    pub fn with_low_latency(mut self, on: bool) -> Reference {
        self.low_latency = on;
        self
    }

    /// Keeps only the containment layers in `list` (comma-separated [`LAYERS`]).
    pub fn isolate(mut self, list: &str) -> Result<Reference, String> {
        let keep: Vec<&str> = list.split(',').map(str::trim).collect();
        if let Some(unknown) = keep.iter().find(|l| !LAYERS.contains(l)) {
            return Err(format!(
                "unknown layer `{unknown}` (layers: {})",
                LAYERS.join(", ")
            ));
        }
        let on = |name: &str| keep.contains(&name);
        let l = &mut self.layers;
        l.seccomp &= on("seccomp");
        l.landlock &= on("landlock");
        l.namespaces &= on("namespaces");
        l.drop_identity &= on("identity-drop");
        l.drop_capabilities &= on("capability-drop");
        l.no_new_privs &= on("no-new-privs");
        if DESCRIPTOR_LAYERS.iter().any(|d| on(d)) {
            l.host_closes_descriptors &= on("host-descriptor-close");
            l.runner_closes_descriptors &= on("runner-descriptor-close");
        }
        self.isolated = Some(keep.join(","));
        Ok(self)
    }

    /// The policy's limits, deadlines and grants on top of `builder`.
    fn configure(
        &self,
        builder: SandboxConfigBuilder,
        name: &str,
        policy: &Policy,
    ) -> Result<SandboxConfig, ErrorBody> {
        let l = policy.limits;
        let limits = Limits {
            address_space_bytes: l.memory_bytes,
            cpu_seconds: l.cpu_ms.div_ceil(1000).max(1),
            open_files: u64::from(l.open_files),
            processes: u64::from(l.threads),
            output_bytes: l.output_bytes,
            ..Limits::default()
        };
        let deadlines = self.deadlines(policy);
        // A CPU rate cap is a cgroup's (its CPU controller throttles the plugin's threads).
        let builder = match l.cpu_percent {
            Some(percent) if !self.no_cgroup => builder.cpu_rate_percent(percent),
            _ => builder,
        };
        let strictness = if policy.strict {
            Strictness::Strict
        } else {
            Strictness::BestEffort
        };
        let require_hardening = policy
            .require_hardening
            .iter()
            .map(|n| {
                Hardening::from_name(n)
                    .ok_or_else(|| error(ErrorKind::Invalid, format!("unknown mitigation `{n}`")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        builder
            .name(name)
            .strictness(strictness)
            .require_hardening(require_hardening)
            .broker(broker_config(name, policy)?)
            .limits(limits)
            .deadlines(deadlines)
            .layers(self.layers)
            .low_latency(self.low_latency)
            .build()
            .map_err(|e| error(ErrorKind::Refused, e.to_string()))
    }

    /// The policy's deadlines (an hour each for the `no-deadlines` mutant).
    fn deadlines(&self, policy: &Policy) -> Deadlines {
        let d = policy.deadlines;
        let hour = Duration::from_secs(3600);
        if self.no_deadlines {
            Deadlines {
                load: hour,
                init: hour,
                call: hour,
                shutdown: hour,
                ..Deadlines::default()
            }
        } else {
            Deadlines {
                load: Duration::from_millis(d.init_ms),
                init: Duration::from_millis(d.init_ms),
                call: Duration::from_millis(d.call_ms),
                shutdown: Duration::from_millis(d.shutdown_ms),
                ..Deadlines::default()
            }
        }
    }

    /// The case's policy as a policy store: one rule, the default, with the case's grants,
    /// limits and allowlist, and its time-bound exceptions for the package's plugin
    /// `plugin`. The manifest's requests are then decided by the store, as in any host:
    /// never more than the rule, capabilities beyond it withheld. No restarts: a plugin
    /// that faults stays ended, as the harness judges one process per load. The store is
    /// written as a store file ([`POLICY_FILE`]) and read back by `PolicyStore::load`, as
    /// `sbx host` reads its `--policy`: the reader that ships is the one certified.
    fn policy_store(
        &self,
        policy: &Policy,
        plugin: Option<&str>,
    ) -> Result<PolicyStore, ErrorBody> {
        let l = policy.limits;
        let grant: Vec<&str> = std::iter::once("log")
            .chain(policy.grants.iter().map(String::as_str))
            .collect();
        // The case's restarts, or none: a plugin that faults stays ended.
        let restart = match policy.restart {
            Some(r) => RestartPolicy {
                max_restarts: r.max_restarts,
                window_s: r.window_s,
                backoff_ms: r.backoff_ms,
                max_backoff_ms: r.backoff_ms.saturating_mul(16),
            },
            None => RestartPolicy {
                max_restarts: 0,
                ..RestartPolicy::default()
            },
        };
        // A store's default rule must name a storage quota and a host call rate: where the
        // case leaves them out, those a plugin loaded by path gets.
        let broker = BrokerConfig::default();
        let mut default = serde_json::json!({
            "grant": grant,
            "host_calls_per_second": l
                .host_calls_per_second
                .unwrap_or(broker.host_call_rate.per_second),
            "storage_bytes": l.storage_bytes.unwrap_or(STORAGE_BYTES),
            "on_excess": "cut",
            "memory_mib": (l.memory_bytes >> 20).max(1),
            "cpu_seconds": l.cpu_ms.div_ceil(1000).max(1),
            "output_bytes": l.output_bytes,
            "processes": l.threads,
            "restart": restart,
            "net_allowlist": policy.net_allowlist,
            "config": policy.config,
            "require_hardening": policy.require_hardening,
        });
        // The limits the case leaves out stay out of the store, whose own defaults then hold,
        // as for an operator whose store names none: no CPU rate cap (which the `no-cgroup`
        // mutant never asks for), its log rate and key bound.
        let optional = [
            (
                "cpu_percent",
                l.cpu_percent.filter(|_| !self.no_cgroup).map(u64::from),
            ),
            (
                "log_bytes_per_second",
                l.log_bytes_per_second.map(u64::from),
            ),
            ("storage_keys", l.storage_keys),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                default[key] = value.into();
            }
        }
        if let Some(u) = policy.update {
            default["update"] = serde_json::json!({
                "probation_calls": u.probation_calls,
                "failure_budget": u.failure_budget,
                "allow_downgrade": u.allow_downgrade,
            });
        }
        let exceptions: Vec<Value> = plugin.map_or_else(Vec::new, |name| {
            policy
                .exceptions
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "plugin": name,
                        "grant": [e.capability],
                        "until": e.until,
                        "why": "the case's time-bound exception",
                    })
                })
                .collect()
        });
        // A new version for each change, so that every decision names the store it used.
        let version = self.policy_store.as_ref().map_or(1, |s| s.version + 1);
        let store = serde_json::json!({
            "format": 1,
            "version": version,
            "default": default,
            "exception": exceptions,
        });
        let text = toml::to_string(&store).map_err(|e| {
            error(
                ErrorKind::Internal,
                format!("writing the policy store: {e}"),
            )
        })?;
        std::fs::write(POLICY_FILE, text).map_err(|e| {
            error(
                ErrorKind::Internal,
                format!("writing the policy store: {e}"),
            )
        })?;
        PolicyStore::load(std::path::Path::new(POLICY_FILE))
            .map_err(|e| error(ErrorKind::Invalid, format!("the case's policy: {e}")))
    }

    /// The host of the packages, made now if it is not yet.
    fn host(&mut self) -> &mut Host {
        let layers = self.layers;
        let low_latency = self.low_latency;
        let audit = self.audit.clone();
        self.host.get_or_insert_with(|| {
            Host::new(HostConfig {
                // Trust, policy and deadlines come with each `load_package` (a store that
                // grants nothing until then).
                trust: TrustStore::default(),
                policy: PolicyStore::default(),
                storage_root: STORAGE_DIR.into(),
                audit,
                runner: None,
                deadlines: Deadlines::default(),
                layers,
                host_paths: Default::default(),
                // Restarts take a warm spare, as a long-running host keeps them.
                warm_spares: 1,
                low_latency,
            })
        })
    }

    /// Spawns, initialises and starts a plugin under `cfg` as `name`.
    fn start(
        &mut self,
        name: &str,
        cfg: &SandboxConfig,
        config: &[u8],
    ) -> Result<Value, ErrorBody> {
        self.refuse_taken(name)?;
        let audit = Audit::new(self.audit.clone(), name);
        let mut plugin = Plugin::spawn_audited(cfg, audit).map_err(sandbox_error)?;
        let init = plugin.init(config).and_then(|()| plugin.start());
        let loaded = Loaded {
            plugin: Some(plugin),
            hosted: None,
            forwarded_logs: 0,
            stopped: None,
            ended_counts: None,
        };
        self.register(name, loaded, init)
    }

    /// Verifies, decides and starts the package in `dir` through the host, as `name`.
    fn start_hosted(
        &mut self,
        name: &str,
        dir: &std::path::Path,
        trust: TrustStore,
        policy: &Policy,
        config: &[u8],
    ) -> Result<Value, ErrorBody> {
        self.refuse_taken(name)?;
        if policy.strict {
            // The host confines each package with the layers it can, for every package
            // alike: no policy of one package asks it for more.
            return Err(error(
                ErrorKind::Unsupported,
                "a strict load of a package: the host confines packages with the layers it can",
            ));
        }
        // The store's exceptions name the plugin as its manifest does. Read only when there
        // are exceptions: before the host, nothing else of the package is opened (a case
        // watches who reads it first). A package whose manifest cannot be read gets no
        // exception, and is refused by the host.
        let manifest_name = (!policy.exceptions.is_empty())
            .then(|| std::fs::read(dir.join(sbx_package::MANIFEST_FILE)).ok())
            .flatten()
            .and_then(|bytes| sbx_package::Manifest::parse(&bytes).ok())
            .map(|m| m.name);
        self.take_policy(trust, policy, manifest_name.as_deref())?;
        let hosted = self.host().load(dir, config).map_err(host_error)?;
        // The host records the package's events under its own name, after the unload too.
        self.recorded_as.insert(name.to_owned(), hosted.clone());
        let loaded = Loaded {
            plugin: None,
            hosted: Some(hosted),
            forwarded_logs: 0,
            stopped: None,
            ended_counts: None,
        };
        self.register(name, loaded, Ok(()))
    }

    /// Gives the host the trust store, and the deadlines and policy store of `policy` (for
    /// the plugin `manifest_name`, whose exceptions it holds): a store reloaded only when it
    /// changed, which decides again for every plugin.
    fn take_policy(
        &mut self,
        trust: TrustStore,
        policy: &Policy,
        manifest_name: Option<&str>,
    ) -> Result<(), ErrorBody> {
        let deadlines = self.deadlines(policy);
        let store = self.policy_store(policy, manifest_name)?;
        let changed = self
            .policy_store
            .as_ref()
            .is_none_or(|s| s.default != store.default || s.exceptions != store.exceptions);
        let host = self.host();
        host.replace_trust(trust);
        host.set_deadlines(deadlines);
        if changed {
            host.reload_policy(store.clone());
            self.policy_store = Some(store);
        }
        Ok(())
    }

    fn refuse_taken(&self, name: &str) -> Result<(), ErrorBody> {
        if self.plugins.contains_key(name) {
            return Err(error(
                ErrorKind::Invalid,
                format!("plugin `{name}` is already loaded"),
            ));
        }
        Ok(())
    }

    /// Records a started plugin under `name` and answers its load: the enforcement in
    /// force, or why `init` failed.
    fn register(
        &mut self,
        name: &str,
        loaded: Loaded,
        init: Result<(), SandboxError>,
    ) -> Result<Value, ErrorBody> {
        let enforcement: Vec<Value> = loaded
            .process(self.host.as_ref())
            .map(|p| {
                p.enforcement()
                    .layers
                    .iter()
                    .map(|l| serde_json::json!({ "layer": l.layer, "status": format!("{:?}", l.status), "detail": l.detail }))
                    .collect()
            })
            .unwrap_or_default();
        self.plugins.insert(name.to_owned(), loaded);
        let result = init.map(|()| serde_json::json!({ "enforcement": enforcement }));
        let answer = self.after(name, result);
        if answer.is_err() {
            self.plugins.remove(name);
        } else if let Some(loaded) = self.plugins.get(name) {
            // A package's revocations go through its host, which withdraws them from its
            // restarts too.
            let revocation = match (&loaded.hosted, &self.host) {
                (Some(hosted), Some(host)) => host.revoker(hosted).ok().map(Revocation::Hosted),
                _ => loaded
                    .process(self.host.as_ref())
                    .map(|p| Revocation::Process(p.controller())),
            };
            if let Some(r) = revocation {
                self.controllers
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(name.to_owned(), r);
            }
        }
        answer
    }

    /// The answer for a plugin whose process ended while it was paused or resumed: it is
    /// reaped now, and the answer says how it ended.
    fn reap_ended(&mut self, name: &str) -> ErrorBody {
        let _ = self.after(name, Ok(Value::Null));
        self.controllers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        let hosted = self.plugins.get(name).and_then(|l| l.hosted.clone());
        let (record, stats) = match hosted {
            Some(hosted) => {
                let stats = Counted::hosted(self.host(), &hosted).ok();
                (self.host().unload(&hosted).ok().flatten(), stats)
            }
            None => match self.plugins.get_mut(name).and_then(|l| l.plugin.take()) {
                Some(mut p) => {
                    let record = p.kill().ok();
                    (record, Some(Counted::of(&p)))
                }
                None => (None, None),
            },
        };
        match (record, self.plugins.get_mut(name)) {
            (Some(record), Some(loaded)) => {
                let answer = terminated(termination(&record));
                loaded.stopped = Some(record);
                loaded.ended_counts = stats;
                answer
            }
            _ => error(
                ErrorKind::Internal,
                "the plugin process ended and was not reaped",
            ),
        }
    }

    fn get(&self, plugin: &str) -> Result<&Loaded, ErrorBody> {
        self.plugins
            .get(plugin)
            .ok_or_else(|| error(ErrorKind::Invalid, format!("no plugin `{plugin}`")))
    }

    /// The running process of `plugin`, or the answer that it is gone.
    fn running(&self, plugin: &str) -> Result<Process<'_>, ErrorBody> {
        let loaded = self.get(plugin)?;
        loaded
            .process(self.host.as_ref())
            .ok_or_else(|| loaded.gone(self.host.as_ref()))
    }

    /// Forwards new log records as events (bounded), and a termination as an error.
    fn after(
        &mut self,
        name: &str,
        result: Result<Value, SandboxError>,
    ) -> Result<Value, ErrorBody> {
        let host = self.host.as_ref();
        if let Some(loaded) = self.plugins.get_mut(name)
            && let Some((total, logs)) = match (&loaded.hosted, host) {
                // A package: its records over every process the host started for it, so
                // that what a process wrote in the call that faulted is still told when
                // the host has ended it, or restarted it within the call.
                (Some(hosted), Some(host)) if loaded.stopped.is_none() => host
                    .stats(hosted)
                    .ok()
                    .map(|s| (s.log_records, host.logs(hosted))),
                (Some(_), _) => None,
                (None, _) => loaded
                    .plugin
                    .as_ref()
                    .map(|p| (p.stats().log_records, p.logs().cloned().collect())),
            }
        {
            forward_logs(&mut self.events, name, loaded.forwarded_logs, total, &logs);
            loaded.forwarded_logs = total;
        }
        result.map_err(sandbox_error)
    }
}

/// Forwards as events the newest of a plugin's kept log records `logs` not yet forwarded:
/// of the `total` it has logged, those beyond the `forwarded` ones (bounded by
/// [`MAX_FORWARDED_LOGS`] and by what is kept). `total` is then the forwarded count.
fn forward_logs(
    events: &mut Vec<Event>,
    name: &str,
    forwarded: u64,
    total: u64,
    logs: &[LogRecord],
) {
    let new = total.saturating_sub(forwarded);
    let room = MAX_FORWARDED_LOGS.saturating_sub(forwarded);
    let take = new.min(room).min(logs.len() as u64) as usize;
    for r in &logs[logs.len() - take..] {
        events.push(Event::Log {
            plugin: name.to_owned(),
            level: r.level.clone(),
            message: r.message.clone(),
        });
    }
}

/// The broker of a plugin: the policy's grants (and `log`), its storage in the working
/// directory, where the harness measures it.
fn broker_config(name: &str, policy: &Policy) -> Result<BrokerConfig, ErrorBody> {
    let mut grants = std::collections::BTreeSet::from([Capability::Log]);
    for g in &policy.grants {
        let c = Capability::from_name(g)
            .ok_or_else(|| error(ErrorKind::Invalid, format!("unknown capability `{g}`")))?;
        grants.insert(c);
    }
    // Handles are chosen by the harness; keep them from naming a path all the same.
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(error(ErrorKind::Invalid, format!("plugin handle `{name}`")));
    }
    let own = BrokerConfig::default();
    let l = &policy.limits;
    Ok(BrokerConfig {
        grants,
        storage_dir: Some(std::path::Path::new("storage").join(name)),
        storage_bytes: l.storage_bytes.unwrap_or(STORAGE_BYTES),
        storage_keys: l.storage_keys.unwrap_or(own.storage_keys),
        net_allowlist: policy.net_allowlist.clone(),
        config: policy.config.clone(),
        host_call_rate: l
            .host_calls_per_second
            .map_or(own.host_call_rate, Rate::host_calls),
        log_rate: l.log_bytes_per_second.map_or(own.log_rate, Rate::log_bytes),
        ..own
    })
}

/// The protocol's form of a termination record.
pub fn termination(record: &TerminationRecord) -> Termination {
    Termination {
        reason: record.reason.kind().name().to_owned(),
        detail: format!("{:?}", record.reason),
    }
}

/// The protocol's form of a host's refusal or failure.
fn host_error(e: HostError) -> ErrorBody {
    match e {
        HostError::Refused(v) => error(ErrorKind::Refused, format!("{}: {v}", v.kind())),
        // Refusals of the load: the policy's, or a second plugin of a running one's name.
        HostError::PolicyRefused { .. } | HostError::AlreadyLoaded(_) => {
            error(ErrorKind::Refused, e.to_string())
        }
        // An update refused, or one that failed to start and was rolled back: the
        // previous version serves on.
        HostError::UpdateRefused { .. } | HostError::RolledBack { .. } => {
            error(ErrorKind::Refused, e.to_string())
        }
        HostError::Sandbox(e) => sandbox_error(e),
        HostError::NotAKey(_) | HostError::NotLoaded(_) | HostError::Quarantined(_) => {
            error(ErrorKind::Invalid, e.to_string())
        }
        other => error(ErrorKind::Internal, other.to_string()),
    }
}

fn sandbox_error(e: SandboxError) -> ErrorBody {
    match e {
        SandboxError::Ended(record) => terminated(termination(&record)),
        SandboxError::ActivationFailed {
            phase,
            message,
            termination: record,
        } => {
            // A refusal is the runner's own "cannot load" or "not every layer in force"
            // exit, or a failed init; anything else (a filter kill in a constructor, a
            // deadline) is the process ending.
            let refused = matches!(
                record.exit_code,
                Some(sbx_contract::exit_code::LOAD | sbx_contract::exit_code::STRICT)
            ) || message.starts_with("sbx_plugin_init returned");
            let t = termination(&record);
            if refused {
                ErrorBody {
                    kind: ErrorKind::Refused,
                    message: format!("{phase:?}: {message}"),
                    termination: Some(t),
                }
            } else {
                ErrorBody {
                    kind: ErrorKind::Terminated,
                    message: format!("{phase:?}: {message}"),
                    termination: Some(t),
                }
            }
        }
        SandboxError::Config(e) => error(ErrorKind::Refused, e.to_string()),
        SandboxError::Hardening(e) => error(ErrorKind::Refused, e.to_string()),
        SandboxError::InvalidTransition(e) => error(ErrorKind::Invalid, e.to_string()),
        other => error(ErrorKind::Internal, other.to_string()),
    }
}

impl Backend for Reference {
    fn hello(&self) -> HelloResult {
        crate::serve::hello(
            format!(
                "sbx reference sandbox{}{}",
                self.mutant
                    .as_ref()
                    .map_or(String::new(), |m| format!(", mutant {m}")),
                self.isolated
                    .as_ref()
                    .map_or(String::new(), |l| format!(", {l} alone")),
            ),
            vec![
                Feature::Pause,
                Feature::Revoke,
                Feature::Broker,
                Feature::Signatures,
                Feature::Quotas,
                Feature::Deadlines,
                Feature::TerminationReasons,
                Feature::Audit,
                Feature::Figures,
                Feature::Inventory,
                Feature::PauseDuringCall,
                Feature::KeyRevocation,
                Feature::Exceptions,
                Feature::Restarts,
                Feature::Strict,
                Feature::Hardening,
                Feature::Updates,
            ],
        )
    }

    fn load(
        &mut self,
        name: &str,
        path: &str,
        policy: &Policy,
        config: &[u8],
    ) -> Result<Value, ErrorBody> {
        let cfg = self.configure(SandboxConfig::builder(path), name, policy)?;
        self.start(name, &cfg, config)
    }

    fn load_package(
        &mut self,
        name: &str,
        package: &str,
        trust: &str,
        policy: &Policy,
        config: &[u8],
    ) -> Result<Value, ErrorBody> {
        let dir = std::path::Path::new(package);
        if self.no_signature_check {
            let path = dir.join(sbx_package::PLUGIN_FILE);
            let cfg = self.configure(SandboxConfig::builder(path), name, policy)?;
            return self.start(name, &cfg, config);
        }
        let trust = TrustStore::load(std::path::Path::new(trust))
            .map_err(|e| error(ErrorKind::Invalid, e.to_string()))?;
        self.start_hosted(name, dir, trust, policy, config)
    }

    fn update(
        &mut self,
        name: &str,
        package: &str,
        trust: &str,
        policy: &Policy,
        config: &[u8],
    ) -> Result<Value, ErrorBody> {
        let hosted = self.get(name)?.hosted.clone().ok_or_else(|| {
            error(
                ErrorKind::Invalid,
                format!("`{name}` was not loaded from a package"),
            )
        })?;
        let trust = TrustStore::load(std::path::Path::new(trust))
            .map_err(|e| error(ErrorKind::Invalid, e.to_string()))?;
        self.take_policy(trust, policy, Some(&hosted))?;
        let result = self
            .host()
            .update(&hosted, std::path::Path::new(package), config)
            .map(|u| serde_json::json!({ "from": u.from, "to": u.to, "probation_calls": u.probation_calls }))
            .map_err(host_error);
        // The new version's process (or the previous one's, started again) is the handle's
        // now: its revocations go to it.
        if let Some(host) = &self.host
            && let Ok(r) = host.revoker(&hosted)
        {
            self.controllers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(name.to_owned(), Revocation::Hosted(r));
        }
        // What either version logged is forwarded as any call's records are.
        self.after(name, Ok(Value::Null))?;
        result
    }

    fn invoke(&mut self, name: &str, method: &str, input: &[u8]) -> Result<Value, ErrorBody> {
        if let Some(t) = self.running(name)?.termination() {
            return Err(terminated(termination(t)));
        }
        let output = match self.get(name)?.hosted.clone() {
            Some(hosted) => match self.host().invoke(&hosted, method, input) {
                Ok(output) => Ok(output),
                Err(HostError::Sandbox(e)) => Err(e),
                Err(e) => return Err(host_error(e)),
            },
            None => match self.plugins.get_mut(name).and_then(|l| l.plugin.as_mut()) {
                Some(p) => p.invoke(method, input),
                None => return Err(error(ErrorKind::Invalid, "plugin already unloaded")),
            },
        };
        let ended = match &output {
            Err(SandboxError::Ended(record)) => Some(record.as_ref().clone()),
            _ => None,
        };
        let result = match output {
            Ok(output) => Ok(invoke_result(0, &output)),
            Err(SandboxError::Plugin { code, .. }) => Ok(invoke_result(code, &[])),
            Err(e) => Err(e),
        };
        let answer = self.after(name, result);
        // A package's process the host ended, and did not start again (its policy allows
        // no restart, or no more), is this handle's no more: the host may run another load
        // of the same package under the same name. One it restarted serves the handle on,
        // its log records counted on from the host's figures of every process of it.
        let restarted = |loaded: &Loaded, host: Option<&Host>| {
            loaded
                .hosted
                .as_ref()
                .and_then(|h| host?.plugin(h))
                .is_some_and(|p| p.termination().is_none())
        };
        if let Some(record) = ended
            && let Some(loaded) = self.plugins.get_mut(name)
            && loaded.hosted.is_some()
            && !restarted(loaded, self.host.as_ref())
        {
            loaded.stopped = Some(record);
        }
        answer
    }

    fn pause(&mut self, name: &str) -> Result<Value, ErrorBody> {
        // Out of the process's handle first: a package's holds its host's lock of it.
        let result = self.running(name)?.pause();
        match result {
            Err(SandboxError::EndedWhileWaiting) => Err(self.reap_ended(name)),
            result => self.after(name, result.map(|()| serde_json::json!({}))),
        }
    }

    fn resume(&mut self, name: &str) -> Result<Value, ErrorBody> {
        // Out of the process's handle first: a package's holds its host's lock of it.
        let result = self.running(name)?.resume();
        match result {
            Err(SandboxError::EndedWhileWaiting) => Err(self.reap_ended(name)),
            result => self.after(name, result.map(|()| serde_json::json!({}))),
        }
    }

    fn unload(&mut self, name: &str) -> Result<Value, ErrorBody> {
        self.controllers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        let mut loaded = self
            .plugins
            .remove(name)
            .ok_or_else(|| error(ErrorKind::Invalid, format!("no plugin `{name}`")))?;
        if let Some(record) = &loaded.stopped {
            // Stopped by a key revocation; the host may run another plugin under its name.
            return Ok(serde_json::json!({ "termination": termination(record) }));
        }
        if let Some(hosted) = &loaded.hosted {
            return match self.host().unload(hosted) {
                Ok(Some(record)) => Ok(serde_json::json!({ "termination": termination(&record) })),
                Ok(None) => Err(error(ErrorKind::Invalid, "plugin already unloaded")),
                Err(e) => Err(host_error(e)),
            };
        }
        let Some(mut p) = loaded.plugin.take() else {
            return Err(error(ErrorKind::Invalid, "plugin already unloaded"));
        };
        if let Some(t) = p.termination() {
            return Ok(serde_json::json!({ "termination": termination(t) }));
        }
        let record = if p.state().is_final() {
            p.kill()
        } else {
            p.shutdown()
        };
        // What it logged until it ended, its shutdown's records too.
        let logs: Vec<LogRecord> = p.logs().cloned().collect();
        forward_logs(
            &mut self.events,
            name,
            loaded.forwarded_logs,
            p.stats().log_records,
            &logs,
        );
        match record {
            Ok(r) => Ok(serde_json::json!({ "termination": termination(&r) })),
            Err(e) => Err(sandbox_error(e)),
        }
    }

    fn revoke_key(&mut self, key: &str) -> Result<Value, ErrorBody> {
        // What the host's plugins logged before the revocation is reported before the
        // answer.
        let hosted: Vec<String> = self
            .plugins
            .iter()
            .filter(|(_, l)| l.hosted.is_some() && l.stopped.is_none())
            .map(|(handle, _)| handle.clone())
            .collect();
        for handle in &hosted {
            let _ = self.after(handle, Ok(Value::Null));
        }
        // The host kills and reaps what the key signed, and refuses it at every later load.
        let stopped = self.host().revoke_key(key).map_err(host_error)?;
        // And what they logged until they ended: a record made after the revocation is the
        // revoked code running, which the harness must be told of.
        for handle in &hosted {
            let _ = self.after(handle, Ok(Value::Null));
        }
        let mut handles = Vec::new();
        for handle in hosted {
            let Some(loaded) = self.plugins.get_mut(&handle) else {
                continue;
            };
            let Some(name) = loaded.hosted.as_ref().filter(|n| stopped.contains(n)) else {
                continue;
            };
            let record = self.host.as_ref().and_then(|h| h.last_termination(name));
            self.controllers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&handle);
            if let Some(record) = record {
                self.events.push(Event::Terminated {
                    plugin: handle.clone(),
                    termination: termination(&record),
                });
                loaded.stopped = Some(record);
            }
            handles.push(handle);
        }
        Ok(serde_json::json!({ "stopped": handles }))
    }

    fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    fn audit(&mut self, plugin: &str) -> Result<Value, ErrorBody> {
        if self.no_audit {
            return Ok(serde_json::json!({ "records": [] }));
        }
        if self.audit.is_none() {
            return Err(error(
                ErrorKind::Internal,
                "the audit log could not be opened",
            ));
        }
        let records = sbx_host::audit::read_log(std::path::Path::new(AUDIT_FILE))
            .map_err(|e| error(ErrorKind::Internal, e.to_string()))?;
        // A package's records are under the name the host runs it as.
        let recorded_as = self.recorded_as.get(plugin).map_or(plugin, String::as_str);
        let mine: Vec<&sbx_host::AuditRecord> =
            records.iter().filter(|r| r.plugin == recorded_as).collect();
        // The newest records only, so that the answer stays well within a protocol line
        // however much a plugin made the sandbox record.
        let newest: Vec<Value> = mine[mine.len().saturating_sub(MAX_AUDIT_ANSWER)..]
            .iter()
            .filter_map(|r| serde_json::to_value(r).ok())
            .collect();
        Ok(serde_json::json!({ "records": newest }))
    }

    fn figures(&mut self, plugin: &str) -> Result<Value, ErrorBody> {
        let loaded = self.get(plugin)?;
        // The host's figures of a package span every process it started for it; those of
        // a plugin loaded by path are its one process's; those of a plugin reaped outside
        // an unload were kept when it was.
        let counted = match (&loaded.ended_counts, loaded.hosted.clone(), &loaded.plugin) {
            (Some(kept), _, _) => kept.clone(),
            (None, Some(name), _) => Counted::hosted(self.host(), &name)?,
            (None, None, Some(p)) => Counted::of(p),
            (None, None, None) => {
                return Err(error(ErrorKind::Invalid, "plugin already unloaded"));
            }
        };
        serde_json::to_value(figures(&counted))
            .map_err(|e| error(ErrorKind::Internal, e.to_string()))
    }

    fn inventory(&mut self, plugin: &str) -> Result<Value, ErrorBody> {
        let loaded = self.get(plugin)?;
        let host = self.host.as_ref();
        // What the host says of a package, asked before its process is held (which holds
        // the host's lock of the plugin): the grants it decided and whether it gave up on it.
        let hosted = match (&loaded.hosted, host) {
            (Some(name), Some(host)) => Some((
                host.decision(name)
                    .map(|d| d.granted.clone())
                    .unwrap_or_default(),
                host.is_quarantined(name),
            )),
            _ => None,
        };
        // The host's warm spares for a package's restarts; a plugin loaded by path has none.
        let spares = match (&loaded.hosted, host) {
            (Some(name), Some(host)) => host.spare_pids(name),
            _ => Vec::new(),
        };
        let process = loaded.process(host);
        // A package's grants are the decided ones less any revoked since; a plugin loaded
        // by path has its process's own.
        let (quarantined, grants) = match (hosted, &process) {
            (Some((decided, quarantined)), Some(p)) => (
                quarantined,
                decided.intersection(&p.grants()).copied().collect(),
            ),
            (Some((decided, quarantined)), None) => (quarantined, decided),
            (None, p) => (false, p.as_ref().map(|p| p.grants()).unwrap_or_default()),
        };
        // One reading of the state for both the process named and the state given.
        let state = process.as_ref().map(|p| p.state());
        let inventory = Inventory {
            pid: process
                .as_ref()
                .filter(|_| state.is_some_and(|s| !s.is_final()))
                .map_or(0, |p| p.pid()),
            state: inventory_state(state, quarantined),
            grants: grants.iter().map(|c| c.name().to_owned()).collect(),
            confinement: process.as_ref().map(|p| confinement_words(p.enforcement())),
            spares: Some(spares),
        };
        serde_json::to_value(inventory).map_err(|e| error(ErrorKind::Internal, e.to_string()))
    }

    fn revoker(&self) -> Option<Revoker> {
        let controllers = Arc::clone(&self.controllers);
        Some(Arc::new(move |plugin: &str, capability: &str| {
            let c = Capability::from_name(capability).ok_or_else(|| {
                error(
                    ErrorKind::Invalid,
                    format!("unknown capability `{capability}`"),
                )
            })?;
            let map = controllers.lock().unwrap_or_else(|p| p.into_inner());
            let revocation = map
                .get(plugin)
                .ok_or_else(|| error(ErrorKind::Invalid, format!("no plugin `{plugin}`")))?;
            // Takes effect at the plugin's next use, even in the middle of a call.
            Ok(serde_json::json!({ "revoked": revocation.revoke(c) }))
        }))
    }

    fn pauser(&self) -> Option<Pauser> {
        let controllers = Arc::clone(&self.controllers);
        Some(Arc::new(move |plugin: &str, pause: bool| {
            let map = controllers.lock().unwrap_or_else(|p| p.into_inner());
            // Out of the map before the pause, which may wait for the plugin to stop: a
            // revocation meanwhile must not wait for it.
            let controller = match map.get(plugin) {
                Some(Revocation::Process(controller)) => controller.clone(),
                Some(Revocation::Hosted(_)) => {
                    return Err(error(
                        ErrorKind::Unsupported,
                        "a package's plugin is paused between its calls only",
                    ));
                }
                None => return Err(error(ErrorKind::Invalid, format!("no plugin `{plugin}`"))),
            };
            drop(map);
            // The same Controller an embedder's other thread would use; the pending call
            // waits, its deadline moved on by the time paused.
            let done = if pause {
                controller.pause()
            } else {
                controller.resume()
            };
            done.map(|()| serde_json::json!({})).map_err(|e| {
                error(
                    ErrorKind::Internal,
                    format!(
                        "{} during a call: {e}",
                        if pause { "pause" } else { "resume" }
                    ),
                )
            })
        }))
    }
}

/// The protocol's word for a plugin's state: its process's (`None`: it has none any
/// longer), unless the host gave up on it.
fn inventory_state(process: Option<State>, quarantined: bool) -> InventoryState {
    match process {
        _ if quarantined => InventoryState::Quarantined,
        Some(State::Paused) => InventoryState::Paused,
        Some(s) if !s.is_final() => InventoryState::Running,
        _ => InventoryState::Ended,
    }
}

/// The protocol's confinement words for the layers the runner reported in force (applied,
/// or weaker than configured): its layer names, but `capabilities_dropped` for their drop.
fn confinement_words(report: &EnforcementReport) -> Vec<String> {
    report
        .layers
        .iter()
        .filter(|l| matches!(l.status, Status::Applied | Status::Partial))
        .map(|l| match l.layer.as_str() {
            "capabilities" => "capabilities_dropped".to_owned(),
            other => other.to_owned(),
        })
        .collect()
}

/// The protocol's figures of the host's: the broker's counts of host calls, the log
/// records dropped for the rate and for the bound of those kept, and the messages kept.
fn figures(counted: &Counted) -> Figures {
    let stats = &counted.stats;
    Figures {
        invocations: stats.invocations,
        errors: stats.errors,
        host_calls: stats.broker.host_calls,
        denials: stats.broker.denials,
        limit_hits: stats.broker.limit_hits,
        log_records_dropped: stats.broker.logs_throttled + stats.logs_dropped,
        cpu_ms: stats.cpu_us / 1000,
        peak_rss_kib: stats.peak_rss_kib,
        call_ms: stats.total_latency_us / 1000,
        throttled_ms: stats.cpu_throttled_us / 1000,
        notifications: counted.notifications as u64,
    }
}

#[cfg(test)]
mod tests {
    /// The adapter certifies the code that ships: packages are verified, decided and
    /// revoked by `Host`, never by logic of the adapter's own.
    #[test]
    fn packages_are_verified_and_decided_by_the_host_alone() {
        let source = include_str!("reference.rs");
        for copy in [
            concat!("sbx_package::", "verify("),
            concat!("revoked", ".keys"),
            concat!(".decide", "("),
            concat!("for_", "package("),
        ] {
            assert!(!source.contains(copy), "the adapter calls {copy} itself");
        }
    }

    /// The harness signs its packages for the ABI this sandbox speaks.
    #[test]
    fn packages_declare_the_sandbox_abi() {
        assert_eq!(
            sbx_harness::package::ABI_VERSION,
            sbx_contract::abi::ABI_VERSION
        );
    }
}
