//! A host of several signed plugins: verification, policy, restarts, quarantine and
//! revocation around [`Plugin`].
//!
//! [`Host::load`] verifies a package ([`sbx_package::verify`]), records the result, asks the
//! policy store, records the decision, and only then spawns the sealed bytes with the granted
//! capabilities and the decided limits. [`Host::invoke`] restarts a plugin after a transient
//! fault (crash, deadline, CPU or memory limit) with exponential backoff, keeping its storage;
//! when its restarts within the window run out, or on a fault that is not transient (a
//! seccomp kill, a protocol violation: the plugin attacked), it is quarantined: Failed, and
//! refused until loaded again. Other plugins are served throughout.
//!
//! [`Host::update`] replaces a running plugin with a new signed version: verified as a
//! load is, refused when it is not newer (unless the policy allows a downgrade), taken
//! once the call in flight has ended, with a copy of the plugin's storage kept. A new
//! version that fails to start, or that faults beyond its failure budget in its first
//! calls (its probation, [`crate::update`]), is rolled back: the previous version serves
//! again, its storage put back as it was. Every step is audited.
//!
//! The call path takes no lock of the host's: each plugin is behind a lock of its own, so
//! threads sharing a `&Host` call different plugins at the same time, and a call waits only
//! for another call of the same plugin. What changes the set of plugins or the host's
//! configuration (load, unload, a new trust store, policy or deadlines, a revoked key)
//! takes `&mut self`; an embedder that does both at once holds the host in an `RwLock`,
//! calls under its read lock and the rest under its write lock.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use sbx_package::{TrustStore, VerifiedPackage};

use crate::audit::{Audit, AuditEvent, AuditLog};
use crate::broker::{BrokerConfig, Capability};
use crate::config::{Deadlines, Layers, Limits, SandboxConfig};
use crate::plugin_policy::{Conditions, Decision, PolicyStore};
use crate::pool::{Spare, WarmPool};
use crate::quota::Rate;
use crate::storage::{Snapshot, StorageError};
use crate::supervisor::{Controller, LogRecord, Plugin, SandboxError, Stats};
use crate::termination::{TerminationReason, TerminationRecord};
use crate::update::{CallEnd, Probation, UpdateRefusal};

/// Why a host operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The package was refused before any of its bytes ran.
    #[error("package refused: {0}")]
    Refused(#[from] sbx_package::VerifyError),
    /// The policy refused the plugin (it asked for more than its rule allows).
    #[error("policy version {policy_version} refuses {plugin}: withheld {withheld:?}")]
    PolicyRefused {
        /// The plugin.
        plugin: String,
        /// The store's version.
        policy_version: u64,
        /// What it asked for and may not have.
        withheld: Vec<String>,
    },
    /// No plugin of that name is loaded.
    #[error("no plugin {0} is loaded")]
    NotLoaded(String),
    /// A plugin of that name is loaded already.
    #[error("plugin {0} is loaded already")]
    AlreadyLoaded(String),
    /// The plugin is quarantined after too many faults.
    #[error("plugin {0} is quarantined")]
    Quarantined(String),
    /// The sandbox failed (activation, call, fault).
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// `revoke_key` was given text that is neither a key nor a key id.
    #[error("{0:?} is neither a public key nor a key id")]
    NotAKey(String),
    /// Sealing the verified bytes failed.
    #[error("cannot seal the plugin: {0}")]
    Seal(#[source] std::io::Error),
    /// An update was refused before any of the new version ran; the installed version
    /// serves on.
    #[error("update of {plugin} refused: {refusal}")]
    UpdateRefused {
        /// The plugin.
        plugin: String,
        /// Why.
        #[source]
        refusal: UpdateRefusal,
    },
    /// The plugin's storage could not be copied before an update, which was therefore not
    /// made; the installed version serves on.
    #[error("update of {plugin}: cannot keep its storage: {source}")]
    UpdateStorage {
        /// The plugin.
        plugin: String,
        /// Why.
        #[source]
        source: StorageError,
    },
    /// The new version failed to start and was rolled back: the previous version serves,
    /// its storage as it was before the update.
    #[error("update of {plugin} to {to} rolled back to {from}: {reason}")]
    RolledBack {
        /// The plugin.
        plugin: String,
        /// The version serving again.
        from: String,
        /// The version given up.
        to: String,
        /// What failed.
        reason: String,
    },
}

/// An update that took: the new version serves, on probation when its policy sets one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Updated {
    /// The version replaced.
    pub from: String,
    /// The version serving.
    pub to: String,
    /// Calls it must serve within its failure budget before the update is final (0: final
    /// already).
    pub probation_calls: u32,
}

/// What a host needs besides the packages.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Accepted publishers and the revocation list.
    pub trust: TrustStore,
    /// The policy store.
    pub policy: PolicyStore,
    /// Each plugin's storage is `storage_root/<name>`.
    pub storage_root: PathBuf,
    /// The audit log, if any.
    pub audit: Option<Arc<AuditLog>>,
    /// The runner binary (default: found as [`SandboxConfig::builder`] finds it).
    pub runner: Option<PathBuf>,
    /// Deadlines for every plugin.
    pub deadlines: Deadlines,
    /// Layers (all on, except in tests of the host itself).
    pub layers: Layers,
    /// Where the host finds cgroups and /proc for every plugin.
    pub host_paths: crate::config::HostPaths,
    /// Confined spares kept ready for each plugin whose policy allows restarts (a
    /// [`WarmPool`] of this many,
    /// [`Spare::Confined`], refilled in the background), from which a restart takes its
    /// process: exec and confinement are then behind it, and it loads the plugin only when
    /// the restart is due. 0: every restart spawns cold. Spares end with the plugin's
    /// unload, its quarantine or a revoked key.
    pub warm_spares: usize,
    /// Every plugin in the low-latency mode ([`SandboxConfig::low_latency`]): its calls go
    /// through shared-memory rings once it is loaded.
    pub low_latency: bool,
}

struct Managed {
    package: VerifiedPackage,
    decision: Decision,
    config: SandboxConfig,
    plugin: Option<Plugin>,
    init: Vec<u8>,
    /// Restarts within the policy's window.
    restarts: VecDeque<Instant>,
    /// Restarts since it was loaded (for its figures).
    restarts_total: u64,
    quarantined: bool,
    /// Figures of processes that have ended (restarts), added to the live one's.
    past: Stats,
    /// How its last process ended, when it faulted or the host stopped it.
    ended: Option<TerminationRecord>,
    /// The log records its last process had kept when it ended (what it logged in the
    /// call that ended it among them).
    ended_logs: Vec<LogRecord>,
    /// Capabilities revoked at runtime, which no restart grants again.
    withdrawals: Arc<Mutex<Withdrawals>>,
    /// Its warm spares, when the host keeps any: where its restarts take their process.
    spares: Option<WarmPool>,
    /// An update on probation: the version it replaced, to go back to.
    update: Option<Pending>,
}

/// A new version on probation, and what a rollback restores.
struct Pending {
    probation: Probation,
    previous: Version,
    snapshot: Snapshot,
}

/// One version of a plugin, as the host runs it.
struct Version {
    package: VerifiedPackage,
    decision: Decision,
    config: SandboxConfig,
    init: Vec<u8>,
}

impl Managed {
    /// Puts `version` in place of the one it runs, and returns that one.
    fn swap_version(&mut self, version: Version) -> Version {
        Version {
            package: std::mem::replace(&mut self.package, version.package),
            decision: std::mem::replace(&mut self.decision, version.decision),
            config: std::mem::replace(&mut self.config, version.config),
            init: std::mem::replace(&mut self.init, version.init),
        }
    }

    /// Its figures over all its processes since it was loaded.
    fn stats(&self) -> Stats {
        match &self.plugin {
            Some(p) => self.past.followed_by(&p.stats()),
            None => self.past.clone(),
        }
    }
}

/// What a plugin's restarts must not grant again, and its running process to revoke it
/// in: shared with its [`HostRevoker`]s, which revoke from any thread, even while a call
/// holds the plugin.
#[derive(Default)]
struct Withdrawals {
    withdrawn: BTreeSet<Capability>,
    running: Option<Controller>,
}

/// Revokes capabilities of one hosted plugin from any thread, even while one of its calls
/// holds it: in its running process at once, and in every process a restart
/// starts after.
#[derive(Clone)]
pub struct HostRevoker(Arc<Mutex<Withdrawals>>);

impl HostRevoker {
    /// Withdraws `c`; whether the running process held it.
    pub fn revoke(&self, c: Capability) -> bool {
        let mut w = self.0.lock().unwrap_or_else(|p| p.into_inner());
        w.withdrawn.insert(c);
        w.running.as_ref().is_some_and(|ctl| ctl.revoke(c))
    }
}

impl Managed {
    /// Takes the running process out, keeping its figures and its log records.
    fn take_process(&mut self) -> Option<Plugin> {
        let p = self.plugin.take()?;
        self.past = self.past.followed_by(&p.stats());
        self.ended_logs = p.logs().cloned().collect();
        Some(p)
    }

    /// Ends the running process, if there is one, keeping its figures, its log records (what
    /// it logged while shutting down too) and how it ended. Whether there was one.
    fn stop_process(&mut self, how: Stop) -> bool {
        let Some(p) = self.plugin.as_mut() else {
            return false;
        };
        if let Ok(record) = stop(p, how) {
            self.ended = Some(record);
        }
        self.take_process();
        true
    }
}

/// Several signed plugins under one policy and one audit log.
pub struct Host {
    config: HostConfig,
    plugins: BTreeMap<String, Entry>,
    /// Keys revoked with [`Host::revoke_key`]: they stay revoked whatever trust store
    /// replaces the configured one.
    revoked_keys: BTreeSet<String>,
    /// The user's consents, by plugin and capability ([`Host::set_consent`]).
    consents: BTreeSet<(String, Capability)>,
}

/// A hosted plugin: behind its own lock, which a call of it holds (and no other call), and
/// its withdrawals beside it, reachable without waiting for that call.
struct Entry {
    managed: Mutex<Managed>,
    withdrawals: Arc<Mutex<Withdrawals>>,
}

/// Whether a fault is worth a restart: a crash, a deadline or a resource limit may be
/// transient; a seccomp kill or a protocol violation is the plugin attacking, and restarting
/// it would only give it another try.
pub fn is_transient(reason: &TerminationReason) -> bool {
    !matches!(
        reason,
        TerminationReason::SeccompViolation { .. } | TerminationReason::ProtocolViolation { .. }
    )
}

impl Host {
    /// A host with no plugin loaded.
    pub fn new(config: HostConfig) -> Host {
        Host {
            config,
            plugins: BTreeMap::new(),
            revoked_keys: BTreeSet::new(),
            consents: BTreeSet::new(),
        }
    }

    fn audit(&self, plugin: &str) -> Audit {
        Audit::new(self.config.audit.clone(), plugin)
    }

    /// Plugin `name`, once the call of it that holds it (if any) has returned.
    fn managed(&self, name: &str) -> Result<MutexGuard<'_, Managed>, HostError> {
        self.plugins
            .get(name)
            .map(|e| lock(&e.managed))
            .ok_or_else(|| HostError::NotLoaded(name.into()))
    }

    /// Verifies, decides, spawns, initialises and starts the package in `dir`. Returns the
    /// plugin's name.
    pub fn load(&mut self, dir: &Path, init: &[u8]) -> Result<String, HostError> {
        let package =
            match sbx_package::verify(dir, &self.config.trust, sbx_contract::abi::ABI_VERSION) {
                Ok(p) => p,
                Err(e) => {
                    let name = dir
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    self.audit(&name).record(&AuditEvent::PackageRefused {
                        kind: e.kind().into(),
                        detail: e.to_string(),
                    });
                    return Err(e.into());
                }
            };
        let name = package.manifest.name.clone();
        // A quarantined or stopped plugin is replaced: loading it again is how it comes back.
        if self
            .plugins
            .get_mut(&name)
            .is_some_and(|m| lock_mut(m).plugin.is_some())
        {
            return Err(HostError::AlreadyLoaded(name));
        }
        let audit = self.audit(&name);
        audit.record(&AuditEvent::PackageVerified {
            version: package.manifest.version.clone(),
            sha256: sbx_package::hex(&package.sha256),
            signer: package.signer.clone(),
        });
        let decision = decide(&self.config.policy, &package, &self.conditions());
        audit.record(&decision.audit_event());
        if !decision.load {
            audit.record(&AuditEvent::PackageRefused {
                kind: "policy_refused".into(),
                detail: format!("policy version {}", decision.policy_version),
            });
            return Err(HostError::PolicyRefused {
                plugin: name,
                policy_version: decision.policy_version,
                withheld: decision.withheld.iter().map(|c| c.to_string()).collect(),
            });
        }
        let config = self.sandbox_config(&package, &decision)?;
        let mut managed = Managed {
            package,
            decision,
            config,
            plugin: None,
            init: init.to_vec(),
            restarts: VecDeque::new(),
            restarts_total: 0,
            quarantined: false,
            past: Stats::default(),
            ended: None,
            ended_logs: Vec::new(),
            withdrawals: Arc::default(),
            spares: None,
            update: None,
        };
        managed.plugin = Some(start(
            &managed.config,
            audit,
            init,
            &managed.withdrawals,
            None,
        )?);
        // After its first process is up: the spares are for its restarts, if it has any.
        managed.spares = self.spares_for(&managed);
        self.plugins.insert(
            name.clone(),
            Entry {
                withdrawals: Arc::clone(&managed.withdrawals),
                managed: Mutex::new(managed),
            },
        );
        Ok(name)
    }

    /// Plugin `name`'s storage directory: what its broker opens, an update copies and a
    /// rollback restores.
    fn storage_dir(&self, name: &str) -> PathBuf {
        self.config.storage_root.join(name)
    }

    /// Warm spares for `m`'s restarts, when the host keeps any and its policy restarts it.
    fn spares_for(&self, m: &Managed) -> Option<WarmPool> {
        if self.config.warm_spares == 0 || m.decision.restart.max_restarts == 0 || m.quarantined {
            return None;
        }
        // Confined only: a spare that loaded the plugin would run its code before a
        // restart is due, beyond the restart budget and the backoff.
        let mut pool = WarmPool::new(&m.config, self.config.warm_spares, Spare::Confined);
        pool.refill_in_background();
        Some(pool)
    }

    /// Replaces running plugin `name` with the signed package in `dir`, initialised with
    /// `init`. The package is verified as a load's is, and must be the same plugin at a
    /// newer version (or an older one, when the policy allows downgrades); the policy
    /// decides for it afresh. Then, once the call of the plugin in flight has ended (this
    /// waits for it; calls of other plugins go on), the installed version is shut down,
    /// its storage copied, and the new version started. If it fails to start, the copy is
    /// put back and the previous version started again: [`HostError::RolledBack`]. Once it
    /// serves, its first calls are its probation (the policy's `update`): a fault beyond the
    /// failure budget, an attack, or a quarantine among them rolls it back the same way,
    /// discarding what it stored; served, the update is final. So is it when, during the
    /// probation, the plugin's decision changes (a policy reload, a consent withdrawn, a
    /// window closed) or the previous version's signer is revoked: a rollback would bring
    /// back what no longer holds.
    pub fn update(&self, name: &str, dir: &Path, init: &[u8]) -> Result<Updated, HostError> {
        let audit = self.audit(name);
        // The drain: a call of the plugin holds its lock until it is answered, and none
        // starts while the update holds it.
        let mut guard = self.managed(name)?;
        let m = &mut *guard;
        let refuse = |version: &str, kind: &str, error: HostError| {
            audit.record(&AuditEvent::UpdateRefused {
                version: version.to_owned(),
                kind: kind.to_owned(),
                detail: error.to_string(),
            });
            Err(error)
        };
        if m.quarantined || m.plugin.is_none() {
            return refuse("", "quarantined", HostError::Quarantined(name.into()));
        }
        if m.update.is_some() {
            let refusal = UpdateRefusal::InProbation(m.package.manifest.version.clone());
            let kind = refusal.kind();
            return refuse("", kind, update_refused(name, refusal));
        }
        let package =
            match sbx_package::verify(dir, &self.config.trust, sbx_contract::abi::ABI_VERSION) {
                Ok(p) => p,
                Err(e) => return refuse("", e.kind(), e.into()),
            };
        let offered = package.manifest.version.clone();
        if package.manifest.name != name {
            let refusal = UpdateRefusal::OtherPlugin {
                installed: name.into(),
                offered: package.manifest.name.clone(),
            };
            return refuse(&offered, refusal.kind(), update_refused(name, refusal));
        }
        let decision = decide(&self.config.policy, &package, &self.conditions());
        audit.record(&decision.audit_event());
        let installed = m.package.manifest.version.clone();
        if let Err(refusal) = crate::update::check_version(&installed, &offered, &decision.update) {
            return refuse(&offered, refusal.kind(), update_refused(name, refusal));
        }
        if !decision.load {
            let error = HostError::PolicyRefused {
                plugin: name.into(),
                policy_version: decision.policy_version,
                withheld: decision.withheld.iter().map(|c| c.to_string()).collect(),
            };
            return refuse(&offered, "policy_refused", error);
        }
        let config = self.sandbox_config(&package, &decision)?;
        audit.record(&AuditEvent::UpdateStarted {
            from: installed.clone(),
            to: offered.clone(),
        });
        // The installed version ends first: its storage is still while it is copied, and
        // its shutdown does not race the new version's init.
        m.spares = None;
        m.stop_process(Stop::Gracefully);
        let snapshot = match Snapshot::take(&self.storage_dir(name)) {
            Ok(s) => s,
            Err(source) => {
                // Nothing of the new version ran: the installed one starts again as it was.
                let error = HostError::UpdateStorage {
                    plugin: name.into(),
                    source,
                };
                audit.record(&AuditEvent::UpdateRefused {
                    version: offered,
                    kind: "storage".into(),
                    detail: error.to_string(),
                });
                restart_installed(m, &audit);
                m.spares = self.spares_for(m);
                return Err(error);
            }
        };
        let previous = m.swap_version(Version {
            package,
            decision,
            config,
            init: init.to_vec(),
        });
        match start(&m.config, audit.clone(), &m.init, &m.withdrawals, None) {
            Ok(p) => m.plugin = Some(p),
            Err(e) => {
                let reason = e.to_string();
                roll_back(m, &audit, previous, snapshot, &reason);
                m.spares = self.spares_for(m);
                return Err(HostError::RolledBack {
                    plugin: name.into(),
                    from: installed,
                    to: offered,
                    reason,
                });
            }
        }
        m.restarts.clear();
        m.ended = None;
        let probation = Probation::new(&m.decision.update);
        audit.record(&AuditEvent::UpdateActivated {
            version: offered.clone(),
            sha256: sbx_package::hex(&m.package.sha256),
            signer: m.package.signer.clone(),
            probation_calls: probation.map_or(0, |p| p.calls_left),
        });
        match probation {
            Some(probation) => {
                m.update = Some(Pending {
                    probation,
                    previous,
                    snapshot,
                })
            }
            None => commit(&audit, &offered, snapshot),
        }
        m.spares = self.spares_for(m);
        Ok(Updated {
            from: installed,
            to: offered,
            probation_calls: probation.map_or(0, |p| p.calls_left),
        })
    }

    fn sandbox_config(
        &self,
        package: &VerifiedPackage,
        d: &Decision,
    ) -> Result<SandboxConfig, HostError> {
        let l = &d.limits;
        let broker = BrokerConfig {
            grants: d.granted.clone(),
            config: d.config.clone(),
            storage_dir: Some(self.storage_dir(&package.manifest.name)),
            storage_bytes: l.storage_bytes,
            storage_keys: l.storage_keys,
            net_allowlist: d.net_allowlist.clone(),
            host_call_rate: Rate::host_calls(l.host_calls_per_second),
            log_rate: Rate::log_bytes(l.log_bytes_per_second),
            ..BrokerConfig::default()
        };
        let limits = Limits {
            // The cgroup holds the cap; the address space (thread stacks and malloc arenas
            // reserve far more than they touch) is a looser backstop, tightened to the cap
            // by the supervisor where no cgroup is available.
            address_space_bytes: l.memory_mib.max(256).saturating_mul(4 << 20),
            cpu_seconds: l.cpu_seconds,
            processes: l.processes,
            output_bytes: l.output_bytes,
            ..Limits::default()
        };
        let mut b = SandboxConfig::for_package(package)
            .map_err(HostError::Seal)?
            .broker(broker)
            .limits(limits)
            .memory_cap_mib(l.memory_mib)
            .deadlines(self.config.deadlines)
            .layers(self.config.layers)
            .low_latency(self.config.low_latency)
            .require_hardening(d.require_hardening.clone())
            .host_paths(self.config.host_paths.clone());
        if let Some(r) = &self.config.runner {
            b = b.runner(r.clone());
        }
        if let Some(percent) = l.cpu_percent {
            b = b.cpu_rate_percent(percent);
        }
        Ok(b.build().map_err(SandboxError::from)?)
    }

    /// Calls `method` on plugin `name`. A transient fault restarts the plugin (the call
    /// itself still fails, with the fault); see the module documentation. Calls of other
    /// plugins, from other threads, go on meanwhile; one of the same plugin waits for this.
    pub fn invoke(&self, name: &str, method: &str, input: &[u8]) -> Result<Vec<u8>, HostError> {
        let audit = self.audit(name);
        let mut guard = self.managed(name)?;
        let m = &mut *guard;
        if m.quarantined {
            return Err(HostError::Quarantined(name.into()));
        }
        let Some(plugin) = m.plugin.as_mut() else {
            return Err(HostError::Quarantined(name.into()));
        };
        let result = plugin.invoke(method, input);
        // What the probation counts: a call the plugin answered (an error status is an
        // answer) or one that ended its process. A call refused before it reached the
        // plugin (too large, in the wrong state) says nothing of the new version.
        let end = match &result {
            Ok(_) | Err(SandboxError::Plugin { .. }) => Some(CallEnd::Answered),
            Err(SandboxError::Ended(record)) if is_transient(&record.reason) => {
                Some(CallEnd::TransientFault)
            }
            Err(SandboxError::Ended(_)) => Some(CallEnd::Attack),
            Err(_) => None,
        };
        if let Err(SandboxError::Ended(record)) = &result {
            m.take_process();
            m.ended = Some(record.as_ref().clone());
        }
        let mut rolled_back = false;
        if let Some(end) = end.filter(|_| m.update.is_some()) {
            rolled_back = on_probation(m, &audit, end);
        }
        if let Err(SandboxError::Ended(record)) = &result
            && m.plugin.is_none()
            && !m.quarantined
        {
            recover(m, &audit, record);
            // A new version that would be quarantined is rolled back instead: the previous
            // one served.
            if m.quarantined && m.update.is_some() {
                roll_back_pending(m, &audit, "quarantined on probation");
                rolled_back = true;
            }
        }
        if rolled_back {
            // The new version's spares would start it again at the previous one's next
            // restart: the previous version's own replace them.
            m.spares = self.spares_for(m);
        }
        Ok(result?)
    }

    /// A handle that withdraws plugin `name`'s capabilities, from its running process and
    /// from every process a restart starts: the one way to revoke, from any thread, between
    /// calls or while a call of it holds the plugin.
    pub fn revoker(&self, name: &str) -> Result<HostRevoker, HostError> {
        let entry = self
            .plugins
            .get(name)
            .ok_or_else(|| HostError::NotLoaded(name.into()))?;
        Ok(HostRevoker(Arc::clone(&entry.withdrawals)))
    }

    /// Revokes a signer key, given by id or as the whole public key in either letter case:
    /// it is added to the revocation list (no further load succeeds, whatever trust store
    /// [`Host::replace_trust`] installs later) and every running plugin it signed is killed
    /// and quarantined. Returns their names.
    pub fn revoke_key(&mut self, key: &str) -> Result<Vec<String>, HostError> {
        let id =
            sbx_package::canonical_key_id(key).ok_or_else(|| HostError::NotAKey(key.to_owned()))?;
        self.config.trust.revoked.keys.insert(id.clone());
        self.revoked_keys.insert(id.clone());
        let mut stopped = Vec::new();
        for (name, m) in &mut self.plugins {
            let m = lock_mut(m);
            // A version on probation signed by the revoked key cannot be gone back to: the
            // update is final, whatever comes of the version that serves.
            if m.update
                .as_ref()
                .is_some_and(|p| p.previous.package.signer == id)
            {
                finalise_pending(m, &Audit::new(self.config.audit.clone(), name));
            }
            if m.package.signer != id {
                continue;
            }
            // Refused from now on; only a plugin that was running is reported stopped.
            m.quarantined = true;
            m.spares = None;
            if m.stop_process(Stop::Now) {
                stopped.push(name.clone());
            }
        }
        self.audit("").record(&AuditEvent::KeyRevoked {
            key: id,
            stopped: stopped.clone(),
        });
        Ok(stopped)
    }

    /// Replaces the accepted publishers and the revocation list (a rotated trust store).
    /// Keys revoked with [`Host::revoke_key`] stay revoked. Plugins already running are not
    /// verified again.
    pub fn replace_trust(&mut self, mut trust: TrustStore) {
        trust.revoked.keys.extend(self.revoked_keys.iter().cloned());
        self.config.trust = trust;
    }

    /// Deadlines for plugins loaded from now on (running ones keep theirs).
    pub fn set_deadlines(&mut self, deadlines: Deadlines) {
        self.config.deadlines = deadlines;
    }

    /// Replaces the policy store and evaluates every loaded plugin again: capabilities no
    /// longer granted are revoked at runtime; a plugin the new store refuses is stopped.
    pub fn reload_policy(&mut self, policy: PolicyStore) {
        self.config.policy = policy;
        self.refresh_conditions();
    }

    /// Decides again for every plugin under the conditions of now (the time, the host's
    /// load, the user's consents), as at a policy reload: what a decision no longer grants
    /// (a window that closed, a consent withdrawn) is revoked from the running plugin and
    /// its restarts at once, and a plugin the policy now refuses is stopped. What it newly
    /// grants, and its limits, take effect at the plugin's next load. Conditions are read
    /// only when the host decides: an embedding host calls this on its own schedule (at a
    /// window's edge, as the load changes).
    pub fn refresh_conditions(&mut self) {
        let conditions = self.conditions();
        for (name, m) in &mut self.plugins {
            let m = lock_mut(m);
            let decision = decide(&self.config.policy, &m.package, &conditions);
            Audit::new(self.config.audit.clone(), name).record(&decision.audit_event());
            apply_decision(m, decision, &Audit::new(self.config.audit.clone(), name));
        }
    }

    /// Records the user's consent to plugin `plugin`'s use of `capability` (`given`), or
    /// its withdrawal, for the rules whose `consent` names it; audited. A consent given
    /// counts from the plugin's next load; one withdrawn takes the capability from the
    /// running plugin at once, and from its restarts.
    pub fn set_consent(&mut self, plugin: &str, capability: Capability, given: bool) {
        let key = (plugin.to_owned(), capability);
        if given {
            self.consents.insert(key);
        } else {
            self.consents.remove(&key);
        }
        let audit = Audit::new(self.config.audit.clone(), plugin);
        audit.record(&AuditEvent::Consent {
            capability: capability.name().into(),
            given,
        });
        if given {
            return;
        }
        let conditions = self.conditions();
        if let Some(entry) = self.plugins.get_mut(plugin) {
            let m = lock_mut(entry);
            let decision = decide(&self.config.policy, &m.package, &conditions);
            audit.record(&decision.audit_event());
            apply_decision(m, decision, &audit);
        }
    }

    /// What a decision depends on now, besides the store and the manifest.
    fn conditions(&self) -> Conditions {
        Conditions {
            now: SystemTime::now(),
            load_per_cpu: load_per_cpu(&self.config.host_paths.proc_root),
            consents: self.consents.clone(),
        }
    }

    /// Stops plugin `name` gracefully and forgets it. Returns how its process ended: now,
    /// or before (a fault, a revoked key) for a plugin that was not running.
    pub fn unload(&mut self, name: &str) -> Result<Option<TerminationRecord>, HostError> {
        let m = self
            .plugins
            .remove(name)
            .ok_or_else(|| HostError::NotLoaded(name.into()))?
            .managed
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        // Unloaded on probation: the new version stays what is installed.
        if let Some(pending) = m.update {
            commit(
                &self.audit(name),
                &m.package.manifest.version,
                pending.snapshot,
            );
        }
        Ok(match m.plugin {
            Some(mut p) => Some(stop(&mut p, Stop::Gracefully)?),
            None => m.ended,
        })
    }

    /// How the last process of plugin `name` ended, when it faulted or the host stopped it.
    pub fn last_termination(&self, name: &str) -> Option<TerminationRecord> {
        self.managed(name).ok()?.ended.clone()
    }

    /// The log records kept of plugin `name`, newest last: those of its last process that
    /// ended (what a plugin logged in the call that ended it is not lost with its process),
    /// then those of its running process. After a fault the host restarted inside a
    /// call, the records the faulting process wrote in that call are the newest but the
    /// running process's, which has written none yet.
    pub fn logs(&self, name: &str) -> Vec<LogRecord> {
        let Ok(m) = self.managed(name) else {
            return Vec::new();
        };
        let running = m.plugin.as_ref().into_iter().flat_map(Plugin::logs);
        m.ended_logs.iter().chain(running).cloned().collect()
    }

    /// Figures of plugin `name`, over all its processes since it was loaded.
    pub fn stats(&self, name: &str) -> Result<Stats, HostError> {
        Ok(self.managed(name)?.stats())
    }

    /// What the host knows of each of its plugins now, by name: running or not,
    /// quarantined, restarts, figures and how its last process ended.
    pub fn figures(&self) -> Vec<crate::metrics::PluginFigures> {
        self.plugins
            .keys()
            .filter_map(|name| {
                let m = self.managed(name).ok()?;
                Some(crate::metrics::PluginFigures {
                    plugin: name.clone(),
                    running: m.plugin.is_some(),
                    quarantined: m.quarantined,
                    restarts: m.restarts_total,
                    stats: m.stats(),
                    last_end: m.ended.as_ref().map(|r| r.reason.kind()),
                })
            })
            .collect()
    }

    /// The figures of every plugin as an OpenMetrics text exposition, for a Prometheus
    /// scrape ([`crate::metrics`]).
    pub fn metrics(&self) -> String {
        crate::metrics::openmetrics(&self.figures())
    }

    /// The version of plugin `name` that serves (the one installed last, or the one an
    /// update was rolled back to).
    pub fn version(&self, name: &str) -> Option<String> {
        Some(self.managed(name).ok()?.package.manifest.version.clone())
    }

    /// Whether plugin `name`'s last update is still on probation.
    pub fn on_probation(&self, name: &str) -> bool {
        self.managed(name).is_ok_and(|m| m.update.is_some())
    }

    /// The decision in force for plugin `name`.
    pub fn decision(&self, name: &str) -> Option<Decision> {
        Some(self.managed(name).ok()?.decision.clone())
    }

    /// The runner pids of plugin `name`'s warm spares ready now: confined runners kept for
    /// its restarts, which have loaded nothing of it yet.
    pub fn spare_pids(&self, name: &str) -> Vec<i32> {
        self.managed(name)
            .ok()
            .and_then(|m| m.spares.as_ref().map(WarmPool::spare_pids))
            .unwrap_or_default()
    }

    /// Whether plugin `name` is quarantined.
    pub fn is_quarantined(&self, name: &str) -> bool {
        self.managed(name).is_ok_and(|m| m.quarantined)
    }

    /// The running process of plugin `name` (to pause, read events, and so on), held until
    /// the returned handle is dropped. Meanwhile everything else of the same plugin waits
    /// for it (a call, its figures, logs, decision, quarantine, spares): drop the handle
    /// before asking the host anything more of that plugin on the same thread.
    pub fn plugin(&self, name: &str) -> Option<HostedPlugin<'_>> {
        let m = self.managed(name).ok()?;
        m.plugin.is_some().then_some(HostedPlugin(m))
    }
}

/// The running process of a hosted plugin, held: see [`Host::plugin`].
pub struct HostedPlugin<'a>(MutexGuard<'a, Managed>);

impl std::ops::Deref for HostedPlugin<'_> {
    type Target = Plugin;

    fn deref(&self) -> &Plugin {
        // Made only for a plugin with a process, which nothing can take while this holds it.
        self.0
            .plugin
            .as_ref()
            .expect("a HostedPlugin is made only with a running process")
    }
}

/// A plugin's lock, also after a thread panicked holding it: what it guards is replaced
/// whole or not at all.
fn lock(m: &Mutex<Managed>) -> MutexGuard<'_, Managed> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A plugin under `&mut Host`, which no call can hold.
fn lock_mut(e: &mut Entry) -> &mut Managed {
    e.managed.get_mut().unwrap_or_else(|p| p.into_inner())
}

/// What the policy decides for `package` under `conditions`.
fn decide(policy: &PolicyStore, package: &VerifiedPackage, conditions: &Conditions) -> Decision {
    let requested: BTreeSet<Capability> = package
        .manifest
        .capabilities
        .iter()
        .filter_map(|c| Capability::from_name(c))
        .collect();
    policy.decide(
        &package.manifest.name,
        &requested,
        &package.manifest.limits,
        conditions,
    )
}

/// The host's load now: runnable tasks per CPU, the 1-minute load average (procfs's
/// `loadavg` under `proc_root`) divided by the CPUs this process may use. `None` when it
/// cannot be read.
fn load_per_cpu(proc_root: &Path) -> Option<f64> {
    use procfs::FromRead;
    let load = procfs::LoadAverage::from_file(proc_root.join("loadavg")).ok()?;
    let cpus = std::thread::available_parallelism().ok()?.get();
    Some(f64::from(load.one) / cpus as f64)
}

/// Takes `decision` for the running plugin `m`: what it no longer grants is withdrawn from
/// the running process and from its restarts alike, a plugin it refuses is stopped, and an
/// update on probation becomes final when the decision changed.
fn apply_decision(m: &mut Managed, decision: Decision, audit: &Audit) {
    // When the decision changed, the previous version of an update on probation was decided
    // under what no longer holds: the update is final, and no rollback brings that decision
    // back.
    if decision.audit_event() != m.decision.audit_event() {
        finalise_pending(m, audit);
    }
    let revoker = HostRevoker(Arc::clone(&m.withdrawals));
    for c in m.decision.granted.difference(&decision.granted) {
        revoker.revoke(*c);
    }
    if !decision.load && m.stop_process(Stop::Gracefully) {
        m.quarantined = true;
        m.spares = None;
    }
    m.decision = decision;
}

/// How [`stop`] ends a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// `sbx_plugin_shutdown` within the shutdown deadline, then a kill.
    Gracefully,
    /// A kill.
    Now,
}

/// Ends `p`'s process. One that ended on its own (a fault) is only reaped, and its record
/// returned. One in a final state cannot shut down: the kill is tried, and if the lifecycle
/// refuses it, dropping the handle still ends the process.
fn stop(p: &mut Plugin, how: Stop) -> Result<TerminationRecord, SandboxError> {
    if let Some(record) = p.termination() {
        return Ok(record.clone());
    }
    if how == Stop::Gracefully && !p.state().is_final() {
        p.shutdown()
    } else {
        p.kill()
    }
}

/// Spawns, initialises and starts a process of a plugin, without what was withdrawn from
/// it; it becomes the process its revokers revoke in.
fn start(
    config: &SandboxConfig,
    audit: Audit,
    init: &[u8],
    withdrawals: &Mutex<Withdrawals>,
    spares: Option<&WarmPool>,
) -> Result<Plugin, SandboxError> {
    let lock = || withdrawals.lock().unwrap_or_else(|p| p.into_inner());
    let mut config = config.clone();
    let withdrawn = lock().withdrawn.clone();
    config.broker.grants.retain(|c| !withdrawn.contains(c));
    let mut p = match spares {
        Some(pool) => pool.take_granting(&config.broker.grants, audit)?,
        None => Plugin::spawn_audited(&config, audit)?,
    };
    {
        // A revocation since the grants were read is made here, before init runs; one
        // after finds this process running.
        let mut w = lock();
        let controller = p.controller();
        for c in w.withdrawn.difference(&withdrawn) {
            controller.revoke(*c);
        }
        w.running = Some(controller);
    }
    p.init(init)?;
    p.start()?;
    Ok(p)
}

/// After a fault: restart with backoff, or quarantine.
fn recover(m: &mut Managed, audit: &Audit, record: &TerminationRecord) {
    let policy = m.decision.restart;
    let now = Instant::now();
    let window = Duration::from_secs(policy.window_s);
    while m
        .restarts
        .front()
        .is_some_and(|t| now.duration_since(*t) > window)
    {
        m.restarts.pop_front();
    }
    let attempt = m.restarts.len() as u32 + 1;
    if !is_transient(&record.reason) || attempt > policy.max_restarts {
        // With restarts off (none allowed) quarantine is the policy, not a limit reached.
        if policy.max_restarts > 0 && attempt > policy.max_restarts {
            audit.record(&AuditEvent::LimitHit {
                limit: crate::event::Limit::Restarts,
                action: crate::event::LimitAction::Terminated,
                value: u64::from(attempt),
                max: u64::from(policy.max_restarts),
            });
        }
        m.quarantined = true;
        m.spares = None;
        audit.record(&AuditEvent::Quarantined {
            restarts: attempt - 1,
        });
        return;
    }
    let backoff = policy.backoff(attempt);
    audit.record(&AuditEvent::Restart {
        attempt,
        backoff_ms: backoff.as_millis() as u64,
        after: record.reason.kind().name().into(),
    });
    std::thread::sleep(backoff);
    m.restarts.push_back(Instant::now());
    m.restarts_total += 1;
    match start(
        &m.config,
        audit.clone(),
        &m.init,
        &m.withdrawals,
        m.spares.as_ref(),
    ) {
        Ok(p) => m.plugin = Some(p),
        Err(_) => {
            // A plugin that cannot even start again is not transiently faulty.
            m.quarantined = true;
            m.spares = None;
            audit.record(&AuditEvent::Quarantined { restarts: attempt });
        }
    }
}

fn update_refused(plugin: &str, refusal: UpdateRefusal) -> HostError {
    HostError::UpdateRefused {
        plugin: plugin.into(),
        refusal,
    }
}

/// Counts the call that just ended so against `m`'s probation, committing the update or
/// rolling it back when that is the verdict; whether it was rolled back.
fn on_probation(m: &mut Managed, audit: &Audit, end: CallEnd) -> bool {
    let Some(pending) = m.update.as_mut() else {
        return false;
    };
    match pending.probation.record(end) {
        crate::update::Verdict::Continue => false,
        crate::update::Verdict::Commit => {
            if let Some(pending) = m.update.take() {
                commit(audit, &m.package.manifest.version, pending.snapshot);
            }
            false
        }
        crate::update::Verdict::RollBack => {
            let reason = match end {
                CallEnd::Attack => "attacked on probation".to_owned(),
                _ => format!(
                    "{} faults on probation, {} allowed",
                    pending.probation.faults, pending.probation.budget
                ),
            };
            roll_back_pending(m, audit, &reason);
            true
        }
    }
}

/// Makes the update of `m` on probation, if any, final now.
fn finalise_pending(m: &mut Managed, audit: &Audit) {
    if let Some(pending) = m.update.take() {
        commit(audit, &m.package.manifest.version, pending.snapshot);
    }
}

/// Makes an update final: the copy of the storage from before it is dropped.
fn commit(audit: &Audit, version: &str, snapshot: Snapshot) {
    // A copy left behind is replaced by the next update's; it does not make this one less
    // final.
    let _ = snapshot.discard();
    audit.record(&AuditEvent::UpdateCommitted {
        version: version.to_owned(),
    });
}

/// Rolls `m`'s update on probation back.
fn roll_back_pending(m: &mut Managed, audit: &Audit, reason: &str) {
    let Some(pending) = m.update.take() else {
        return;
    };
    m.stop_process(Stop::Now);
    roll_back(m, audit, pending.previous, pending.snapshot, reason);
}

/// Puts `previous` back in place of the version `m` runs (which runs no process any more),
/// its storage as `snapshot` kept it, and starts it. Audited; a previous version that does
/// not start again is quarantined.
fn roll_back(m: &mut Managed, audit: &Audit, previous: Version, snapshot: Snapshot, reason: &str) {
    // Spares made for the version given up would run it again.
    m.spares = None;
    let given_up = m.swap_version(previous);
    let restored = snapshot.restore();
    m.restarts.clear();
    m.quarantined = false;
    let reason = match &restored {
        Ok(()) => reason.to_owned(),
        Err(e) => format!("{reason}; the storage could not be put back: {e}"),
    };
    audit.record(&AuditEvent::UpdateRolledBack {
        from: given_up.package.manifest.version,
        to: m.package.manifest.version.clone(),
        sha256: sbx_package::hex(&m.package.sha256),
        signer: m.package.signer.clone(),
        reason,
        storage_restored: restored.is_ok(),
    });
    restart_installed(m, audit);
}

/// Starts `m`'s version again after an update stopped it; quarantined if it cannot start.
fn restart_installed(m: &mut Managed, audit: &Audit) {
    match start(&m.config, audit.clone(), &m.init, &m.withdrawals, None) {
        Ok(p) => m.plugin = Some(p),
        Err(_) => {
            m.quarantined = true;
            audit.record(&AuditEvent::Quarantined { restarts: 0 });
        }
    }
}
