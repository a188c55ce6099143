//! A refused package's code must not run, and the harness judges that by what it measures,
//! not by the answer. Two adapters answer `refused` to the same tampered package: one
//! refuses without running anything, the other runs the package's constructor first (it
//! makes 320 MiB resident) and refuses afterwards. Only the second is `refused_code_ran`.

mod support;

use std::path::Path;

use sbx_harness::case::{Case, Expected, Sut, run_case};
use sbx_harness::model::{HarmKind, Verdict};
use sbx_harness::package::PackageForm;
use sbx_harness::protocol::Feature;
use support::{bench, hostile_case};

fn refusing_adapter(run_then_refuse: bool) -> Sut {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/adapters/refusing_adapter.py");
    let mut command = vec!["python3".to_owned(), script.to_string_lossy().into_owned()];
    if run_then_refuse {
        command.push("--run-then-refuse".into());
    }
    Sut {
        name: "refusing-adapter".into(),
        role: sbx_harness::model::Role::Candidate,
        command,
        compare_expectations: false,
        binaries: Vec::new(),
    }
}

fn tampered_package_case() -> Case {
    Case {
        needs: vec![Feature::Signatures],
        package: Some(PackageForm::TamperedBinary),
        ..hostile_case("sign_tampered_binary", Expected::RefusedLoad)
    }
}

#[test]
fn a_refusal_after_the_package_ran_is_refused_code_ran_and_a_clean_refusal_passes() {
    let scratch = std::env::temp_dir().join(format!("sbx-refused-code-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let bench = bench(&scratch);

    let clean = run_case(&bench, &refusing_adapter(false), &tampered_package_case());
    assert_eq!(clean.verdict, Verdict::Pass, "{clean:#?}");
    assert!(clean.harm.is_empty(), "{clean:#?}");

    let liar = run_case(&bench, &refusing_adapter(true), &tampered_package_case());
    assert_eq!(liar.verdict, Verdict::Fail, "{liar:#?}");
    let ran = liar
        .harm
        .iter()
        .find(|h| h.kind == HarmKind::RefusedCodeRan)
        .unwrap_or_else(|| panic!("no refused_code_ran: {liar:#?}"));
    assert!(ran.detail.contains("MiB resident"), "{}", ran.detail);
    let _ = std::fs::remove_dir_all(&scratch);
}
