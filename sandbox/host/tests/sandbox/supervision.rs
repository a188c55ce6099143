//! A crashing, hanging, garbage-speaking or limit-breaking child each yields the right typed
//! termination record, and the host goes on serving the next plugin.

use std::time::{Duration, Instant};

use sbx_host::audit::AuditEvent;
use sbx_host::{Deadlines, Limits, Phase, Plugin, SandboxError, Status, TerminationReason};

use crate::common::{call, config, probe, process_exists, running};

/// Invokes `method`, expects the process to end, returns the record.
fn ended(p: &mut Plugin, method: &str, input: &str) -> sbx_host::TerminationRecord {
    match p.invoke(method, input.as_bytes()) {
        Err(SandboxError::Ended(record)) => *record,
        other => panic!("{method}: expected the process to end, got {other:?}"),
    }
}

/// A running probe whose calls have `call` to answer.
fn probe_with_call_deadline(call: Duration) -> Plugin {
    running(config("probe").deadlines(Deadlines {
        call,
        ..Deadlines::default()
    }))
}

/// After a fault, a fresh plugin is served normally.
fn next_plugin_is_served() {
    let mut next = running(config("template_c"));
    assert_eq!(call(&mut next, "echo", "next"), "next");
}

#[test]
fn a_crash_is_a_signal_record_and_the_host_goes_on() {
    let mut p = probe();
    let pid = p.pid();
    let record = ended(&mut p, "segfault", "");
    assert_eq!(
        record.reason,
        TerminationReason::Signal {
            signal: libc::SIGSEGV,
            name: "SIGSEGV".into()
        }
    );
    assert!(record.peak_rss_kib > 0, "rusage not collected: {record:?}");
    assert!(!process_exists(pid), "crashed runner not reaped");
    next_plugin_is_served();
}

#[test]
fn abort_is_sigabrt() {
    let mut p = probe();
    assert_eq!(ended(&mut p, "abort", "").signal, Some(libc::SIGABRT));
}

#[test]
fn exit_inside_a_call_is_an_exit_record() {
    let mut p = probe();
    assert_eq!(
        ended(&mut p, "exit", "7").reason,
        TerminationReason::Exit { code: 7 }
    );
}

#[test]
fn a_hang_hits_the_call_deadline() {
    let mut p = probe_with_call_deadline(Duration::from_millis(300));
    let started = Instant::now();
    let record = ended(&mut p, "hang", "");
    assert_eq!(
        record.reason,
        TerminationReason::WallTimeout {
            phase: Phase::Call,
            after_ms: 300
        }
    );
    // Bounded by the deadline, not by the plugin (generous slack for a loaded machine).
    assert!(started.elapsed() < Duration::from_secs(30));
    next_plugin_is_served();
}

/// The deadline missed by the call `method`, and what the liveness beats said then.
fn missed_deadline(method: &str) -> AuditEvent {
    let mut p = probe_with_call_deadline(Duration::from_secs(1));
    let control = p.controller();
    // Asked from another thread while the call is in flight, as an operator's tool would:
    // the first thing the beats say (however slow the machine, it stays what they say).
    let during = std::thread::spawn(move || {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            match control.liveness() {
                Some(said) => return Some(said),
                None if Instant::now() > until => return None,
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    let record = ended(&mut p, method, "");
    assert!(matches!(
        record.reason,
        TerminationReason::WallTimeout {
            phase: Phase::Call,
            ..
        }
    ));
    let missed = p
        .events()
        .into_iter()
        .find(|e| matches!(e, AuditEvent::DeadlineMissed { .. }))
        .unwrap_or_else(|| panic!("no deadline_missed record: {:?}", p.events()));
    let AuditEvent::DeadlineMissed { liveness, .. } = &missed else {
        unreachable!()
    };
    assert_eq!(
        during.join().expect("the asking thread"),
        *liveness,
        "what the beats said during the call and at its deadline"
    );
    missed
}

#[test]
fn a_call_blocked_in_the_plugin_is_recorded_working_at_its_deadline() {
    // The plugin's thread waits in pause(); the runner's liveness thread answers.
    let AuditEvent::DeadlineMissed {
        phase,
        liveness,
        last_answer_ms,
    } = missed_deadline("hang")
    else {
        unreachable!()
    };
    assert_eq!(phase, Phase::Call);
    assert_eq!(liveness, Some(sbx_host::Liveness::Working));
    assert!(last_answer_ms.is_some(), "{last_answer_ms:?}");
}

#[test]
fn a_runner_that_answers_nothing_is_recorded_hung_at_its_deadline() {
    // The whole process stops itself: no thread of it answers a beat.
    let AuditEvent::DeadlineMissed { liveness, .. } = missed_deadline("stop_self") else {
        unreachable!()
    };
    assert_eq!(liveness, Some(sbx_host::Liveness::Hung));
}

#[test]
fn a_plugin_flooding_the_liveness_socket_still_meets_its_deadline() {
    // A thread of the plugin writes on the liveness socket without end: the host reads a
    // bounded amount at each beat and ends the call at its deadline all the same.
    let mut p = probe_with_call_deadline(Duration::from_millis(500));
    let started = Instant::now();
    let record = ended(
        &mut p,
        "flood_fd",
        &sbx_contract::fds::LIVENESS_FD.to_string(),
    );
    assert!(
        matches!(
            record.reason,
            TerminationReason::WallTimeout {
                phase: Phase::Call,
                ..
            }
        ),
        "{record:?}"
    );
    // Bounded by the deadline (generous slack for a loaded machine), not held by the flood.
    assert!(started.elapsed() < Duration::from_secs(30));
}

/// `input` echoed by the echo plugin of `config`, and the plugin still answering after it.
fn echoed(config: sbx_host::SandboxConfigBuilder, input: &[u8]) -> Result<Vec<u8>, SandboxError> {
    let mut p = running(config);
    let answer = p.invoke("echo", input);
    assert_eq!(p.state(), sbx_host::State::Running, "the plugin goes on");
    assert!(p.termination().is_none(), "nothing ended");
    assert_eq!(call(&mut p, "echo", "still here"), "still here");
    assert_eq!(p.stats().errors, 0, "the plugin made no error");
    p.shutdown().expect("shutdown");
    answer
}

fn large_output(bytes: u32) -> Limits {
    Limits {
        output_bytes: bytes,
        ..Limits::default()
    }
}

#[test]
fn inputs_and_outputs_beyond_a_frame_travel_through_the_payload_window() {
    let input: Vec<u8> = (0..(4 << 20) + 7).map(|i| (i % 251) as u8).collect();
    let large = config("echo").limits(large_output(8 << 20));
    assert_eq!(echoed(large, &input).expect("a 4 MiB echo"), input);
    // Call after call: the window is mapped once, and each call rewrites it.
    let mut p = running(config("echo").limits(large_output(2 << 20)));
    for round in 0..20u8 {
        let input = vec![round; (1 << 20) + usize::from(round)];
        assert_eq!(
            p.invoke("echo", &input).expect("echo"),
            input,
            "round {round}"
        );
    }
    p.shutdown().expect("shutdown");
    // A large input under the default output bound: in through the window, and its output
    // (bounded by a frame) inline.
    let input = vec![7u8; 200 << 10];
    assert_eq!(
        echoed(config("echo"), &input).expect("a 200 KiB echo"),
        input
    );
}

#[test]
fn a_large_output_asked_for_by_a_small_input_comes_back_whole() {
    let mut p = running(config("output_fill").limits(large_output(3 << 20)));
    let output = p.invoke("fill", b"").expect("fill");
    assert_eq!(
        output.len(),
        3 << 20,
        "the whole output bound, through the window"
    );
    assert!(
        output
            .iter()
            .enumerate()
            .all(|(i, &b)| b == b'a' + (i % 26) as u8)
    );
    p.shutdown().expect("shutdown");
}

#[test]
fn an_input_too_large_for_the_channel_is_the_callers_error_and_the_plugin_goes_on() {
    // Larger than the window's half.
    let window = 1 << 20;
    let input = vec![b'x'; window as usize + 1];
    match echoed(config("echo").payload_window(window), &input) {
        Err(SandboxError::RequestTooLarge { len, max }) => {
            assert_eq!((len, max), (input.len(), window as usize));
        }
        other => panic!("expected RequestTooLarge, got {other:?}"),
    }
    // Without a window, larger than a frame.
    let input = vec![b'x'; sbx_ipc::MAX_FRAME_LEN];
    match echoed(config("echo").payload_window(0), &input) {
        Err(SandboxError::RequestTooLarge { len, max }) => {
            assert!(len > max);
            assert_eq!(max, sbx_ipc::MAX_FRAME_LEN);
        }
        other => panic!("expected RequestTooLarge, got {other:?}"),
    }
}

#[test]
fn garbage_on_the_channel_is_a_protocol_violation() {
    let mut p = probe();
    let record = ended(&mut p, "garbage", "");
    assert_eq!(
        record.reason.kind(),
        sbx_host::TerminationKind::ProtocolViolation,
        "{record:?}"
    );
    next_plugin_is_served();
}

#[test]
fn claiming_more_output_than_the_buffer_is_a_protocol_violation() {
    let mut p = probe();
    let record = ended(&mut p, "overclaim", "");
    match record.reason {
        TerminationReason::ProtocolViolation { detail } => {
            assert!(detail.contains("output bytes"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn cpu_spin_hits_the_cpu_limit() {
    let limits = Limits {
        cpu_seconds: 1,
        ..Limits::default()
    };
    let mut p = running(config("probe").limits(limits).deadlines(Deadlines {
        call: Duration::from_secs(60),
        ..Deadlines::default()
    }));
    let record = ended(&mut p, "spin", "");
    assert_eq!(record.reason, TerminationReason::CpuLimit, "{record:?}");
    assert!(
        record.cpu_time() >= Duration::from_millis(900),
        "{record:?}"
    );
}

#[test]
fn a_cpu_rate_cap_throttles_a_spin_and_records_it() {
    let mut p = running(config("probe").cpu_rate_percent(10).deadlines(Deadlines {
        call: Duration::from_millis(800),
        ..Deadlines::default()
    }));
    let cap = p
        .enforcement()
        .get("cgroup.cpu")
        .cloned()
        .expect("cgroup.cpu reported");
    println!("cpu rate cap: {:?} {}", cap.status, cap.detail);
    let record = ended(&mut p, "spin", "");
    // Throttled, not killed: the spin ends at the call deadline.
    assert!(
        matches!(record.reason, TerminationReason::WallTimeout { .. }),
        "{record:?}"
    );
    let stats = p.stats();
    println!(
        "spin for 800 ms at 10%: {} us of CPU, throttled in {} periods, {} us waited",
        record.cpu_time().as_micros(),
        stats.cpu_throttled_periods,
        stats.cpu_throttled_us
    );
    if cap.status != Status::Applied {
        // No CPU controller here: the report says so, and nothing claims a throttle.
        assert_eq!(stats.cpu_throttled_periods, 0);
        return;
    }
    // Counted by the kernel, not timed: a spin over several 100 ms periods uses up its
    // 10 ms quota in at least one of them, however loaded the machine.
    assert!(stats.cpu_throttled_periods > 0, "{stats:?}");
    assert!(
        p.events().iter().any(|e| matches!(
            e,
            AuditEvent::LimitHit { limit, action, max, .. }
                if *limit == sbx_host::event::Limit::CpuRate
                    && *action == sbx_host::event::LimitAction::Throttled
                    && *max == 10_000
        )),
        "{:?}",
        p.events()
    );
}

#[test]
fn heartbeats_are_answered() {
    let mut p = probe();
    p.ping().expect("heartbeat");
    p.ping().expect("heartbeat");
    assert_eq!(call(&mut p, "ping", ""), "pong");
}

#[test]
fn a_plugin_error_is_not_a_fault() {
    let mut p = probe();
    assert!(matches!(
        p.invoke("error", b""),
        Err(SandboxError::Plugin { .. })
    ));
    assert_eq!(p.state(), sbx_host::State::Running);
    assert_eq!(call(&mut p, "ping", ""), "pong");
}

#[test]
fn a_hanging_init_hits_the_init_deadline() {
    let config = config("probe")
        .deadlines(Deadlines {
            init: Duration::from_millis(300),
            ..Deadlines::default()
        })
        .build()
        .unwrap();
    let mut p = Plugin::spawn(&config).unwrap();
    match p.init(b"hang") {
        Err(SandboxError::Ended(record)) => assert_eq!(
            record.reason,
            TerminationReason::WallTimeout {
                phase: Phase::Init,
                after_ms: 300
            }
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_plugin_outlives_the_thread_that_spawned_it() {
    // The parent-death signal follows the forking thread: spawning from a thread that then
    // exits must not kill the runner.
    let mut p = std::thread::spawn(probe).join().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(call(&mut p, "ping", ""), "pong");
}
