//! Instruction counts of the judge (gungraun, on valgrind's callgrind): the pure function
//! that turns what a case observed into its verdict, for a quiet case and for one full of
//! harm. Counts do not depend on the machine's load, so `cargo xtask bench --instructions`
//! gates on them against `xtask/instructions.json`.

use std::hint::black_box;

use gungraun::{library_benchmark, library_benchmark_group, main};
use sbx_harness::case::{Bounds, Case, Expected, Observations, Sut, judge};
use sbx_harness::guard::GuardReport;
use sbx_harness::model::{CaseResult, Harm, HarmKind, Outcome, Role};

#[path = "../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

struct Judged {
    case: Case,
    sut: Sut,
    observations: Observations,
    bounds: Bounds,
}

fn judged(observations: Observations) -> Judged {
    Judged {
        case: support::hostile_case("fs_read_secret", Expected::Survived),
        sut: Sut {
            name: "reference".into(),
            role: Role::Candidate,
            command: Vec::new(),
            binaries: Vec::new(),
            compare_expectations: true,
        },
        observations,
        bounds: support::suite_file().bounds,
    }
}

/// A plugin that was called, still answers, and did nothing the harness saw.
fn quiet() -> Judged {
    judged(Observations {
        outcome: Some(Outcome::Survived { status: Some(0) }),
        guard: Some(GuardReport::default()),
        ..Observations::default()
    })
}

/// A plugin that did every harm at once: the judge's longest path.
fn harmful() -> Judged {
    let during = [
        HarmKind::SecretInOutput,
        HarmKind::FileWritten,
        HarmKind::TcpConnection,
        HarmKind::DescriptorLeaked,
    ]
    .into_iter()
    .map(|kind| Harm {
        kind,
        detail: "seen by the harness".into(),
    })
    .collect();
    judged(Observations {
        during,
        outcome: Some(Outcome::Survived { status: Some(0) }),
        guard: Some(GuardReport::default()),
        canaries_found: vec!["canary".into()],
        gained: Some("GAINED root".into()),
        ..Observations::default()
    })
}

#[library_benchmark]
#[bench::quiet(setup = quiet)]
#[bench::harmful(setup = harmful)]
fn judge_case(j: Judged) -> CaseResult {
    black_box(judge(
        black_box(&j.case),
        &j.sut,
        &j.observations,
        &j.bounds,
    ))
}

library_benchmark_group!(
    name = verdicts;
    benchmarks = judge_case
);

main!(library_benchmark_groups = verdicts);
