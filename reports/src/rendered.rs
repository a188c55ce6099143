//! Every renderer's output of the test run, as a reviewed snapshot (`src/snapshots/`): a
//! change of a format shows in review as the change of its snapshot. What varies from run
//! to run (the `measured` block, times, the commit, paths and hashes) is redacted in the
//! JSON.

use crate::fixture::run;
use crate::{
    PluginRow, comment, diff, json, junit, plugins_markdown, requirements_markdown, summary, tap,
};

fn rows() -> Vec<PluginRow> {
    [
        "fs_read_etc",
        "net_raw",
        "res_cpu #1",
        "ipc_garbage",
        "load_odd",
    ]
    .into_iter()
    .map(|name| PluginRow {
        name: name.into(),
        family: name.split('_').next().unwrap_or_default().into(),
        language: "c".into(),
        attacks: vec!["FS-001".into()],
        expected: "killed".into(),
    })
    .collect()
}

#[test]
fn the_terminal_summary() {
    insta::assert_snapshot!(summary(&run(true)));
}

#[test]
fn the_pull_request_comment() {
    insta::assert_snapshot!(comment::render(&run(true)));
}

#[test]
fn the_tap_stream() {
    insta::assert_snapshot!(tap::render(&run(true)));
}

#[test]
fn the_junit_document() {
    insta::assert_snapshot!(junit::render(&run(true)));
}

#[test]
fn the_html_page() {
    insta::assert_snapshot!(crate::html::render(&run(true), Some("<svg/>")));
}

#[test]
fn the_sandbox_page() {
    let run = run(true);
    insta::assert_snapshot!(crate::sandbox_page::render(
        &run,
        &run.suts[0],
        "every layer on"
    ));
}

#[test]
fn the_bundle_readme() {
    insta::assert_snapshot!(crate::bundle::readme(
        &run(true),
        "cargo xtask conformance --matrix reference --level 3"
    ));
}

#[test]
fn the_markdown_tables() {
    let mutants = [("FS-001".to_owned(), vec!["a-mutant".to_owned()])].into();
    insta::assert_snapshot!(requirements_markdown(&run(true), &mutants));
    insta::assert_snapshot!(plugins_markdown(&run(true), &rows()));
}

#[test]
fn the_comparison_of_two_runs() {
    let before = run(true);
    let mut after = run(true);
    after.suts[0].cases[0].verdict = sbx_harness::model::Verdict::Fail;
    after.suts[0].cases[3].verdict = sbx_harness::model::Verdict::Pass;
    after.suts[0].cases.remove(1);
    after.suts[0].certified_level = 0;
    insta::assert_snapshot!(diff::render(&diff::compare(&before, &after)));
}

#[test]
fn the_json_result_model() {
    let value: serde_json::Value = serde_json::from_str(&json(&run(true))).expect("JSON");
    insta::assert_json_snapshot!(value, {
        ".suts[].cases[].measured" => "[measured]",
        ".executions[].started" => "[time]",
        ".executions[].ended" => "[time]",
        ".source" => "[commit]",
        ".suts[].sut.binaries[].path" => "[path]",
        ".suts[].sut.binaries[].sha256" => "[sha256]",
        ".executions[].harness[].path" => "[path]",
        ".executions[].harness[].sha256" => "[sha256]",
    });
}
