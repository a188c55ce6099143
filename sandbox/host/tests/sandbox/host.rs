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
use crate::packages::{signed, signed_as};

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
