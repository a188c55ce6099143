//! The plugin lifecycle as a property: random sequences of requests, legal and illegal, are
//! made of a real sandboxed probe plugin and checked after every step against the model
//! (`State::apply`).
//!
//! After each step: the sandbox's state equals the model's; a refused request is an
//! `InvalidTransition` naming the state and the event, and changes neither the state nor
//! the process; a crash or a missed deadline ends in Failed with the right termination;
//! in a final state the runner is reaped (no `/proc/<pid>`, no zombie); a paused runner is
//! stopped by the kernel and a live one is not. Two requests come from a second thread
//! while a call is in flight: a pause longer than the call deadline (the call still
//! answers) and a kill through the `Controller` (the plugin ends Terminated). After each case, once the plugin is
//! dropped, the host has no descriptor it did not have before (`FdCensus`).
//!
//! A separate binary, because the descriptor census is per process: cases run one at a
//! time (`real::serial`), so no other case of this process opens descriptors meanwhile.
//!
//! `a_broken_model_is_caught_and_shrunk` runs the same machinery against rules that are
//! wrong in one place and shows that the property fails and shrinks to the few steps that
//! reach the wrong transition.

#[path = "sandbox/common.rs"]
#[allow(dead_code)]
mod common;
#[path = "support/fd_census.rs"]
mod fd_census;
#[path = "lifecycle_model/model.rs"]
mod model;
#[path = "lifecycle_model/quiet.rs"]
mod quiet;
#[path = "lifecycle_model/real.rs"]
mod real;

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

use proptest::test_runner::{
    Config, FileFailurePersistence, RngAlgorithm, TestError, TestRng, TestRunner,
};
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};

use model::{Lifecycle, Reference, ResumeWhileRunning, Transition};
use real::RealSandbox;

/// Failing cases of the property are kept here and replayed first on the next run.
const REGRESSIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/lifecycle_model/regressions.txt"
);

/// Cases of the property.
const CASES: u32 = 256;
/// Transitions per case.
const STEPS: std::ops::Range<usize> = 1..50;

prop_state_machine! {
    #![proptest_config(Config {
        cases: CASES,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        ..Config::default()
    })]

    #[test]
    fn the_sandbox_follows_the_lifecycle_model(sequential STEPS => RealSandbox<Reference>);
}

#[test]
fn a_broken_model_is_caught_and_shrunk() {
    // Deterministic: the same cases, the same failure and the same shrinking on every run.
    let config = Config {
        cases: 32,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config.clone(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let strategy = Lifecycle::<ResumeWhileRunning>::sequential_strategy(STEPS);
    let started = Instant::now();
    // Runs, and the length of the first sequence that failed (before shrinking).
    let runs = Cell::new(0);
    let first_failure = Cell::new(None);
    // Every failing attempt panics; only the final verdict is of interest here.
    let result = quiet::panics(|| {
        runner.run(&strategy, |(initial, transitions, seen)| {
            runs.set(runs.get() + 1);
            let len = transitions.len();
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                RealSandbox::<ResumeWhileRunning>::test_sequential(
                    config.clone(),
                    initial,
                    transitions,
                    seen,
                );
            }));
            if let Err(payload) = outcome {
                first_failure.set(first_failure.get().or(Some((runs.get(), len))));
                panic::resume_unwind(payload);
            }
            Ok(())
        })
    });
    let (reason, minimal) = match result {
        Err(TestError::Fail(reason, (_, minimal, _))) => (reason, minimal),
        other => panic!("the broken model was not caught: {other:?}"),
    };
    let (case, original) = first_failure.get().expect("a run failed");
    eprintln!(
        "broken model caught by case {case} ({original} transitions), shrunk in {} more runs \
         ({:.1?} in all) to {minimal:?}:\n  {reason}",
        runs.get() - case,
        started.elapsed()
    );
    assert!(minimal.len() <= 4, "not shrunk enough: {minimal:?}");
    // The only way to fail is a Resume while Running: the last step.
    assert_eq!(minimal.last(), Some(&Transition::Resume), "{minimal:?}");
}
