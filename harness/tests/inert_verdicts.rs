//! How a case is judged when its attack cannot do harm on this system (the run marks it
//! `inert` after probing the system; here the mark is set by hand). With no harm to see,
//! a mutant of the reference is held to the reference's reaction and fails when it reacts
//! otherwise; a control is not held to it, and neither is a mutant on a case whose attack
//! is not inert.
//!
//! The case is `crash_abort` under the Python example adapter, which runs each plugin in
//! a child process: the abort harms nothing on any kernel, and the adapter reports it as
//! `killed (signal)`, where this case expects `killed (seccomp_violation)`.

mod support;

use std::path::Path;

use sbx_harness::case::{Case, Expected, Sut, run_case};
use sbx_harness::model::{CaseResult, HarmKind, Verdict};
use support::{bench, hostile_case};

fn sut(role: sbx_harness::model::Role) -> Sut {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/adapters/example_adapter.py");
    Sut {
        name: format!("example-as-{role}"),
        role,
        command: vec!["python3".into(), script.to_string_lossy().into_owned()],
        binaries: Vec::new(),
        compare_expectations: false,
    }
}

fn abort_case(inert: Option<&str>) -> Case {
    Case {
        inert: inert.map(str::to_owned),
        ..hostile_case("crash_abort", Expected::Killed("seccomp_violation".into()))
    }
}

#[test]
fn on_an_inert_attack_a_mutant_is_held_to_the_reference_reaction() {
    let scratch = std::env::temp_dir().join(format!("sbx-inert-verdicts-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let bench = bench(&scratch);
    let inert = Some("set by the test");
    let held = run_case(
        &bench,
        &sut(sbx_harness::model::Role::Mutant),
        &abort_case(inert),
    );
    // The example adapter forks its plugin processes without exec: each inherits the
    // host's environment, argv, standard error and mounts, and (run as root) its
    // capabilities, which the census of the plugin's process reports. That harm is the
    // adapter's, not the attack's; the reaction is judged apart from it, in
    // `expectation_met`.
    let handed = [
        HarmKind::DescriptorLeaked,
        HarmKind::HostEnvironmentHanded,
        HarmKind::HostArgumentsHanded,
        HarmKind::CapabilitiesKept,
        HarmKind::SetuidMount,
    ];
    let only_handed = |r: &CaseResult| r.harm.iter().all(|h| handed.contains(&h.kind));
    assert_eq!(held.verdict, Verdict::Fail, "{held:#?}");
    assert!(only_handed(&held), "{held:#?}");
    assert_eq!(held.expectation_met, Some(false));
    assert_eq!(held.inert.as_deref(), inert);

    let control = run_case(
        &bench,
        &sut(sbx_harness::model::Role::Control),
        &abort_case(inert),
    );
    assert!(only_handed(&control), "{control:#?}");
    assert_eq!(control.expectation_met, None);

    let not_inert = run_case(
        &bench,
        &sut(sbx_harness::model::Role::Mutant),
        &abort_case(None),
    );
    assert!(only_handed(&not_inert), "{not_inert:#?}");
    assert_eq!(not_inert.expectation_met, None);
    let _ = std::fs::remove_dir_all(&scratch);
}
