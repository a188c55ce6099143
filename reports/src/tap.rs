//! The run as a TAP stream (Test Anything Protocol): a test point per case and sandbox, the
//! evidence of every case that did not pass in a YAML diagnostic block, so that any TAP
//! consumer (`prove`, CI plugins) reads a conformance run.
//!
//! The stream declares TAP version 14. It uses nothing version 13 lacks (plan, test points,
//! `# SKIP` and `# TODO` directives, YAML diagnostics, `\#` escapes), so a consumer that
//! knows only 13 reads it once told so: Perl's `prove` (TAP::Parser 3.44, Debian 12) refuses
//! the version 14 line as a parse error, and reads the same stream declared 13.

use std::fmt::Write;

use sbx_harness::model::{CaseResult, Role, RunResult, SutResult, Verdict};

/// The TAP version a stream declares in its first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapVersion {
    /// For consumers that refuse a later version (Perl's TAP::Parser before 3.48).
    V13,
    /// The current specification, what `results.tap` declares.
    V14,
}

impl TapVersion {
    /// The version line a stream of this version starts with.
    pub fn line(self) -> &'static str {
        match self {
            TapVersion::V13 => "TAP version 13",
            TapVersion::V14 => "TAP version 14",
        }
    }
}

/// The whole run as a TAP 14 stream (see [`render_as`]).
pub fn render(run: &RunResult) -> String {
    render_as(run, TapVersion::V14)
}

/// The whole run: the plan, then per sandbox a comment with its certification and a test
/// point per case. `ok` for a pass; `ok # SKIP` for a case not applicable or skipped;
/// `not ok` for a failure or an error, with `# TODO` when the sandbox's expectations file
/// waives it (a known failure) or the sandbox is a control or a mutant, whose failures are
/// what it is run for (as the run's exit status counts only the candidates').
pub fn render_as(run: &RunResult, version: TapVersion) -> String {
    let total: usize = run.suts.iter().map(|s| s.cases.len()).sum();
    let mut out = format!("{}\n1..{total}\n", version.line());
    let mut number = 0;
    for sut in &run.suts {
        let _ = writeln!(
            out,
            "# {} [{}] {}: certified level {}",
            escape(&sut.sut.name),
            sut.sut.role,
            escape(&sut.sut.adapter),
            sut.certified_level
        );
        for case in &sut.cases {
            number += 1;
            test_point(&mut out, number, sut, case);
        }
    }
    out
}

fn test_point(out: &mut String, number: usize, sut: &SutResult, case: &CaseResult) {
    let requirements: Vec<&str> = sut
        .requirements
        .iter()
        .filter(|r| r.cases.iter().any(|c| c == &case.case))
        .map(|r| r.id.as_str())
        .collect();
    let description = escape(&format!(
        "{}: {} ({})",
        sut.sut.name,
        case.case,
        requirements.join(", ")
    ));
    let (status, directive) = match (case.verdict, &case.waived) {
        (Verdict::Pass, _) => ("ok", String::new()),
        (Verdict::NotApplicable | Verdict::Skipped, _) => {
            ("ok", format!(" # SKIP {}", escape(&case.reason)))
        }
        (Verdict::Fail | Verdict::Error, Some(waiver)) => {
            ("not ok", format!(" # TODO {}", escape(waiver)))
        }
        (Verdict::Fail | Verdict::Error, None) if sut.sut.role != Role::Candidate => (
            "not ok",
            format!(" # TODO a {}'s failure is what it shows", sut.sut.role),
        ),
        (Verdict::Fail | Verdict::Error, None) => ("not ok", String::new()),
    };
    let _ = writeln!(out, "{status} {number} - {description}{directive}");
    if case.verdict != Verdict::Pass {
        diagnostics(out, case);
    }
}

/// The YAML block under a test point: every value a JSON string or list of strings, which
/// YAML reads as its double-quoted scalars and flow sequences, so no text of a plugin or an
/// adapter can break out of it.
fn diagnostics(out: &mut String, case: &CaseResult) {
    let text = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let list = |items: &[String]| serde_json::to_string(items).unwrap_or_else(|_| "[]".into());
    out.push_str("  ---\n");
    for (key, values) in crate::evidence(case) {
        let value = match (key, values.as_slice()) {
            (crate::Evidence::WallMs, [ms]) => ms.clone(),
            (key, [one]) if !key.is_list() => text(one),
            (_, values) => list(values),
        };
        let _ = writeln!(out, "  {}: {value}", key.as_str());
    }
    out.push_str("  ...\n");
}

/// A description or a directive's reason on one line, whole, with `#` escaped (it would
/// start a directive).
fn escape(text: &str) -> String {
    crate::one_line(text, usize::MAX)
        .replace('\\', "\\\\")
        .replace('#', "\\#")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::run;

    #[test]
    fn every_case_is_a_test_point_and_what_failed_carries_its_evidence() {
        let tap = render(&run(true));
        let lines: Vec<&str> = tap.lines().collect();
        assert_eq!(lines[..2], ["TAP version 14", "1..5"]);
        assert!(
            lines.contains(&"ok 1 - reference: fs_read_etc (FS-001)"),
            "{tap}"
        );
        assert!(
            lines.contains(&"ok 2 - reference: net_raw () # SKIP why net_raw \\# on two lines"),
            "{tap}"
        );
        assert!(
            lines
                .contains(&"not ok 3 - reference: res_cpu \\#1 (FS-001) # TODO no cgroup \\# here"),
            "{tap}"
        );
        assert!(
            lines.contains(&"not ok 4 - reference: ipc_garbage (IPC-001)"),
            "{tap}"
        );
        assert!(
            lines.contains(&"not ok 5 - reference: load_odd (IPC-001)"),
            "{tap}"
        );
        // What a plugin or an adapter wrote stays inside its quoted scalar.
        assert!(
            tap.contains(
                r#"  harm: ["secret_in_output: read \"secret\"\n---\n... \u001b[31m<b>&"]"#
            ),
            "{tap}"
        );
        assert!(
            tap.contains(r#"  outcome_detail: "signal: SIGSEGV: ok 99 - forged""#),
            "{tap}"
        );
        assert!(!lines.iter().any(|l| l.starts_with("ok 99")));
    }

    /// What Debian's `prove` (TAP::Parser 3.44) makes of the stream declared version 13,
    /// the latest it knows: its exit status and report.
    fn proved(run: &RunResult) -> (bool, String) {
        let dir = tempfile::tempdir().expect("a directory");
        let file = dir.path().join("results.tap");
        std::fs::write(&file, render_as(run, TapVersion::V13)).expect("written");
        let out = std::process::Command::new("prove")
            .args(["--exec", "cat"])
            .arg(&file)
            .output()
            .expect("prove runs (Debian's perl package): apt-get install -y perl");
        let report = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), report)
    }

    #[test]
    fn prove_reads_the_stream_and_fails_it_on_a_failure_only() {
        // A pass, a case not applicable and a waived failure: what prove calls a pass.
        let (passed, report) = proved(&run(false));
        assert!(passed, "{report}");
        assert!(report.contains("Result: PASS"), "{report}");
        // Two failures more: what prove calls a failure, every point read, none misparsed.
        let (passed, report) = proved(&run(true));
        assert!(!passed, "{report}");
        assert!(report.contains("Tests: 5 Failed: 2"), "{report}");
        assert!(report.contains("Failed tests:  4-5"), "{report}");
        assert!(!report.contains("Parse errors"), "{report}");
        // The same failures of a control: what it is run for, not a failed run.
        let mut control = run(true);
        control.suts[0].sut.role = Role::Control;
        let (passed, report) = proved(&control);
        assert!(passed, "{report}");
        assert!(
            render(&control).contains("not ok 4 - reference: ipc_garbage (IPC-001) # TODO a control's failure is what it shows"),
        );
    }

    /// What Debian's `tap-parser` (node-tap-parser 11, a TAP 14 parser) makes of the
    /// stream, in strict mode (a line that is not TAP is a failure): its exit status and
    /// its events.
    fn parsed(tap: &str) -> (bool, Vec<serde_json::Value>) {
        use std::io::Write;
        let mut child = std::process::Command::new("tap-parser")
            .args(["--json=0", "--strict"])
            // Debian installs node modules there; a node from elsewhere does not look.
            .env("NODE_PATH", "/usr/share/nodejs")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("tap-parser runs: apt-get install -y node-tap-parser");
        let mut stdin = child.stdin.take().expect("a pipe");
        stdin.write_all(tap.as_bytes()).expect("written");
        drop(stdin);
        let out = child.wait_with_output().expect("tap-parser ends");
        let events = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "tap-parser's events: {e}: {}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        (out.status.success(), events)
    }

    /// The events of one kind, in order.
    fn events<'a>(events: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
        events
            .iter()
            .filter(|e| e[0] == kind)
            .map(|e| &e[1])
            .collect()
    }

    #[test]
    fn a_tap_14_parser_reads_every_point_directive_and_diagnostic() {
        let (passed, all) = parsed(&render(&run(false)));
        assert!(passed, "{all:?}");
        assert_eq!(events(&all, "version"), [&serde_json::json!(14)]);
        assert!(events(&all, "extra").is_empty(), "{all:?}");

        let tap = render(&run(true));
        let (passed, all) = parsed(&tap);
        assert!(!passed, "{all:?}");
        let complete = events(&all, "complete")[0];
        assert_eq!(complete["count"], 5, "{complete}");
        assert_eq!(complete["pass"], 2, "{complete}");
        assert_eq!(complete["fail"], 3, "{complete}");
        assert_eq!(complete["skip"], 1, "{complete}");
        assert_eq!(complete["todo"], 1, "{complete}");
        // Strict mode: a failure for every line that is not TAP; there is none.
        assert!(
            complete["failures"]
                .as_array()
                .expect("a list")
                .iter()
                .all(|f| f.get("tapError").is_none()),
            "{complete}"
        );
        let points = events(&all, "assert");
        let ids: Vec<_> = points.iter().map(|p| p["id"].clone()).collect();
        assert_eq!(
            ids,
            (1..=5).map(serde_json::Value::from).collect::<Vec<_>>()
        );
        // An escaped `#` is part of the name, not a directive.
        assert_eq!(points[2]["name"], "reference: res_cpu #1 (FS-001)");
        assert_eq!(points[2]["todo"], "no cgroup # here");
        assert_eq!(points[1]["skip"], "why net_raw # on two lines");
        // The YAML block comes back as the values written, a plugin's text inside its string.
        assert_eq!(
            points[3]["diag"]["harm"][0],
            "secret_in_output: read \"secret\"\n---\n... \u{1b}[31m<b>&"
        );
        assert_eq!(
            points[4]["diag"]["outcome_detail"],
            "signal: SIGSEGV: ok 99 - forged"
        );
    }
}
