//! The run as JUnit XML, the format CI servers read (Jenkins' JUnit plugin, GitLab's test
//! reports): a `testsuite` per sandbox, its host facts, certification and binaries as
//! `properties`; a `testcase` per case, its `classname` the sandbox and the family of the
//! requirement it attacks (`reference.FS`), so that a matrix of sandboxes does not mix.
//! Valid against Jenkins' `junit-4.xsd` (`reports/schemas/junit-4.xsd`, checked by a test).
//!
//! A failure or an error carries the case's evidence. A case not applicable or skipped is
//! `skipped`; so is a failure the run expects (waived by the sandbox's expectations file, or
//! of a control or a mutant, whose failures are what it is run for), with the evidence
//! under it: as TAP's `# TODO`, it does not fail the CI job, and it is not hidden.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use sbx_harness::model::{CaseResult, Execution, Role, RunResult, SutResult, Verdict};

/// The document. Text of plugins and adapters is escaped, and characters XML 1.0 cannot
/// carry at all (control characters) are written as `\u{..}`.
pub fn render(run: &RunResult) -> String {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into memory cannot fail: every `?` below is on an infallible `Vec` write.
    let written: std::io::Result<()> = (|| {
        writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        let cases = run.suts.iter().flat_map(|s| &s.cases);
        let mut root = BytesStart::new("testsuites");
        root.push_attribute(("name", "sbx-conformance"));
        push_counts(&mut root, run.suts.iter());
        root.push_attribute(("time", seconds(total_ms(cases)).as_str()));
        writer.write_event(Event::Start(root))?;
        for sut in &run.suts {
            suite(&mut writer, run, sut)?;
        }
        writer.write_event(Event::End(BytesEnd::new("testsuites")))
    })();
    written.expect("writing XML into memory");
    String::from_utf8(writer.into_inner()).expect("XML written from UTF-8 text") + "\n"
}

fn suite(writer: &mut Writer<Vec<u8>>, run: &RunResult, sut: &SutResult) -> std::io::Result<()> {
    let mut tag = BytesStart::new("testsuite");
    tag.push_attribute(("name", xml(&sut.sut.name).as_str()));
    push_counts(&mut tag, std::iter::once(sut));
    let skipped = sut
        .cases
        .iter()
        .filter(|c| expected_or_skipped(sut, c))
        .count();
    tag.push_attribute(("skipped", skipped.to_string().as_str()));
    tag.push_attribute(("time", seconds(total_ms(&sut.cases)).as_str()));
    if let Some(execution) = executions_of(run, sut).next() {
        tag.push_attribute(("timestamp", xml(&execution.started).as_str()));
    }
    writer.write_event(Event::Start(tag))?;
    writer.write_event(Event::Start(BytesStart::new("properties")))?;
    for (name, value) in properties(run, sut) {
        let mut property = BytesStart::new("property");
        property.push_attribute(("name", xml(&name).as_str()));
        property.push_attribute(("value", xml(&value).as_str()));
        writer.write_event(Event::Empty(property))?;
    }
    writer.write_event(Event::End(BytesEnd::new("properties")))?;
    for case in &sut.cases {
        test_case(writer, sut, case)?;
    }
    writer.write_event(Event::End(BytesEnd::new("testsuite")))
}

fn test_case(
    writer: &mut Writer<Vec<u8>>,
    sut: &SutResult,
    case: &CaseResult,
) -> std::io::Result<()> {
    let mut tag = BytesStart::new("testcase");
    tag.push_attribute(("name", xml(&case.case).as_str()));
    tag.push_attribute((
        "classname",
        xml(&format!("{}.{}", sut.sut.name, family(sut, case))).as_str(),
    ));
    tag.push_attribute(("time", seconds(case.measured.wall_ms).as_str()));
    if case.verdict == Verdict::Pass {
        return writer.write_event(Event::Empty(tag));
    }
    writer.write_event(Event::Start(tag))?;
    let evidence = xml(&evidence_text(case));
    if expected_or_skipped(sut, case) {
        let why = match (&case.waived, case.verdict) {
            (Some(waiver), _) => format!("known failure, waived: {waiver}"),
            (None, Verdict::Fail | Verdict::Error) => {
                format!("a {}'s failure is what it shows", sut.sut.role)
            }
            (None, _) => case.verdict.as_str().replace('_', " "),
        };
        writer.write_event(Event::Start(BytesStart::new("skipped")))?;
        writer.write_event(Event::Text(BytesText::new(&format!(
            "{}\n{evidence}",
            xml(&why)
        ))))?;
        return close(writer, ["skipped", "testcase"]);
    }
    let element = if case.verdict == Verdict::Error {
        "error"
    } else {
        "failure"
    };
    let mut tag = BytesStart::new(element);
    tag.push_attribute(("message", xml(&crate::one_line(&case.reason, 200)).as_str()));
    let kinds: Vec<&str> = case.harm.iter().map(|h| h.kind.as_str()).collect();
    tag.push_attribute((
        "type",
        if kinds.is_empty() {
            case.verdict.as_str().to_owned()
        } else {
            kinds.join(" ")
        }
        .as_str(),
    ));
    writer.write_event(Event::Start(tag))?;
    writer.write_event(Event::Text(BytesText::new(&evidence)))?;
    close(writer, [element, "testcase"])
}

fn close<const N: usize>(writer: &mut Writer<Vec<u8>>, tags: [&str; N]) -> std::io::Result<()> {
    for tag in tags {
        writer.write_event(Event::End(BytesEnd::new(tag)))?;
    }
    Ok(())
}

/// `tests`, `failures` and `errors` of `suts`' cases, the expected failures left out.
fn push_counts<'a>(tag: &mut BytesStart<'_>, suts: impl Iterator<Item = &'a SutResult>) {
    let (mut tests, mut failures, mut errors) = (0, 0, 0);
    for sut in suts {
        for case in &sut.cases {
            tests += 1;
            if expected_or_skipped(sut, case) {
                continue;
            }
            match case.verdict {
                Verdict::Fail => failures += 1,
                Verdict::Error => errors += 1,
                _ => {}
            }
        }
    }
    tag.push_attribute(("tests", tests.to_string().as_str()));
    tag.push_attribute(("failures", failures.to_string().as_str()));
    tag.push_attribute(("errors", errors.to_string().as_str()));
}

/// A case JUnit calls skipped: not applicable, not run, or a failure the run expects.
fn expected_or_skipped(sut: &SutResult, case: &CaseResult) -> bool {
    match case.verdict {
        Verdict::Pass => false,
        Verdict::NotApplicable | Verdict::Skipped => true,
        Verdict::Fail | Verdict::Error => case.waived.is_some() || sut.sut.role != Role::Candidate,
    }
}

/// The family (`FS` of `FS-001`) of the first requirement that judges `case`.
fn family<'a>(sut: &'a SutResult, case: &CaseResult) -> &'a str {
    sut.requirements
        .iter()
        .find(|r| r.cases.iter().any(|c| c == &case.case))
        .map_or("unattributed", |r| {
            r.id.split_once('-')
                .map_or(r.id.as_str(), |(family, _)| family)
        })
}

/// The evidence, a `key: value` line each.
fn evidence_text(case: &CaseResult) -> String {
    crate::evidence(case)
        .into_iter()
        .flat_map(|(key, values)| {
            values
                .into_iter()
                .map(move |v| format!("{}: {v}", key.as_str()))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The suite's properties: the run, the machine, the sandbox and its binaries.
fn properties(run: &RunResult, sut: &SutResult) -> Vec<(String, String)> {
    let mut out = vec![
        ("harness.version".to_owned(), run.tool_version.clone()),
        (
            "harness.source".to_owned(),
            run.source.clone().unwrap_or_else(|| "unknown".into()),
        ),
        ("run.level".to_owned(), run.level.to_string()),
    ];
    let executions: Vec<&Execution> = executions_of(run, sut).collect();
    for (n, execution) in executions.iter().enumerate() {
        let prefix = if executions.len() == 1 {
            "host".to_owned()
        } else {
            format!("host.{}", n + 1)
        };
        let host = &execution.host;
        out.extend([
            (format!("{prefix}.kernel"), host.kernel.clone()),
            (format!("{prefix}.architecture"), host.architecture.clone()),
            (
                format!("{prefix}.landlock_abi"),
                host.landlock_abi
                    .map_or_else(|| "none".into(), |abi| abi.to_string()),
            ),
            (format!("{prefix}.cgroup"), host.cgroup.as_str().to_owned()),
            (
                format!("{prefix}.user_namespaces"),
                host.user_namespaces.to_string(),
            ),
            (format!("{prefix}.root"), host.root.to_string()),
        ]);
    }
    out.extend([
        ("sandbox.role".to_owned(), sut.sut.role.to_string()),
        ("sandbox.adapter".to_owned(), sut.sut.adapter.clone()),
        (
            "sandbox.certified_level".to_owned(),
            sut.certified_level.to_string(),
        ),
        (
            "sandbox.held_back_by".to_owned(),
            sut.held_back_by.join(" "),
        ),
    ]);
    out.extend(
        sut.sut
            .binaries
            .iter()
            .map(|b| (format!("sandbox.sha256.{}", b.path), b.sha256.clone())),
    );
    out
}

/// The machines that ran `sut` (a merged matrix ran each sandbox on machines of its own).
fn executions_of<'a>(run: &'a RunResult, sut: &SutResult) -> impl Iterator<Item = &'a Execution> {
    let name = sut.sut.name.clone();
    run.executions
        .iter()
        .filter(move |e| e.sandboxes.contains(&name))
}

/// The cases' wall time summed, milliseconds (saturating: the figures are read from a file).
fn total_ms<'a>(cases: impl IntoIterator<Item = &'a CaseResult>) -> u64 {
    cases
        .into_iter()
        .fold(0, |sum, c| sum.saturating_add(c.measured.wall_ms))
}

/// Milliseconds as JUnit's seconds.
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// `text` with the characters XML 1.0 cannot hold (escaped or not) written as `\u{..}`;
/// the writer escapes markup.
fn xml(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c.to_string(),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                format!("\\u{{{:x}}}", u32::from(c))
            }
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::run;

    /// What `xmllint` (Debian's libxml2-utils) says of the document against Jenkins'
    /// junit-4.xsd.
    fn validated(document: &str) -> (bool, String) {
        let dir = tempfile::tempdir().expect("a directory");
        let file = dir.path().join("junit.xml");
        std::fs::write(&file, document).expect("written");
        let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/junit-4.xsd");
        let out = std::process::Command::new("xmllint")
            .args(["--noout", "--schema", schema])
            .arg(&file)
            .output()
            .expect("xmllint runs (apt-get install -y libxml2-utils)");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    #[test]
    fn jenkins_junit_4_xsd_accepts_every_verdict_and_role() {
        for failing in [false, true] {
            let (valid, said) = validated(&render(&run(failing)));
            assert!(valid, "{said}");
        }
        let mut control = run(true);
        control.suts[0].sut.role = Role::Control;
        let mut matrix = run(true);
        matrix.suts.push(control.suts[0].clone());
        matrix.executions.push(matrix.executions[0].clone());
        let (valid, said) = validated(&render(&matrix));
        assert!(valid, "{said}");
    }

    #[test]
    fn the_schema_check_can_fail() {
        // The same document with an element junit-4.xsd does not know.
        let document = render(&run(true)).replace("<properties>", "<properties><unknown/>");
        let (valid, said) = validated(&document);
        assert!(!valid);
        assert!(said.contains("unknown"), "{said}");
    }

    #[test]
    fn a_failure_carries_its_evidence_and_an_expected_one_does_not_fail() {
        let junit = render(&run(true));
        assert!(
            junit.contains(
                r#"<testsuites name="sbx-conformance" tests="5" failures="1" errors="1""#
            ),
            "{junit}"
        );
        assert!(
            junit.contains(r#"<testcase name="ipc_garbage" classname="reference.IPC""#),
            "{junit}"
        );
        assert!(
            junit.contains(
                r#"<failure message="why ipc_garbage # on two lines" type="secret_in_output">"#
            ),
            "{junit}"
        );
        assert!(
            junit.contains("harm: secret_in_output: read &quot;secret&quot;"),
            "{junit}"
        );
        assert!(
            junit.contains("<skipped>known failure, waived: no cgroup # here"),
            "{junit}"
        );
        assert!(
            junit.contains(r#"<property name="host.landlock_abi" value="7"/>"#),
            "{junit}"
        );
        // A control character of a plugin's output is shown, not written raw.
        assert!(junit.contains("\\u{1b}[31m"), "{junit}");
        assert!(!junit.contains('\u{1b}'));
    }
}
