//! The oracle of `cargo xtask mutants --cargo-mutants`. cargo-mutants runs this test in its
//! mutated copy of the workspace, with the unmutated checkout named by
//! `SBX_MUTANTS_ORIGINAL`: the conformance suite's cases for the mutated file run against
//! the reference built from the copy, and a failed requirement fails the test (the mutant
//! is caught). Ignored by a plain `cargo test`: it is the whole suite, and it needs the
//! original checkout to tell which file the mutant changed.

use std::path::Path;
use std::process::Command;

#[test]
#[ignore = "run by `cargo xtask mutants --cargo-mutants`"]
fn the_sandbox_of_this_tree_passes_the_suite() {
    assert!(
        std::env::var_os("SBX_MUTANTS_ORIGINAL").is_some(),
        "SBX_MUTANTS_ORIGINAL must name the unmutated checkout"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root");
    let status = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "-p", "xtask", "--", "mutant-oracle"])
        .current_dir(root)
        .status()
        .expect("cargo runs");
    assert!(
        status.success(),
        "the suite failed against this tree: {status}"
    );
}
