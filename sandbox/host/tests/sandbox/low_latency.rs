//! The low-latency mode: frames after the load through shared-memory rings. Everything the
//! socket carries still works through them (calls of every size, host services, logs), the
//! host's faults are noticed as before, the socket stays silent or the plugin is in breach,
//! and a plugin left idle sleeps instead of spinning.

use std::time::Duration;

use sbx_host::{
    BrokerConfig, Capability, Limits, SandboxConfigBuilder, SandboxError, TerminationReason,
};

use crate::common::{call, config, plugin_process, running};

fn low_latency(name: &str) -> SandboxConfigBuilder {
    config(name).low_latency(true)
}

#[test]
fn calls_of_every_size_host_services_and_logs_go_through_the_ring() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = BrokerConfig {
        grants: [Capability::Log, Capability::Storage].into_iter().collect(),
        storage_dir: Some(dir.path().join("probe")),
        ..BrokerConfig::default()
    };
    let mut p = running(low_latency("probe").broker(broker));
    for round in 0..200 {
        assert_eq!(call(&mut p, "ping", ""), "pong", "round {round}");
    }
    assert_eq!(call(&mut p, "put", "k=v1"), "status 0");
    assert_eq!(call(&mut p, "get", "k"), "status 0 v1");
    assert_eq!(call(&mut p, "log", "through the ring"), "ok logged");
    assert!(
        p.logs().any(|l| l.message == "through the ring"),
        "the log record arrived"
    );
    p.shutdown().expect("shutdown");

    let mut echo = running(low_latency("echo").limits(Limits {
        output_bytes: 4 << 20,
        ..Limits::default()
    }));
    // Empty, small, larger than the ring (a frame streamed through it), and through the
    // payload window.
    for len in [0, 64, 40 << 10, 64 << 10, (3 << 20) + 5] {
        let input: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        assert_eq!(echo.invoke("echo", &input).expect("echo"), input, "{len} B");
    }
    echo.shutdown().expect("shutdown");
}

#[test]
fn a_crash_during_a_call_is_still_its_own_record() {
    let mut p = running(low_latency("probe"));
    match p.invoke("segfault", b"") {
        Err(SandboxError::Ended(record)) => assert_eq!(
            record.reason,
            TerminationReason::Signal {
                signal: libc::SIGSEGV,
                name: "SIGSEGV".into()
            }
        ),
        other => panic!("expected the process to end, got {other:?}"),
    }
}

#[test]
fn bytes_on_the_socket_once_the_ring_carries_the_frames_are_a_protocol_violation() {
    let mut p = running(low_latency("probe"));
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", plugin_process(p.pid())))
        .expect("the plugin's mappings");
    assert!(
        maps.contains("/memfd:sbx-ring"),
        "the ring is mapped: {maps}"
    );
    match p.invoke("garbage", b"") {
        // Read off the socket, which carries no frame any more: the ring carries them.
        Err(SandboxError::Ended(record)) => match record.reason {
            TerminationReason::ProtocolViolation { detail } => {
                assert!(detail.contains("once the ring carries"), "{detail}")
            }
            other => panic!("expected a protocol violation, got {other:?}"),
        },
        other => panic!("expected the process to end, got {other:?}"),
    }
}

/// CPU time (user and system, in clock ticks) of process `pid`.
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // After the command's closing parenthesis: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("a command")
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

#[test]
fn a_plugin_left_idle_sleeps_instead_of_spinning() {
    let mut p = running(low_latency("probe"));
    for _ in 0..100 {
        call(&mut p, "ping", "");
    }
    let plugin = plugin_process(p.pid());
    let before = cpu_ticks(plugin);
    std::thread::sleep(Duration::from_millis(1000));
    let used = cpu_ticks(plugin) - before;
    // Spinning all along would be a whole second (100 ticks); asleep, it is a few wake-ups
    // on the futex's slices. Counted by the kernel, not timed: a busy machine only lowers it.
    assert!(used <= 5, "{used} ticks of CPU in an idle second");
    assert_eq!(call(&mut p, "ping", ""), "pong", "woken by the next call");
    p.shutdown().expect("shutdown");
}
