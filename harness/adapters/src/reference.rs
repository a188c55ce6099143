//! The reference sandbox behind the adapter protocol, and its mutants: the same sandbox
//! with one defence switched off, so that the suite can show each requirement catching
//! the sandbox that breaks it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sbx_harness::protocol::{
    ErrorBody, ErrorKind, Event, Feature, HelloResult, PROTOCOL_VERSION, Policy, Termination,
};
use sbx_package::TrustStore;
use sbx_sandbox::{
    Audit, AuditEvent, AuditLog, BrokerConfig, Capability, Controller, Deadlines, Layers, Limits,
    Plugin, SandboxConfig, SandboxConfigBuilder, SandboxError, TerminationRecord, UnprivilegedId,
};
use serde_json::Value;

use crate::serve::{Backend, Revoker, error, invoke_result, terminated};

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
    "shared-id",
];

/// The containment layers `--only` names: the reference with those alone, every other
/// containment layer relaxed (rlimits, deadlines and the cgroup stay: they guard the
/// machine, not the boundary). Each layer alone must stop the attacks it is meant for.
pub const LAYERS: &[&str] = &[
    "seccomp",
    "landlock",
    "namespaces",
    "identity-drop",
    "capability-drop",
    "no-new-privs",
];

/// The `shared-id` mutant's uid is this plus the adapter's process id: above the per-plugin
/// ids (`sbx_sandbox::config::PER_PLUGIN_ID_BASE` plus a process id below 2^22).
const SHARED_ID_BASE: u32 = 0x7180_0000;

/// Log records forwarded per plugin; the rest are counted, not forwarded.
const MAX_FORWARDED_LOGS: u64 = 256;

/// Most records one `audit` answer holds (some 300 bytes each, against a 1 MiB line).
const MAX_AUDIT_ANSWER: usize = 2000;

/// The audit log, in the adapter's working directory.
const AUDIT_FILE: &str = "audit.jsonl";

/// Storage each plugin may hold when the case policy names no storage limit.
const STORAGE_BYTES: u64 = 1 << 20;

struct Loaded {
    plugin: Option<Plugin>,
    forwarded_logs: u64,
    /// The id of the key that signed its package, when it was loaded from a verified one.
    signer: Option<String>,
    /// How it ended when the host stopped it outside any request (its key was revoked).
    stopped: Option<TerminationRecord>,
}

impl Loaded {
    /// The answer to a request for a plugin whose process is gone: how it ended, if the
    /// host stopped it, or that it was unloaded.
    fn gone(&self) -> ErrorBody {
        match &self.stopped {
            Some(record) => terminated(termination(record)),
            None => error(ErrorKind::Invalid, "plugin already unloaded"),
        }
    }
}

/// The reference (or mutant) adapter.
pub struct Reference {
    mutant: Option<String>,
    /// `--only`: the containment layers kept, every other one relaxed.
    isolated: Option<String>,
    layers: Layers,
    no_deadlines: bool,
    /// The `no-signature-check` mutant: packages are loaded without being verified.
    no_signature_check: bool,
    /// The `no-cgroup` mutant: no per-plugin cgroup, so no CPU rate cap.
    no_cgroup: bool,
    /// The `shared-id` mutant: every plugin of this adapter runs under one uid, so they
    /// share one RLIMIT_NPROC count.
    shared_id: Option<UnprivilegedId>,
    plugins: BTreeMap<String, Loaded>,
    /// The audit log every plugin writes to (`audit.jsonl` in the working directory).
    audit: Option<Arc<AuditLog>>,
    /// The `no-audit` mutant.
    no_audit: bool,
    /// Controllers of the running plugins, for `revoke` from the request reader.
    controllers: Arc<Mutex<BTreeMap<String, Controller>>>,
    /// Publisher keys revoked during the session (`revoke_key`): refused at every later
    /// load, whatever the trust store of that load says.
    revoked_keys: BTreeSet<String>,
    events: Vec<Event>,
}

impl Reference {
    /// The reference sandbox, or the named mutant.
    pub fn new(mutant: Option<&str>) -> Result<Reference, String> {
        let mut layers = Layers::ALL;
        let mut no_deadlines = false;
        let mut no_signature_check = false;
        let mut no_audit = false;
        let mut no_cgroup = false;
        let mut shared_id = None;
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
            // Distinct from every per-plugin id, and from another adapter's shared one, so
            // that cases running side by side do not share it.
            Some("shared-id") => {
                shared_id = Some(UnprivilegedId::Fixed(SHARED_ID_BASE + std::process::id()));
            }
            Some(other) => return Err(format!("unknown mutant `{other}`")),
        }
        Ok(Reference {
            mutant: mutant.map(str::to_owned),
            isolated: None,
            layers,
            no_deadlines,
            no_signature_check,
            no_cgroup,
            shared_id,
            plugins: BTreeMap::new(),
            // No log is no audit: `audit` then says so, and the audit cases fail. The
            // `no-audit` mutant keeps none and answers `audit` with no records.
            audit: if no_audit {
                None
            } else {
                AuditLog::open(AUDIT_FILE).ok().map(Arc::new)
            },
            no_audit,
            controllers: Arc::default(),
            revoked_keys: BTreeSet::new(),
            events: Vec::new(),
        })
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
        let d = policy.deadlines;
        let hour = Duration::from_secs(3600);
        let deadlines = if self.no_deadlines {
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
        };
        // A CPU rate cap is a cgroup's (its CPU controller throttles the plugin's threads).
        let builder = match l.cpu_percent {
            Some(percent) if !self.no_cgroup => builder.cpu_rate_percent(percent),
            _ => builder,
        };
        let builder = match self.shared_id {
            Some(id) => builder.unprivileged_id(id),
            None => builder,
        };
        builder
            .name(name)
            .broker(broker_config(name, policy)?)
            .limits(limits)
            .deadlines(deadlines)
            .layers(self.layers)
            .build()
            .map_err(|e| error(ErrorKind::Refused, e.to_string()))
    }

    /// Spawns, initialises and starts a plugin under `cfg` as `name`; `signer` signed its
    /// verified package.
    fn start(
        &mut self,
        name: &str,
        cfg: &SandboxConfig,
        config: &[u8],
        signer: Option<String>,
    ) -> Result<Value, ErrorBody> {
        if self.plugins.contains_key(name) {
            return Err(error(
                ErrorKind::Invalid,
                format!("plugin `{name}` is already loaded"),
            ));
        }
        let audit = Audit::new(self.audit.clone(), name);
        let mut plugin = Plugin::spawn_audited(cfg, audit).map_err(sandbox_error)?;
        let init = plugin.init(config).and_then(|()| plugin.start());
        let enforcement: Vec<Value> = plugin
            .enforcement()
            .layers
            .iter()
            .map(|l| serde_json::json!({ "layer": l.layer, "status": format!("{:?}", l.status), "detail": l.detail }))
            .collect();
        self.plugins.insert(
            name.to_owned(),
            Loaded {
                plugin: Some(plugin),
                forwarded_logs: 0,
                signer,
                stopped: None,
            },
        );
        let result = init.map(|()| serde_json::json!({ "enforcement": enforcement }));
        let answer = self.after(name, result);
        if answer.is_err() {
            self.plugins.remove(name);
        } else if let Some(p) = self.plugins.get(name).and_then(|l| l.plugin.as_ref()) {
            self.controllers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(name.to_owned(), p.controller());
        }
        answer
    }

    fn get(&mut self, plugin: &str) -> Result<&mut Loaded, ErrorBody> {
        self.plugins
            .get_mut(plugin)
            .ok_or_else(|| error(ErrorKind::Invalid, format!("no plugin `{plugin}`")))
    }

    /// Forwards new log records as events (bounded), and a termination as an error.
    fn after(
        &mut self,
        name: &str,
        result: Result<Value, SandboxError>,
    ) -> Result<Value, ErrorBody> {
        if let Some(loaded) = self.plugins.get_mut(name)
            && let Some(p) = loaded.plugin.as_ref()
        {
            let total = p.stats().log_records;
            let new = total.saturating_sub(loaded.forwarded_logs);
            let room = MAX_FORWARDED_LOGS.saturating_sub(loaded.forwarded_logs);
            let logs: Vec<_> = p.logs().collect();
            let take = new.min(room).min(logs.len() as u64) as usize;
            for r in &logs[logs.len() - take..] {
                self.events.push(Event::Log {
                    plugin: name.to_owned(),
                    level: r.level.clone(),
                    message: r.message.clone(),
                });
            }
            loaded.forwarded_logs = total;
        }
        result.map_err(sandbox_error)
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
    Ok(BrokerConfig {
        grants,
        storage_dir: Some(std::path::Path::new("storage").join(name)),
        storage_bytes: policy.limits.storage_bytes.unwrap_or(STORAGE_BYTES),
        net_allowlist: policy.net_allowlist.clone(),
        ..BrokerConfig::default()
    })
}

/// The protocol's form of a termination record.
pub fn termination(record: &TerminationRecord) -> Termination {
    Termination {
        reason: record.reason.kind().to_owned(),
        detail: format!("{:?}", record.reason),
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
            // A refusal is the runner's own "cannot load" exit or a failed init; anything
            // else (a filter kill in a constructor, a deadline) is the process ending.
            let refused = record.exit_code == Some(sbx_sandbox::runner::serve::exit_code::LOAD)
                || message.starts_with("sbx_plugin_init returned");
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
        SandboxError::InvalidTransition(e) => error(ErrorKind::Invalid, e.to_string()),
        other => error(ErrorKind::Internal, other.to_string()),
    }
}

impl Backend for Reference {
    fn hello(&self) -> HelloResult {
        HelloResult {
            name: format!(
                "sbx reference sandbox{}{}",
                self.mutant
                    .as_ref()
                    .map_or(String::new(), |m| format!(", mutant {m}")),
                self.isolated
                    .as_ref()
                    .map_or(String::new(), |l| format!(", {l} alone")),
            ),
            version: env!("CARGO_PKG_VERSION").into(),
            protocol: PROTOCOL_VERSION,
            features: vec![
                Feature::Pause,
                Feature::Revoke,
                Feature::Broker,
                Feature::Signatures,
                Feature::Quotas,
                Feature::Deadlines,
                Feature::TerminationReasons,
                Feature::Audit,
                Feature::KeyRevocation,
            ],
        }
    }

    fn load(
        &mut self,
        name: &str,
        path: &str,
        policy: &Policy,
        config: &[u8],
    ) -> Result<Value, ErrorBody> {
        let cfg = self.configure(SandboxConfig::builder(path), name, policy)?;
        self.start(name, &cfg, config, None)
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
            return self.start(name, &cfg, config, None);
        }
        let mut trust = TrustStore::load(std::path::Path::new(trust))
            .map_err(|e| error(ErrorKind::Invalid, e.to_string()))?;
        trust.revoked.keys.extend(self.revoked_keys.iter().cloned());
        // The bytes checked are the bytes run: `for_package` seals them into a memfd.
        let verified = sbx_package::verify(dir, &trust, sbx_sandbox::abi::ABI_VERSION)
            .map_err(|e| error(ErrorKind::Refused, format!("{}: {e}", e.kind())))?;
        let builder = SandboxConfig::for_package(&verified)
            .map_err(|e| error(ErrorKind::Internal, format!("sealing the plugin: {e}")))?;
        let cfg = self.configure(builder, name, policy)?;
        self.start(name, &cfg, config, Some(verified.signer))
    }

    fn invoke(&mut self, name: &str, method: &str, input: &[u8]) -> Result<Value, ErrorBody> {
        let loaded = self.get(name)?;
        let Some(p) = loaded.plugin.as_mut() else {
            return Err(loaded.gone());
        };
        if let Some(t) = p.termination() {
            return Err(terminated(termination(t)));
        }
        let result = match p.invoke(method, input) {
            Ok(output) => Ok(invoke_result(0, &output)),
            Err(SandboxError::Plugin { code, .. }) => Ok(invoke_result(code, &[])),
            Err(e) => Err(e),
        };
        self.after(name, result)
    }

    fn pause(&mut self, name: &str) -> Result<Value, ErrorBody> {
        let loaded = self.get(name)?;
        let p = loaded.plugin.as_ref().ok_or_else(|| loaded.gone())?;
        let result = p.pause().map(|()| serde_json::json!({}));
        self.after(name, result)
    }

    fn resume(&mut self, name: &str) -> Result<Value, ErrorBody> {
        let loaded = self.get(name)?;
        let p = loaded.plugin.as_ref().ok_or_else(|| loaded.gone())?;
        let result = p.resume().map(|()| serde_json::json!({}));
        self.after(name, result)
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
        let Some(p) = loaded.plugin.take() else {
            return match &loaded.stopped {
                Some(record) => Ok(serde_json::json!({ "termination": termination(record) })),
                None => Err(error(ErrorKind::Invalid, "plugin already unloaded")),
            };
        };
        if let Some(t) = p.termination() {
            return Ok(serde_json::json!({ "termination": termination(t) }));
        }
        let record = if p.state().is_final() {
            p.kill()
        } else {
            p.shutdown()
        };
        match record {
            Ok(r) => Ok(serde_json::json!({ "termination": termination(&r) })),
            Err(e) => Err(sandbox_error(e)),
        }
    }

    fn revoke_key(&mut self, key: &str) -> Result<Value, ErrorBody> {
        self.revoked_keys.insert(key.to_owned());
        let signed: Vec<String> = self
            .plugins
            .iter()
            .filter(|(_, l)| l.plugin.is_some() && l.signer.as_deref() == Some(key))
            .map(|(name, _)| name.clone())
            .collect();
        for name in &signed {
            // What it logged before the revocation is reported before the answer.
            let _ = self.after(name, Ok(Value::Null));
            self.controllers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(name);
            let Some(loaded) = self.plugins.get_mut(name) else {
                continue;
            };
            let Some(p) = loaded.plugin.take() else {
                continue;
            };
            // Killed and reaped now, not at its next use: nothing it signed runs on. (A
            // kill the lifecycle refuses still ends the process: dropping the handle does.)
            let record = match p.termination().cloned() {
                Some(ended) => ended,
                None => match p.kill() {
                    Ok(record) => record,
                    Err(_) => continue,
                },
            };
            self.events.push(Event::Terminated {
                plugin: name.clone(),
                termination: termination(&record),
            });
            loaded.stopped = Some(record);
        }
        Audit::new(self.audit.clone(), "").record(&AuditEvent::KeyRevoked {
            key: key.to_owned(),
            stopped: signed.clone(),
        });
        Ok(serde_json::json!({ "stopped": signed }))
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
        let records = sbx_sandbox::audit::read_log(std::path::Path::new(AUDIT_FILE))
            .map_err(|e| error(ErrorKind::Internal, e.to_string()))?;
        let mine: Vec<&sbx_sandbox::AuditRecord> =
            records.iter().filter(|r| r.plugin == plugin).collect();
        // The newest records only, so that the answer stays well within a protocol line
        // however much a plugin made the sandbox record.
        let newest: Vec<Value> = mine[mine.len().saturating_sub(MAX_AUDIT_ANSWER)..]
            .iter()
            .filter_map(|r| serde_json::to_value(r).ok())
            .collect();
        Ok(serde_json::json!({ "records": newest }))
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
            let controller = map
                .get(plugin)
                .ok_or_else(|| error(ErrorKind::Invalid, format!("no plugin `{plugin}`")))?;
            // Takes effect at the plugin's next use, even in the middle of a call.
            Ok(serde_json::json!({ "revoked": controller.revoke(c) }))
        }))
    }
}

#[cfg(test)]
mod tests {
    /// The harness signs its packages for the ABI this sandbox speaks.
    #[test]
    fn packages_declare_the_sandbox_abi() {
        assert_eq!(
            sbx_harness::package::ABI_VERSION,
            sbx_sandbox::abi::ABI_VERSION
        );
    }
}
