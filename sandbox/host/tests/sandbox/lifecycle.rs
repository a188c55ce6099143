//! The lifecycle through the real sandbox: illegal transitions are refused and change
//! nothing; pause really stops the plugin's CPU use.

use std::time::{Duration, Instant};

use sbx_host::{Event, InvalidTransition, Plugin, SandboxError, State};

use crate::common::{call, config, probe};

fn refused(result: Result<impl std::fmt::Debug, SandboxError>, from: State, event: Event) {
    match result {
        Err(SandboxError::InvalidTransition(e)) => assert_eq!(e, InvalidTransition { from, event }),
        other => panic!("expected {event:?} from {from:?} to be refused, got {other:?}"),
    }
}

#[test]
fn illegal_transitions_are_refused_and_change_nothing() {
    let config = config("probe").build().unwrap();
    let mut p = Plugin::spawn(&config).unwrap();
    assert_eq!(p.state(), State::Loaded);
    refused(p.invoke("ping", b""), State::Loaded, Event::Invoke);
    refused(p.start(), State::Loaded, Event::Start);
    refused(p.pause(), State::Loaded, Event::Pause);
    refused(p.resume(), State::Loaded, Event::Resume);
    assert_eq!(p.state(), State::Loaded);
    p.init(b"").unwrap();
    refused(p.init(b""), State::Initialized, Event::Init);
    refused(p.invoke("ping", b""), State::Initialized, Event::Invoke);
    p.start().unwrap();
    refused(p.resume(), State::Running, Event::Resume);
    assert_eq!(call(&mut p, "ping", ""), "pong");
    p.pause().unwrap();
    refused(p.invoke("ping", b""), State::Paused, Event::Invoke);
    refused(p.pause(), State::Paused, Event::Pause);
    assert_eq!(p.state(), State::Paused);
    p.resume().unwrap();
    assert_eq!(call(&mut p, "ping", ""), "pong");
    let record = p.shutdown().unwrap();
    assert_eq!(record.exit_code, Some(0));
}

fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Waits (bounded) until the process has used more CPU than `than`.
fn wait_cpu_above(pid: i32, than: u64) -> bool {
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        if cpu_ticks(pid) > than {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn pause_really_stops_cpu_use_and_resume_restarts_it() {
    let mut p = probe();
    // What a pause stops: the process that runs the plugin.
    let pid = crate::common::plugin_process(p.pid());
    // A plugin thread spins in the background after the call returns.
    assert_eq!(call(&mut p, "spin_thread", ""), "ok spinning");
    assert!(wait_cpu_above(pid, 0), "spinner never ran");
    p.pause().unwrap();
    let stopped_at = cpu_ticks(pid);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(cpu_ticks(pid), stopped_at, "CPU time grew while paused");
    p.resume().unwrap();
    assert!(
        wait_cpu_above(pid, stopped_at),
        "CPU time did not grow after resume"
    );
    // Shutdown works from any live state; a spinning thread does not block it.
    p.shutdown().unwrap();
}

#[test]
fn a_controller_pauses_from_another_thread() {
    let p = probe();
    let control = p.controller();
    std::thread::spawn(move || control.pause().unwrap())
        .join()
        .unwrap();
    assert_eq!(p.state(), State::Paused);
    p.controller().resume().unwrap();
    assert_eq!(p.state(), State::Running);
}

#[test]
fn shutdown_from_paused_and_kill_are_terminal() {
    let mut p = probe();
    p.pause().unwrap();
    let record = p.shutdown().unwrap();
    assert_eq!(record.reason.kind(), sbx_host::TerminationKind::Exit);
    // Ended: neither a second shutdown nor a kill is taken.
    assert!(p.shutdown().is_err() && p.kill().is_err());
    let mut p = probe();
    let pid = p.pid();
    assert_eq!(
        p.kill().unwrap().reason,
        sbx_host::TerminationReason::KilledByHost
    );
    assert!(!crate::common::process_exists(pid));
    assert!(p.kill().is_err() && p.shutdown().is_err());
}

#[test]
fn pausing_a_dead_plugin_fails_at_once() {
    let mut p = crate::common::running(config("probe").deadlines(sbx_host::Deadlines {
        pause: Duration::from_secs(20),
        ..sbx_host::Deadlines::default()
    }));
    p.controller().kill();
    let started = Instant::now();
    assert!(matches!(p.pause(), Err(SandboxError::EndedWhileWaiting)));
    assert_eq!(p.state(), State::Running);
    // Not the 20 s pause deadline (generous slack for a loaded machine).
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // Killing it then reaps it, and says how it ended.
    assert_eq!(
        p.kill().expect("reaped").reason,
        sbx_host::TerminationReason::KilledByHost
    );
}
