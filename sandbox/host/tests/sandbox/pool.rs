//! Warm activation: spares spawned, confined and loaded ahead of need, each handed out once.

use std::sync::Arc;

use sbx_host::audit::{AuditLog, read_log};
use sbx_host::pool::{Spare, WarmPool};
use sbx_host::{Audit, BrokerConfig, Capability, Plugin, SandboxConfig, State};

use crate::common::{call, config};

fn probe_config(storage: &std::path::Path) -> SandboxConfig {
    config("probe")
        .broker(BrokerConfig {
            grants: [Capability::Storage, Capability::Log].into_iter().collect(),
            storage_dir: Some(storage.to_path_buf()),
            ..BrokerConfig::default()
        })
        .build()
        .expect("valid configuration")
}

fn started(mut p: Plugin) -> Plugin {
    assert_eq!(p.state(), State::Loaded);
    p.init(b"").expect("init");
    p.start().expect("start");
    p
}

/// Whether `pid` is a process that has not ended (a zombie has).
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.starts_with(" Z"))
    })
}

#[test]
fn a_spare_becomes_the_plugin_with_its_storage_and_its_audit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = dir.path().join("probe");
    let log = Arc::new(AuditLog::open(dir.path().join("audit.jsonl")).expect("audit"));
    let pool = WarmPool::new(&probe_config(&storage), 1, Spare::Loaded);
    pool.fill().expect("fill");
    assert_eq!(pool.ready(), 1);
    // Stored after the spare was spawned: the spare's process must see it.
    std::fs::create_dir_all(&storage).expect("storage");
    let mut first = started(
        pool.take(Audit::new(Some(Arc::clone(&log)), "probe"))
            .expect("take"),
    );
    assert_eq!(pool.ready(), 0);
    assert_eq!(call(&mut first, "put", "kept=1"), "status 0");
    let pid = first.pid();
    first.shutdown().expect("shutdown");
    // None ready: the next is spawned cold, and reads what the first stored.
    let mut second = started(pool.take(Audit::new(None, "probe")).expect("take"));
    assert_ne!(second.pid(), pid, "a process is handed out once");
    assert_eq!(call(&mut second, "get", "kept"), "status 0 1");
    let events: Vec<String> = read_log(log.path())
        .expect("log")
        .into_iter()
        .map(|r| r.event.name().to_owned())
        .collect();
    // The spare's spawn and load, recorded when it became the plugin's process, then the rest.
    assert_eq!(events[0], "spawned", "{events:?}");
    assert!(events.iter().any(|e| e == "state"), "{events:?}");
}

#[test]
fn a_spare_counts_what_another_process_of_the_plugin_stored_while_it_waited() {
    for kind in [Spare::Loaded, Spare::Confined] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = probe_config(&dir.path().join("probe"));
        config.broker.storage_bytes = 64;
        let pool = WarmPool::new(&config, 1, kind);
        pool.fill().expect("fill");
        // While the spare waits, a process of the same plugin fills most of the quota.
        let mut other = started(Plugin::spawn(&config).expect("spawn"));
        let value = "v".repeat(40);
        assert_eq!(call(&mut other, "put", &format!("a={value}")), "status 0");
        other.shutdown().expect("shutdown");
        let mut spare = started(pool.take(Audit::new(None, "probe")).expect("take"));
        assert_ne!(
            call(&mut spare, "put", &format!("b={value}")),
            "status 0",
            "{kind:?}: the spare's quota must count what was stored before it became the plugin's process"
        );
    }
}

#[test]
fn a_spare_that_ended_while_it_waited_is_passed_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pool = WarmPool::new(&probe_config(&dir.path().join("probe")), 1, Spare::Confined);
    pool.fill().expect("fill");
    let spare = pool.spare_pids();
    assert_eq!(spare.len(), 1);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(spare[0]),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the spare");
    // Until it is seen gone: the pool looks without waiting.
    while running(spare[0]) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let mut p = started(pool.take(Audit::new(None, "probe")).expect("take"));
    assert_ne!(p.pid(), spare[0]);
    assert_eq!(call(&mut p, "ping", ""), "pong");
}

#[test]
fn the_background_filler_replaces_what_was_taken_and_dropping_the_pool_ends_the_spares() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut pool = WarmPool::new(&probe_config(&dir.path().join("probe")), 2, Spare::Confined);
    pool.refill_in_background();
    let wait_ready = |pool: &WarmPool, n: usize| {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while pool.ready() < n {
            assert!(
                std::time::Instant::now() < until,
                "{:?}",
                pool.last_failure()
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    };
    wait_ready(&pool, 2);
    let first = pool.spare_pids();
    let mut taken = started(pool.take(Audit::new(None, "probe")).expect("take"));
    assert_eq!(taken.pid(), first[0], "the oldest spare first");
    wait_ready(&pool, 2);
    let spares = pool.spare_pids();
    assert!(!spares.contains(&taken.pid()), "{spares:?}");
    drop(pool);
    // Only the taken process is left of what the pool started.
    assert!(spares.iter().all(|&pid| !running(pid)), "{spares:?}");
    assert_eq!(call(&mut taken, "ping", ""), "pong");
}

/// `pid` and its descendants.
fn tree(pid: i32) -> Vec<i32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let tasks = format!("/proc/{}/task", all[i]);
        for task in std::fs::read_dir(tasks).into_iter().flatten().flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            all.extend(
                children
                    .split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            );
        }
        i += 1;
    }
    all
}

/// Whether a process of `pid`'s tree maps the probe plugin.
fn maps_the_probe(pid: i32) -> bool {
    let probe = crate::common::plugin("probe");
    let name = probe
        .file_name()
        .expect("a file")
        .to_string_lossy()
        .into_owned();
    tree(pid).into_iter().any(|p| {
        std::fs::read_to_string(format!("/proc/{p}/maps")).is_ok_and(|maps| maps.contains(&name))
    })
}

#[test]
fn a_confined_spare_runs_nothing_of_the_plugin_until_it_is_taken() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = probe_config(&dir.path().join("probe"));
    let loaded = WarmPool::new(&config, 1, Spare::Loaded);
    loaded.fill().expect("fill");
    // The check can tell: a loaded spare maps it.
    assert!(maps_the_probe(loaded.spare_pids()[0]));
    let pool = WarmPool::new(&config, 1, Spare::Confined);
    pool.fill().expect("fill");
    let spare = pool.spare_pids()[0];
    assert!(!maps_the_probe(spare), "a confined spare loaded the plugin");
    let mut p = started(pool.take(Audit::new(None, "probe")).expect("take"));
    assert_eq!(p.pid(), spare);
    assert!(maps_the_probe(spare));
    assert_eq!(call(&mut p, "ping", ""), "pong");
    assert!(
        p.enforcement().layers.iter().any(|l| l.layer == "seccomp"),
        "its confinement is reported"
    );
}
