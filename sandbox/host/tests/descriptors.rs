//! No descriptor of the host is left behind by a failed spawn, load or init.
//!
//! A binary of its own: it counts the descriptors of the whole test process, which tests
//! running beside it in one binary would change. The tests here hold one lock from their first
//! line to their last so they do not disturb each other either.

#[path = "sandbox/common.rs"]
#[allow(dead_code)]
mod common;
#[path = "support/fd_census.rs"]
mod fd_census;

use std::sync::Mutex;

use sbx_host::{Phase, Plugin, SandboxError};

use common::{config, process_exists};
use fd_census::FdCensus;

static CENSUS: Mutex<()> = Mutex::new(());

/// Held for a whole test, taken before anything else: a test that writes or removes a file
/// (a temporary directory's removal opens descriptors) while another counts would be counted.
/// Declared first, the guard is also dropped last, after the test's temporary files.
fn census() -> std::sync::MutexGuard<'static, ()> {
    CENSUS.lock().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn a_malformed_plugin_fails_to_load_and_leaves_nothing_behind() {
    let _census = census();
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("bogus.so");
    std::fs::write(&bogus, b"\x7fELF but not really").unwrap();
    let config = sbx_host::SandboxConfig::builder(&bogus)
        .runner(common::runner())
        .build()
        .unwrap();
    let fds = FdCensus::take();
    match Plugin::spawn(&config) {
        Err(SandboxError::ActivationFailed {
            phase,
            message,
            termination,
        }) => {
            assert_eq!(phase, Phase::Load);
            assert!(message.contains("dlopen"), "{message}");
            assert_eq!(termination.exit_code, Some(sbx_contract::exit_code::LOAD));
        }
        other => panic!("{other:?}"),
    }
    fds.assert_none_leaked("a failed activation");
}

#[test]
fn a_failed_init_rolls_back() {
    let _census = census();
    let fds = FdCensus::take();
    let config = config("probe").build().unwrap();
    let mut p = Plugin::spawn(&config).unwrap();
    let pid = p.pid();
    match p.init(b"fail") {
        Err(SandboxError::ActivationFailed {
            phase: Phase::Init, ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(p.state(), sbx_host::State::Failed);
    assert!(!process_exists(pid), "process left after a failed init");
    drop(p);
    fds.assert_none_leaked("a failed init");
}

#[test]
fn a_missing_runner_is_a_typed_spawn_error() {
    let _census = census();
    let config = config("probe")
        .runner("/nonexistent/sbx-runner")
        .build()
        .unwrap();
    let fds = FdCensus::take();
    match Plugin::spawn(&config) {
        Err(SandboxError::Spawn(e)) => {
            assert!(e.to_string().contains("/nonexistent/sbx-runner"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    fds.assert_none_leaked("a failed spawn");
}

#[test]
fn the_census_sees_a_descriptor_left_open() {
    let _census = census();
    let fds = FdCensus::take();
    let kept = std::fs::File::open("/proc/self/status").unwrap();
    let leaked = fds.leaked_since();
    assert_eq!(leaked.len(), 1, "{leaked:?}");
    assert!(leaked[0].ends_with("/status"), "{leaked:?}");
    drop(kept);
    fds.assert_none_leaked("a file already closed");
}
