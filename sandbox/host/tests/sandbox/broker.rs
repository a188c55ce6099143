//! The capability broker end to end: each service granted and denied, revocation mid-run,
//! quotas with their diagnostics, the allowlist, throttling next to a neighbour, storage that
//! outlives the process, and the audit log in order.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use sbx_contract::abi::{ERR_DENIED, ERR_INVALID_ARGUMENT, ERR_LIMIT, ERR_NOT_FOUND, OK};
use sbx_host::audit::{Audit, AuditEvent, AuditLog, read_log};
use sbx_host::broker::BrokerConfig;
use sbx_host::quota::Rate;
use sbx_host::{Capability, Plugin};

use crate::common::{call, config, running};

fn status(code: i32) -> String {
    format!("status {code}")
}

fn broker(grants: &[Capability]) -> BrokerConfig {
    BrokerConfig {
        grants: grants.iter().copied().collect(),
        ..BrokerConfig::default()
    }
}

fn probe_with(b: BrokerConfig) -> Plugin {
    running(config("probe").broker(b))
}

fn denials(p: &Plugin) -> Vec<(String, String)> {
    p.events()
        .into_iter()
        .filter_map(|e| match e {
            AuditEvent::Denied {
                service, reason, ..
            } => Some((service, reason.name().to_owned())),
            _ => None,
        })
        .collect()
}

/// A loopback listener that answers "pong" to each connection and counts them.
fn pong_listener() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            let mut req = Vec::new();
            let _ = conn.read_to_end(&mut req);
            let _ = conn.write_all(b"pong");
        }
    });
    (port, count)
}

#[test]
fn each_service_works_when_granted_and_is_denied_otherwise() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, _) = pong_listener();
    let dest = format!("127.0.0.1:{port}");
    let full = BrokerConfig {
        grants: Capability::ALL.into_iter().collect(),
        storage_dir: Some(dir.path().join("probe")),
        net_allowlist: vec![dest.clone()],
        config: [("mode".to_string(), "fast".to_string())].into(),
        ..BrokerConfig::default()
    };
    let mut p = probe_with(full.clone());
    assert_eq!(call(&mut p, "put", "k=v1"), status(OK));
    assert_eq!(call(&mut p, "get", "k"), format!("{} v1", status(OK)));
    assert_eq!(call(&mut p, "delete", "k"), status(OK));
    assert_eq!(
        call(&mut p, "get", "k"),
        format!("{} ", status(ERR_NOT_FOUND))
    );
    assert_eq!(
        call(&mut p, "config", "mode"),
        format!("{} fast", status(OK))
    );
    assert_eq!(call(&mut p, "net", &dest), format!("{} pong", status(OK)));
    let clock = call(&mut p, "clock", "");
    assert!(clock.starts_with(&format!("{} 1", status(OK))), "{clock}");
    assert_eq!(call(&mut p, "notify", "hello"), status(OK));
    assert_eq!(p.notifications(), ["hello".to_string()]);
    assert!(denials(&p).is_empty(), "{:?}", denials(&p));

    let mut none = probe_with(BrokerConfig {
        grants: BTreeSet::new(),
        ..full
    });
    for (method, arg, service) in [
        ("put", "k=v", "storage_put"),
        ("get", "k", "storage_get"),
        ("delete", "k", "storage_delete"),
        ("config", "mode", "config_get"),
        ("net", dest.as_str(), "net_request"),
        ("clock", "", "clock_now"),
        ("notify", "hi", "notify_user"),
    ] {
        let answer = call(&mut none, method, arg);
        assert!(
            answer.starts_with(&status(ERR_DENIED)),
            "{method}: {answer}"
        );
        assert!(
            denials(&none).contains(&(service.to_string(), "not_granted".to_string())),
            "{service} denial not recorded"
        );
    }
    // Without `log`, records are dropped and the refusal recorded.
    call(&mut none, "log", "not granted");
    assert!(none.logs().next().is_none());
    assert!(denials(&none).contains(&("log".into(), "not_granted".into())));
    assert_eq!(none.stats().broker.denials, 8);
}

#[test]
fn a_revoked_capability_is_refused_from_its_next_use_and_the_plugin_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut p = probe_with(BrokerConfig {
        storage_dir: Some(dir.path().join("probe")),
        ..broker(&[Capability::Storage, Capability::Log])
    });
    assert_eq!(call(&mut p, "put", "a=1"), status(OK));
    // Revoked from another thread, as an operator's console would.
    let controller = p.controller();
    std::thread::spawn(move || assert!(controller.revoke(Capability::Storage)))
        .join()
        .expect("revoking thread");
    assert_eq!(call(&mut p, "put", "a=2"), status(ERR_DENIED));
    assert_eq!(call(&mut p, "get", "a"), format!("{} ", status(ERR_DENIED)));
    assert!(denials(&p).contains(&("storage_put".into(), "revoked".into())));
    assert_eq!(call(&mut p, "ping", ""), "pong");
    assert_eq!(p.grants(), BTreeSet::from([Capability::Log]));
    assert!(!p.controller().revoke(Capability::Storage), "revoked twice");
}

#[test]
fn arguments_are_validated_at_the_boundary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, connections) = pong_listener();
    let mut p = probe_with(BrokerConfig {
        storage_dir: Some(dir.path().join("probe")),
        net_allowlist: vec![format!("127.0.0.1:{port}")],
        ..broker(&[Capability::Storage, Capability::Net, Capability::Notify])
    });
    for key in ["../escape", "/etc/passwd", ".hidden", "a/b"] {
        assert_eq!(
            call(&mut p, "put", &format!("{key}=x")),
            status(ERR_INVALID_ARGUMENT),
            "{key}"
        );
    }
    // The allowlisted destination spelled otherwise is refused and nothing connects.
    for spelling in [
        format!("127.1:{port}"),
        format!("0x7f.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("127.0.0.1:0{port}"),
        format!("[::ffff:127.0.0.1]:{port}"),
    ] {
        let answer = call(&mut p, "net", &spelling);
        assert!(
            answer.starts_with(&status(ERR_INVALID_ARGUMENT))
                || answer.starts_with(&status(ERR_DENIED)),
            "{spelling}: {answer}"
        );
    }
    assert_eq!(connections.load(Ordering::SeqCst), 0);
    assert_eq!(
        call(&mut p, "notify", "bell\x07"),
        status(ERR_INVALID_ARGUMENT)
    );
    // Nothing was written outside the plugin's directory.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["probe"]);
}

#[test]
fn the_storage_quota_refuses_with_a_diagnostic_and_the_plugin_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut p = probe_with(BrokerConfig {
        storage_dir: Some(dir.path().join("probe")),
        storage_bytes: 16,
        ..broker(&[Capability::Storage])
    });
    assert_eq!(call(&mut p, "put", "a=0123456789"), status(OK));
    assert_eq!(call(&mut p, "put", "b=0123456789"), status(ERR_LIMIT));
    let hit = p.events().into_iter().find_map(|e| match e {
        AuditEvent::LimitHit {
            limit: sbx_host::event::Limit::StorageBytes,
            value,
            max,
            ..
        } => Some((value, max)),
        _ => None,
    });
    assert_eq!(
        hit,
        Some((22, 16)),
        "diagnostic names the limit and figures"
    );
    assert_eq!(
        call(&mut p, "get", "a"),
        format!("{} 0123456789", status(OK))
    );
}

#[test]
fn storage_outlives_the_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = BrokerConfig {
        storage_dir: Some(dir.path().join("probe")),
        ..broker(&[Capability::Storage])
    };
    let mut first = probe_with(b.clone());
    assert_eq!(call(&mut first, "put", "kept=yes"), status(OK));
    // Killed, not shut down: the value was acknowledged, so it is on disk.
    first.kill().expect("kill");
    let mut second = probe_with(b);
    assert_eq!(
        call(&mut second, "get", "kept"),
        format!("{} yes", status(OK))
    );
}

/// A plugin flooding host calls is throttled (then refused) while a neighbour in another
/// thread keeps answering. Prints the neighbour's latency alone and then under the flood,
/// measured in the same run, and their ratio (a figure for the record, not asserted: the
/// machine's speed is not the sandbox's).
#[test]
fn a_host_call_flood_is_throttled_and_the_neighbour_keeps_answering() {
    let mut flooder = probe_with(BrokerConfig {
        host_call_rate: Rate {
            per_second: 500,
            burst: 50,
        },
        max_backpressure: Duration::from_millis(1),
        ..broker(&[Capability::Clock])
    });
    let flood_starts = Arc::new(Barrier::new(2));
    let flood_over = Arc::new(AtomicBool::new(false));
    let neighbour = std::thread::spawn({
        let flood_starts = Arc::clone(&flood_starts);
        let flood_over = Arc::clone(&flood_over);
        move || {
            let mut n = running(config("template_c"));
            // Warm up first, so that the quiet figures are not the first calls' costs.
            for _ in 0..200 {
                call(&mut n, "echo", "x");
            }
            let mut timed = |stop: &dyn Fn() -> bool| {
                let mut latencies = Vec::new();
                while !stop() {
                    let t = Instant::now();
                    assert_eq!(call(&mut n, "echo", "x"), "x");
                    latencies.push(t.elapsed());
                }
                latencies.sort();
                latencies
            };
            let quiet_until = Instant::now() + Duration::from_millis(750);
            let alone = timed(&|| Instant::now() >= quiet_until);
            flood_starts.wait();
            let flooded = timed(&|| flood_over.load(Ordering::Relaxed));
            (alone, flooded)
        }
    });
    flood_starts.wait();
    let mut refused = 0u64;
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        let answer = call(&mut flooder, "clock_flood", "500");
        refused += answer
            .strip_prefix("refused ")
            .and_then(|n| n.parse::<u64>().ok())
            .expect("a count");
    }
    let elapsed = started.elapsed();
    flood_over.store(true, Ordering::Relaxed);
    let (alone, flooded) = neighbour.join().expect("neighbour thread");
    let stats = flooder.stats().broker;
    assert!(refused > 0, "the flood was never refused");
    assert!(stats.limit_hits > 0 && stats.throttled > 0, "{stats:?}");
    // Served calls never exceed the rate: burst + rate * elapsed.
    let served = stats.host_calls - refused;
    let bound = 50 + (500.0 * elapsed.as_secs_f64()) as u64 + 1;
    assert!(served <= bound, "{served} calls served, bound {bound}");
    assert!(
        alone.len() > 10 && flooded.len() > 10,
        "neighbour answered {} calls alone, {} under the flood",
        alone.len(),
        flooded.len()
    );
    let pct = |v: &[Duration], p: usize| v[v.len() * p / 100];
    let ratio = |p: usize| pct(&flooded, p).as_secs_f64() / pct(&alone, p).as_secs_f64();
    println!(
        "neighbour alone: {} calls, p50 {:?}, p99 {:?}; under the flood: {} calls, p50 {:?} \
         ({:.2}x), p99 {:?} ({:.2}x); flooder: {} host calls, {} refused, {} throttled",
        alone.len(),
        pct(&alone, 50),
        pct(&alone, 99),
        flooded.len(),
        pct(&flooded, 50),
        ratio(50),
        pct(&flooded, 99),
        ratio(99),
        stats.host_calls,
        refused,
        stats.throttled
    );
}

#[test]
fn the_audit_log_holds_the_events_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(AuditLog::open(dir.path().join("audit.jsonl")).expect("open log"));
    let cfg = config("probe")
        .name("probe")
        .broker(BrokerConfig {
            storage_dir: Some(dir.path().join("store")),
            ..broker(&[Capability::Storage, Capability::Log])
        })
        .build()
        .expect("config");
    let mut p =
        Plugin::spawn_audited(&cfg, Audit::new(Some(Arc::clone(&log)), "probe")).expect("spawn");
    p.init(b"").expect("init");
    p.start().expect("start");
    call(&mut p, "clock", "");
    p.controller().revoke(Capability::Storage);
    call(&mut p, "put", "a=1");
    p.shutdown().expect("shutdown");
    let records = read_log(log.path()).expect("read log");
    let names: Vec<&str> = records.iter().map(|r| r.event.name()).collect();
    assert_eq!(
        names,
        [
            "spawned",
            "granted",
            "granted",
            "state",
            "state",
            "state",
            "denied",
            "revoked",
            "denied",
            "terminated",
            "stats",
            "state"
        ],
        "{records:#?}"
    );
    assert!(records.iter().all(|r| r.plugin == "probe"));
    assert_eq!(
        records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=records.len() as u64).collect::<Vec<_>>()
    );
}
