//! The multi-plugin host: verify, decide, run; restarts that keep data; quarantine; key
//! revocation; the memory cap; and the audit trail of it all.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sbx_host::audit::{AuditLog, read_log};
use sbx_host::host::{Host, HostConfig, HostError};
use sbx_host::plugin_policy::PolicyStore;
use sbx_host::{Capability, SandboxError, Status, TerminationReason};
use sbx_package::TrustStore;

use crate::common::{call_host, openmetrics_samples, runner};
use crate::packages::{signed, signed_as, signed_version, trusting};

const POLICY: &str = r#"
format = 1
version = 3
[default]
grant = ["log"]
memory_mib = 64
cpu_seconds = 10
storage_bytes = 4096
host_calls_per_second = 500
restart = { max_restarts = 2, window_s = 60, backoff_ms = 10, max_backoff_ms = 100 }
[[plugin]]
name = "probe"
grant = ["log", "storage", "clock"]
update = { probation_calls = 4, failure_budget = 1 }
[[plugin]]
name = "strict"
grant = ["log"]
on_excess = "refuse"
"#;

fn host(dir: &Path, trust: TrustStore) -> (Host, Arc<AuditLog>) {
    std::fs::create_dir_all(dir).expect("host dir");
    let audit = Arc::new(AuditLog::open(dir.join("audit.jsonl")).expect("audit"));
    let host = Host::new(HostConfig {
        trust,
        policy: PolicyStore::parse(POLICY).expect("policy"),
        storage_root: dir.join("storage"),
        audit: Some(Arc::clone(&audit)),
        runner: Some(runner()),
        deadlines: sbx_host::Deadlines::default(),
        layers: sbx_host::Layers::ALL,
        host_paths: Default::default(),
        // Restarts from a warm spare: the path a host that keeps them takes.
        warm_spares: 1,
        low_latency: false,
    });
    (host, audit)
}

fn events(audit: &AuditLog) -> Vec<String> {
    read_log(audit.path())
        .expect("log")
        .into_iter()
        .map(|r| r.event.name().to_owned())
        .collect()
}

#[test]
fn a_refused_package_is_audited_and_nothing_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("probe");
    signed("probe", &pkg, &[]);
    // Signed by a key the host does not trust.
    let (mut host, audit) = host(dir.path(), TrustStore::default());
    match host.load(&pkg, b"") {
        Err(HostError::Refused(e)) => assert_eq!(e.kind(), "untrusted_signer"),
        other => panic!("{:?}", other.err()),
    }
    assert_eq!(events(&audit), ["package_refused"]);
}

#[test]
fn the_policy_cuts_or_refuses_and_every_decision_is_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("probe");
    let trust = signed("probe", &pkg, &["log", "storage", "net"]);
    let (mut host, audit) = host(dir.path(), trust);
    let name = host.load(&pkg, b"").expect("load");
    let d = host.decision(&name).expect("decision");
    assert_eq!(d.policy_version, 3);
    assert!(d.withheld.contains(&Capability::Net));
    assert!(d.granted.contains(&Capability::Storage));
    assert_eq!(
        events(&audit)[..3],
        ["package_verified", "policy_decision", "spawned"]
    );
    // A package named "strict" asks for more than its rule, which refuses excess.
    let strict = dir.path().join("strict");
    let trust = signed_as("strict", "probe", &strict, &["log", "storage"]);
    let (mut host, audit) = self::host(&dir.path().join("second"), trust);
    match host.load(&strict, b"") {
        Err(HostError::PolicyRefused {
            policy_version,
            withheld,
            ..
        }) => assert_eq!((policy_version, withheld), (3, vec!["storage".to_string()])),
        other => panic!("{:?}", other.err()),
    }
    assert_eq!(
        events(&audit),
        ["package_verified", "policy_decision", "package_refused"]
    );
}

#[test]
fn a_capability_revoked_at_runtime_is_not_granted_again_by_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("probe");
    let trust = signed("probe", &pkg, &["log", "storage"]);
    let (mut host, _audit) = host(dir.path(), trust);
    let name = host.load(&pkg, b"").expect("load");
    assert_eq!(call_host(&host, &name, "put", "kept=1"), "status 0");
    // Revoked from another thread, as while a call holds the host.
    let revoker = host.revoker(&name).expect("revoker");
    let revoked = std::thread::spawn(move || revoker.revoke(Capability::Storage));
    assert!(revoked.join().expect("revoke"));
    let denied = call_host(&host, &name, "put", "kept=2");
    assert_ne!(denied, "status 0");
    assert!(host.invoke(&name, "segfault", b"").is_err());
    assert!(!host.is_quarantined(&name), "restarted");
    assert_eq!(call_host(&host, &name, "put", "kept=3"), denied);
    // Revoking again answers that the running process no longer held it.
    assert!(
        !host
            .revoker(&name)
            .expect("revoker")
            .revoke(Capability::Storage)
    );
}

#[test]
fn a_capability_that_needs_consent_comes_with_the_users_and_goes_with_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("probe");
    let trust = signed("probe", &pkg, &["log", "clock"]);
    let (mut host, audit) = host(dir.path(), trust);
    let rule = r#"grant = ["log", "storage", "clock"]"#;
    assert!(POLICY.contains(rule));
    let consented = POLICY.replacen(rule, &format!("{rule}\nconsent = [\"clock\"]"), 1);
    host.reload_policy(PolicyStore::parse(&consented).expect("policy"));
    let denied = format!("status {}", sbx_contract::abi::ERR_DENIED);
    let name = host.load(&pkg, b"").expect("load");
    assert!(call_host(&host, &name, "clock", "").starts_with(&denied));
    host.unload(&name).expect("unload");
    // Given: from the next load on.
    host.set_consent("probe", Capability::Clock, true);
    let name = host.load(&pkg, b"").expect("load");
    assert!(call_host(&host, &name, "clock", "").starts_with("status 0 "));
    // Withdrawn: at once, from the running plugin.
    host.set_consent("probe", Capability::Clock, false);
    assert!(call_host(&host, &name, "clock", "").starts_with(&denied));
    let records = read_log(audit.path()).expect("log");
    let consents: Vec<bool> = records
        .iter()
        .filter_map(|r| match &r.event {
            sbx_host::AuditEvent::Consent { capability, given } if capability == "clock" => {
                Some(*given)
            }
            _ => None,
        })
        .collect();
    assert_eq!(consents, [true, false]);
    assert!(records.iter().any(|r| matches!(
        &r.event,
        sbx_host::AuditEvent::PolicyDecision { conditions, .. }
            if conditions == &["clock without the user's consent"]
    )));
}

#[test]
fn a_crash_restarts_the_plugin_with_its_data_then_quarantine_ends_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("probe");
    let trust = signed("probe", &pkg, &["log", "storage"]);
    let (mut host, audit) = host(dir.path(), trust);
    let name = host.load(&pkg, b"").expect("load");
    assert_eq!(call_host(&host, &name, "put", "kept=1"), "status 0");
    for _ in 0..2 {
        match host.invoke(&name, "segfault", b"") {
            Err(HostError::Sandbox(SandboxError::Ended(r))) => {
                assert!(matches!(r.reason, TerminationReason::Signal { .. }))
            }
            other => panic!("{other:?}"),
        }
        // Restarted, and its storage is still there.
        assert_eq!(call_host(&host, &name, "get", "kept"), "status 0 1");
    }
    // The third fault within the window exhausts the restarts.
    assert!(host.invoke(&name, "segfault", b"").is_err());
    assert!(host.is_quarantined(&name));
    assert!(matches!(
        host.invoke(&name, "ping", b""),
        Err(HostError::Quarantined(_))
    ));
    let log = events(&audit);
    assert_eq!(log.iter().filter(|e| *e == "restart").count(), 2);
    assert_eq!(log.last().map(String::as_str), Some("quarantined"));
    assert!(host.stats(&name).expect("stats").invocations >= 3);
    assert!(matches!(
        host.last_termination(&name).map(|r| r.reason),
        Some(TerminationReason::Signal { .. })
    ));
    // The same, as a monitoring system scrapes it: a plugin's trouble, told by its labels.
    let samples = openmetrics_samples(&host.metrics());
    let value = |name: &str, labels: &[(&str, &str)]| {
        samples
            .iter()
            .find(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .unwrap_or_else(|| panic!("{name} {labels:?} not in {samples:?}"))
    };
    let probe = [("plugin", "probe")];
    assert_eq!(value("sbx_plugin_restarts_total", &probe), 2.0);
    assert_eq!(value("sbx_plugin_quarantined", &probe), 1.0);
    assert_eq!(value("sbx_plugin_up", &probe), 0.0);
    let ended = [
        ("plugin", "probe"),
        ("reason", "signal"),
        ("cause", "plugin"),
    ];
    assert_eq!(value("sbx_plugin_last_end", &ended), 1.0);
    let calls = value("sbx_plugin_calls_total", &probe);
    assert!(calls >= 3.0, "{calls}");
    let every = [("plugin", "probe"), ("le", "+Inf")];
    assert_eq!(
        value("sbx_plugin_call_duration_seconds_bucket", &every),
        calls
    );
    assert_eq!(
        value("sbx_plugin_call_duration_seconds_count", &probe),
        calls
    );
    assert_eq!(value("sbx_host_plugins", &[("state", "quarantined")]), 1.0);
    // Loading it again is how a quarantined plugin comes back, with its storage.
    let again = host.load(&pkg, b"").expect("load again");
    assert!(!host.is_quarantined(&again));
    assert_eq!(call_host(&host, &again, "get", "kept"), "status 0 1");
}

#[test]
fn revoking_the_signer_stops_what_it_signed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("probe");
    let trust = signed("probe", &pkg, &["log"]);
    let key = trust.publishers[0].key.id();
    let (mut host, audit) = host(dir.path(), trust.clone());
    let name = host.load(&pkg, b"").expect("load");
    let pid = host.plugin(&name).expect("running").pid();
    // In capitals: a key id is hex, and its letter case names the same key.
    let stopped = host
        .revoke_key(&key.to_ascii_uppercase())
        .expect("a key id");
    assert_eq!(stopped, std::slice::from_ref(&name));
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert!(matches!(
        host.invoke(&name, "ping", b""),
        Err(HostError::Quarantined(_))
    ));
    let ended = host.unload(&name).expect("unload").expect("how it ended");
    assert_eq!(ended.reason, TerminationReason::KilledByHost);
    // A trust store that still lists the key does not bring it back.
    host.replace_trust(trust);
    match host.load(&pkg, b"") {
        Err(HostError::Refused(e)) => assert_eq!(e.kind(), "revoked_key"),
        other => panic!("{:?}", other.err()),
    }
    assert!(matches!(
        host.revoke_key("not a key"),
        Err(HostError::NotAKey(_))
    ));
    assert!(events(&audit).contains(&"key_revoked".to_string()));
}

#[test]
fn a_plugin_over_its_memory_cap_is_stopped_by_the_cap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("probe");
    let trust = signed("probe", &pkg, &["log"]);
    let (mut host, _) = host(dir.path(), trust);
    let name = host.load(&pkg, b"").expect("load");
    let cap = host
        .plugin(&name)
        .expect("running")
        .enforcement()
        .get("cgroup.memory")
        .cloned()
        .expect("cgroup.memory reported");
    println!("memory cap: {:?} {}", cap.status, cap.detail);
    // 32 MiB fits in the 64 MiB cap.
    assert!(call_host(&host, &name, "malloc", "32").starts_with("ok"));
    match host.invoke(&name, "malloc", b"200") {
        Err(HostError::Sandbox(SandboxError::Ended(r))) if cap.status == Status::Applied => {
            assert_eq!(r.reason, TerminationReason::MemoryLimit, "{r:?}");
            // Stopped near the cap, far from the machine's memory.
            assert!(r.peak_rss_kib < 80 * 1024, "{r:?}");
        }
        // Without a cgroup, RLIMIT_AS makes the allocation fail instead.
        Ok(out) if cap.status != Status::Applied => {
            assert!(String::from_utf8_lossy(&out).starts_with("errno"))
        }
        other => panic!("{cap:?}: {other:?}"),
    }
}

#[test]
fn calls_of_different_plugins_through_one_host_run_at_the_same_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (slow_pkg, quick_pkg) = (dir.path().join("slow"), dir.path().join("quick"));
    let mut trust = signed_as("slow", "probe", &slow_pkg, &[]);
    trust
        .publishers
        .extend(signed_as("quick", "probe", &quick_pkg, &[]).publishers);
    let (mut host, _audit) = host(dir.path(), trust);
    let slow = host.load(&slow_pkg, b"").expect("load slow");
    let quick = host.load(&quick_pkg, b"").expect("load quick");
    let host = &host;
    // One thread's call holds its plugin for two seconds; calls of the other plugin from
    // another thread meanwhile must not wait for it, as they would behind one host lock.
    let (slow_done, quick_done) = std::thread::scope(|scope| {
        let slow_call = scope.spawn(|| {
            assert_eq!(call_host(host, &slow, "sleep", "2000"), "slept");
            Instant::now()
        });
        std::thread::sleep(Duration::from_millis(300));
        for _ in 0..10 {
            assert_eq!(call_host(host, &quick, "ping", ""), "pong");
        }
        let quick_done = Instant::now();
        (slow_call.join().expect("the slow call"), quick_done)
    });
    assert!(
        quick_done < slow_done,
        "the quick plugin's calls waited for the slow plugin's"
    );
}

#[test]
fn a_host_is_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Host>();
}

#[test]
fn a_restart_takes_the_warm_spare_and_a_quarantine_ends_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("probe");
    let trust = signed("probe", &pkg, &["log", "storage"]);
    let (mut host, _audit) = host(dir.path(), trust);
    let name = host.load(&pkg, b"").expect("load");
    let ready_spare = |host: &Host| {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(&pid) = host.spare_pids(&name).first() {
                return pid;
            }
            assert!(Instant::now() < until, "no spare was made ready");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let spare = ready_spare(&host);
    assert_eq!(call_host(&host, &name, "put", "kept=1"), "status 0");
    assert!(host.invoke(&name, "segfault", b"").is_err());
    assert_eq!(host.plugin(&name).expect("restarted").pid(), spare);
    assert_eq!(call_host(&host, &name, "get", "kept"), "status 0 1");
    // Its restarts run out: quarantined, and the spare ready at its last fault, which no
    // restart took, is ended and reaped.
    let mut last = spare;
    while !host.is_quarantined(&name) {
        last = ready_spare(&host);
        let _ = host.invoke(&name, "segfault", b"");
    }
    assert_ne!(last, spare);
    assert!(host.spare_pids(&name).is_empty());
    assert!(!std::path::Path::new(&format!("/proc/{last}")).exists());
}

/// Version `version` of the probe, signed by `key`, in `dir`/`version`.
fn probe_version(dir: &Path, version: &str, key: &sbx_package::SecretKey) -> std::path::PathBuf {
    let pkg = dir.join(format!("probe-{version}"));
    signed_version("probe", "probe", version, key, &pkg, &["log", "storage"]);
    pkg
}

/// A host trusting one publisher, running version `version` of the probe that it signed.
struct Installed {
    dir: tempfile::TempDir,
    key: sbx_package::SecretKey,
    host: Host,
    audit: Arc<AuditLog>,
    name: String,
}

impl Installed {
    fn probe(version: &str) -> Installed {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = sbx_package::SecretKey::generate().expect("key");
        let (mut host, audit) = host(dir.path(), trusting(&key));
        let name = host
            .load(&probe_version(dir.path(), version, &key), b"")
            .expect("load");
        Installed {
            dir,
            key,
            host,
            audit,
            name,
        }
    }
}

#[test]
fn an_update_that_fails_in_init_rolls_back_to_the_old_version_and_its_storage() {
    let Installed {
        dir,
        key,
        host,
        audit,
        name,
    } = Installed::probe("1.0.0");
    assert_eq!(call_host(&host, &name, "put", "state=1.0.0"), "status 0");
    // The probe's init fails when its configuration says so.
    let next = probe_version(dir.path(), "1.1.0", &key);
    match host.update(&name, &next, b"fail") {
        Err(HostError::RolledBack { from, to, .. }) => {
            assert_eq!((from, to), ("1.0.0".into(), "1.1.0".into()))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(host.version(&name).as_deref(), Some("1.0.0"));
    assert_eq!(call_host(&host, &name, "get", "state"), "status 0 1.0.0");
    let log = events(&audit);
    let at = log
        .iter()
        .position(|e| e == "update_started")
        .expect("started");
    assert!(
        log[at..].contains(&"update_rolled_back".to_owned()),
        "{log:?}"
    );
    // Then the same version, starting: it serves, with the storage kept.
    let updated = host.update(&name, &next, b"").expect("update");
    assert_eq!(
        (
            updated.from.as_str(),
            updated.to.as_str(),
            updated.probation_calls
        ),
        ("1.0.0", "1.1.0", 4)
    );
    assert_eq!(host.version(&name).as_deref(), Some("1.1.0"));
    assert_eq!(call_host(&host, &name, "get", "state"), "status 0 1.0.0");
}

#[test]
fn a_new_version_failing_its_probation_is_rolled_back_and_what_it_stored_undone() {
    let Installed {
        dir,
        key,
        host,
        audit,
        name,
    } = Installed::probe("1.0.0");
    assert_eq!(call_host(&host, &name, "put", "state=1.0.0"), "status 0");
    host.update(&name, &probe_version(dir.path(), "2.0.0", &key), b"")
        .expect("update");
    assert!(host.on_probation(&name));
    // It corrupts the storage, then faults twice: one more than its budget.
    assert_eq!(
        call_host(&host, &name, "put", "state=corrupted"),
        "status 0"
    );
    assert!(host.invoke(&name, "segfault", b"").is_err());
    assert_eq!(
        host.version(&name).as_deref(),
        Some("2.0.0"),
        "one fault is within the budget"
    );
    assert!(host.invoke(&name, "segfault", b"").is_err());
    assert_eq!(host.version(&name).as_deref(), Some("1.0.0"));
    assert!(!host.on_probation(&name));
    assert!(!host.is_quarantined(&name));
    assert_eq!(call_host(&host, &name, "get", "state"), "status 0 1.0.0");
    let records = read_log(audit.path()).expect("log");
    let rolled_back = records
        .iter()
        .find_map(|r| match &r.event {
            sbx_host::audit::AuditEvent::UpdateRolledBack {
                from,
                to,
                storage_restored,
                ..
            } => Some((from.clone(), to.clone(), *storage_restored)),
            _ => None,
        })
        .expect("a rollback recorded");
    assert_eq!(rolled_back, ("2.0.0".into(), "1.0.0".into(), true));
    // No copy of the storage is left beside it.
    let left: Vec<_> = std::fs::read_dir(dir.path().join("storage"))
        .expect("storage root")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["probe"]);
}

#[test]
fn a_new_version_serving_its_probation_is_final_with_what_it_stored() {
    let Installed {
        dir,
        key,
        host,
        audit,
        name,
    } = Installed::probe("1.0.0");
    host.update(&name, &probe_version(dir.path(), "1.0.1", &key), b"")
        .expect("update");
    assert_eq!(call_host(&host, &name, "put", "state=1.0.1"), "status 0");
    // One fault is within the budget: restarted, still on probation.
    assert!(host.invoke(&name, "segfault", b"").is_err());
    for _ in 0..2 {
        assert_eq!(call_host(&host, &name, "ping", ""), "pong");
    }
    assert!(!host.on_probation(&name));
    assert_eq!(host.version(&name).as_deref(), Some("1.0.1"));
    assert_eq!(call_host(&host, &name, "get", "state"), "status 0 1.0.1");
    let log = events(&audit);
    assert!(log.contains(&"update_committed".to_owned()), "{log:?}");
    assert!(!log.contains(&"update_rolled_back".to_owned()), "{log:?}");
    // A later update is measured against the committed version.
    assert!(matches!(
        host.update(&name, &probe_version(dir.path(), "1.0.0-rc.1", &key), b""),
        Err(HostError::UpdateRefused { .. })
    ));
}

#[test]
fn an_update_is_refused_for_another_signer_a_downgrade_or_the_same_version() {
    let Installed {
        dir,
        key,
        host,
        audit,
        name,
    } = Installed::probe("1.2.0");
    assert_eq!(call_host(&host, &name, "put", "state=1.2.0"), "status 0");
    let stranger = sbx_package::SecretKey::generate().expect("key");
    let foreign = probe_version(&dir.path().join("stranger"), "1.3.0", &stranger);
    match host.update(&name, &foreign, b"") {
        Err(HostError::Refused(e)) => assert_eq!(e.kind(), "untrusted_signer"),
        other => panic!("{other:?}"),
    }
    for (version, kind) in [("1.1.9", "downgrade"), ("1.2.0", "same_version")] {
        match host.update(
            &name,
            &probe_version(&dir.path().join(kind), version, &key),
            b"",
        ) {
            Err(HostError::UpdateRefused { refusal, .. }) => assert_eq!(refusal.kind(), kind),
            other => panic!("{version}: {other:?}"),
        }
    }
    // Another plugin's package is not an update of this one.
    let other = dir.path().join("other");
    signed_version("other", "probe", "9.0.0", &key, &other, &["log"]);
    assert!(matches!(
        host.update(&name, &other, b""),
        Err(HostError::UpdateRefused { .. })
    ));
    // Nothing of any of them ran: the installed version served throughout.
    assert_eq!(host.version(&name).as_deref(), Some("1.2.0"));
    assert_eq!(call_host(&host, &name, "get", "state"), "status 0 1.2.0");
    let log = events(&audit);
    assert_eq!(
        log.iter().filter(|e| *e == "update_refused").count(),
        4,
        "{log:?}"
    );
    assert!(!log.contains(&"update_started".to_owned()), "{log:?}");
}
