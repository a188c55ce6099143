//! No descriptor of the host is left behind by a failed spawn, load or init.
//!
//! A binary of its own: it counts the descriptors of the whole test process, which tests
//! running beside it in one binary would change. The tests here take one lock so they do not
//! disturb each other either.

#[path = "sandbox/common.rs"]
#[allow(dead_code)]
mod common;

use std::sync::Mutex;

use sbx_sandbox::{Phase, Plugin, SandboxError};

use common::{config, process_exists};

static CENSUS: Mutex<()> = Mutex::new(());

/// Open descriptors of this (host) process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn a_malformed_plugin_fails_to_load_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("bogus.so");
    std::fs::write(&bogus, b"\x7fELF but not really").unwrap();
    let config = sbx_sandbox::SandboxConfig::builder(&bogus)
        .runner(common::runner())
        .build()
        .unwrap();
    let _census = CENSUS.lock().unwrap_or_else(|p| p.into_inner());
    let fds = open_fds();
    match Plugin::spawn(&config) {
        Err(SandboxError::ActivationFailed {
            phase,
            message,
            termination,
        }) => {
            assert_eq!(phase, Phase::Load);
            assert!(message.contains("dlopen"), "{message}");
            assert_eq!(
                termination.exit_code,
                Some(sbx_sandbox::runner::serve::exit_code::LOAD)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(open_fds(), fds, "descriptors leaked by a failed activation");
}

#[test]
fn a_failed_init_rolls_back() {
    let _census = CENSUS.lock().unwrap_or_else(|p| p.into_inner());
    let fds = open_fds();
    let config = config("probe").build().unwrap();
    let mut p = Plugin::spawn(&config).unwrap();
    let pid = p.pid();
    match p.init(b"fail") {
        Err(SandboxError::ActivationFailed {
            phase: Phase::Init, ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(p.state(), sbx_sandbox::State::Failed);
    assert!(!process_exists(pid), "process left after a failed init");
    drop(p);
    assert_eq!(open_fds(), fds, "descriptors leaked by a failed init");
}

#[test]
fn a_missing_runner_is_a_typed_spawn_error() {
    let config = config("probe")
        .runner("/nonexistent/sbx-runner")
        .build()
        .unwrap();
    let _census = CENSUS.lock().unwrap_or_else(|p| p.into_inner());
    let fds = open_fds();
    match Plugin::spawn(&config) {
        Err(SandboxError::Spawn(e)) => {
            assert!(e.to_string().contains("/nonexistent/sbx-runner"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(open_fds(), fds);
}
