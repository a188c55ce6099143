//! The run as one self-contained HTML page (`report.html`): no network, no file beside it.
//! The requirement table side by side for every sandbox of the run, filtered by family,
//! level and verdict; every case that did not pass with its evidence one click away (a
//! `details` element); each sandbox's certification and what holds it back; a chart of the
//! slowest cases; the benchmark history's chart when the run was given one.
//!
//! Every text of the run (a plugin's output quoted in evidence, an adapter's name) goes
//! through maud's escaping: no plugin's words become markup or script. The page's own
//! script only filters rows.

use std::collections::BTreeSet;

use base64::Engine;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use sbx_harness::model::{CaseResult, RequirementResult, RunResult, SutResult, Verdict};

const STYLE: &str = include_str!("html/report.css");
const SCRIPT: &str = include_str!("html/report.js");

/// Cases shown in a sandbox's timing chart.
const SLOWEST_SHOWN: usize = 12;

/// The page. `bench_history_svg`, when given, is the benchmark history's chart (an SVG
/// document), shown as an image so that nothing in it runs.
pub fn render(run: &RunResult, bench_history_svg: Option<&str>) -> String {
    let families: BTreeSet<&str> = run
        .suts
        .iter()
        .flat_map(|s| s.requirements.iter().map(|r| family(&r.id)))
        .collect();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Conformance report" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "Conformance report" }
                (facts(run))
                section class="sandboxes" {
                    @for sut in &run.suts { (card(sut)) }
                }
                h2 { "Requirements" }
                (filters(&families))
                p class="shown" id="shown" {}
                (requirements_table(run))
                h2 { "Cases" }
                p { "Every case that did not pass in some sandbox; click a verdict for its evidence." }
                (cases_table(run))
                h2 { "Slowest cases" }
                @for sut in &run.suts { (timing_chart(sut)) }
                @if let Some(svg) = bench_history_svg {
                    h2 { "Benchmark history" }
                    img class="bench" alt="benchmark history"
                        src={ "data:image/svg+xml;base64,"
                              (base64::engine::general_purpose::STANDARD.encode(svg)) };
                }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    };
    page.into_string()
}

fn facts(run: &RunResult) -> Markup {
    html! {
        dl class="facts" {
            dt { "harness" }
            dd { (run.tool_version) " at " code { (run.source.as_deref().unwrap_or("unknown source")) } }
            dt { "level asked" } dd { (run.level) }
            @if let Some(filter) = &run.filter { dt { "filter" } dd { code { (filter) } } }
            @for e in &run.executions {
                dt { "ran" @if let Some(shard) = &e.shard { " (shard " (shard) ")" } }
                dd { (e.started) " – " (e.ended) ", " (crate::host_line(&e.host)) }
            }
        }
    }
}

fn card(sut: &SutResult) -> Markup {
    let count = |v: Verdict| sut.cases.iter().filter(|c| c.verdict == v).count();
    html! {
        div class={ "card " (sut.sut.role.name()) } {
            h3 { (sut.sut.name) " " span class="role" { (sut.sut.role.name()) } }
            p class="adapter" { (sut.sut.adapter) }
            p class="level" {
                @if let Some(reason) = &sut.unavailable { "not run here: " (reason) }
                @else if sut.certified_level == 0 { "no level certified" }
                @else { "certified level " (sut.certified_level) }
            }
            p {
                span class="verdict pass" { (count(Verdict::Pass)) " pass" } " "
                span class="verdict fail" { (count(Verdict::Fail)) " fail" } " "
                span class="verdict not_applicable" { (count(Verdict::NotApplicable)) " n/a" } " "
                span class="verdict error" { (count(Verdict::Error)) " error" }
            }
            @if !sut.held_back_by.is_empty() {
                p class="held" { "held back by " (sut.held_back_by.join(", ")) }
            }
        }
    }
}

fn filters(families: &BTreeSet<&str>) -> Markup {
    html! {
        form class="filters" id="filters" {
            label { "family " select id="family" {
                option value="" { "all" }
                @for f in families { option value=(f) { (f) } }
            } }
            label { "level " select id="level" {
                option value="" { "all" }
                @for l in 1..=3 { option value=(l) { (l) } }
            } }
            label { "verdict " select id="verdict" {
                option value="" { "all" }
                @for v in ["pass", "fail", "not_applicable", "error", "skipped"] {
                    option value=(v) { (v) }
                }
            } }
        }
    }
}

fn requirements_table(run: &RunResult) -> Markup {
    let Some(first) = run.suts.first() else {
        return html! { p { "No sandbox ran." } };
    };
    html! {
        table class="requirements" {
            thead { tr {
                th { "requirement" } th { "level" }
                @for sut in &run.suts { th { (sut.sut.name) } }
            } }
            tbody {
                @for requirement in &first.requirements {
                    @let row: Vec<Option<&RequirementResult>> = run
                        .suts
                        .iter()
                        .map(|s| s.requirements.iter().find(|r| r.id == requirement.id))
                        .collect();
                    tr data-family=(family(&requirement.id))
                       data-level=(requirement.level)
                       data-verdicts=(verdicts(row.iter().flatten().map(|r| r.verdict))) {
                        td {
                            b { (requirement.id) } " " span class="rfc" { (requirement.rfc) }
                            br; span class="title" { (requirement.title) }
                        }
                        td { (requirement.level) }
                        @for (sut, result) in run.suts.iter().zip(&row) {
                            @match result {
                                Some(r) => (requirement_cell(sut, r)),
                                None => td {},
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A requirement's verdict in a sandbox; a verdict other than pass opens on its cases.
fn requirement_cell(sut: &SutResult, requirement: &RequirementResult) -> Markup {
    let word = requirement.verdict.as_str();
    if requirement.verdict == Verdict::Pass {
        return html! { td class={ "verdict " (word) } { (word) } };
    }
    let failing: Vec<&CaseResult> = sut
        .cases
        .iter()
        .filter(|c| requirement.cases.contains(&c.case) && c.verdict != Verdict::Pass)
        .collect();
    html! {
        td class={ "verdict " (word) } {
            details {
                summary { (word) @if requirement.gap { " (no case)" } }
                p { (requirement.reason) }
                @if let Some(waiver) = &requirement.waived { p class="waived" { "waived: " (waiver) } }
                @for case in failing { (evidence(case)) }
            }
        }
    }
}

fn cases_table(run: &RunResult) -> Markup {
    let names: BTreeSet<&str> = run
        .suts
        .iter()
        .flat_map(|s| s.cases.iter())
        .filter(|c| c.verdict != Verdict::Pass)
        .map(|c| c.case.as_str())
        .collect();
    html! {
        table class="cases" {
            thead { tr { th { "case" } @for sut in &run.suts { th { (sut.sut.name) } } } }
            tbody {
                @for name in &names {
                    @let row: Vec<Option<&CaseResult>> = run
                        .suts
                        .iter()
                        .map(|s| s.cases.iter().find(|c| c.case == *name))
                        .collect();
                    tr data-family=(case_family(run, name))
                       data-verdicts=(verdicts(row.iter().flatten().map(|c| c.verdict))) {
                        td { code { (name) } }
                        @for case in &row {
                            @match case {
                                Some(c) if c.verdict == Verdict::Pass => td class="verdict pass" { "pass" },
                                Some(c) => td class={ "verdict " (c.verdict.as_str()) } {
                                    details {
                                        summary { (c.verdict.as_str()) @if c.waived.is_some() { " (waived)" } }
                                        (evidence(c))
                                    }
                                },
                                None => td {},
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A case's evidence as a definition list.
fn evidence(case: &CaseResult) -> Markup {
    html! {
        div class="evidence" {
            h4 { code { (case.case) } }
            dl {
                @for (key, values) in crate::evidence(case) {
                    dt { (key.as_str()) }
                    dd { @for v in values { div { (v) } } }
                }
                @if let Some(waiver) = &case.waived { dt { "waived" } dd { (waiver) } }
            }
        }
    }
}

/// A bar per slow case, its wall time, as inline SVG.
fn timing_chart(sut: &SutResult) -> Markup {
    let mut cases: Vec<&CaseResult> = sut.cases.iter().collect();
    cases.sort_by_key(|c| std::cmp::Reverse(c.measured.wall_ms));
    cases.truncate(SLOWEST_SHOWN);
    let longest = cases.first().map_or(1, |c| c.measured.wall_ms.max(1));
    let total = sut
        .cases
        .iter()
        .fold(0u64, |sum, c| sum.saturating_add(c.measured.wall_ms));
    let (bar_at, width, row) = (260u64, 420u64, 18u64);
    // A bar's length, in u128: the figures are read from a file and may be anything.
    let bar = |ms: u64| (u128::from(ms) * u128::from(width) / u128::from(longest)) as u64;
    html! {
        figure class="timing" {
            figcaption {
                (sut.sut.name) ": the " (cases.len()) " slowest of " (sut.cases.len())
                " cases (wall time; all cases: " (total / 1000) " s summed)"
            }
            svg xmlns="http://www.w3.org/2000/svg" width=(bar_at + width + 90)
                height=(row * cases.len() as u64 + 4) role="img" {
                @for (i, case) in cases.iter().enumerate() {
                    @let y = row * i as u64;
                    text x="0" y=(y + 13) class="label" { (case.case) }
                    rect x=(bar_at) y=(y + 3) height=(row - 6)
                         width=(1 + bar(case.measured.wall_ms))
                         class={ "bar " (case.verdict.as_str()) } {}
                    text x=(bar_at + 8 + bar(case.measured.wall_ms)) y=(y + 13)
                         class="figure" { (case.measured.wall_ms) " ms" }
                }
            }
        }
    }
}

fn family(id: &str) -> &str {
    id.split_once('-').map_or(id, |(family, _)| family)
}

/// The family of the first requirement that judges case `name` in any sandbox.
fn case_family<'a>(run: &'a RunResult, name: &str) -> &'a str {
    run.suts
        .iter()
        .flat_map(|s| &s.requirements)
        .find(|r| r.cases.iter().any(|c| c == name))
        .map_or("", |r| family(&r.id))
}

fn verdicts(all: impl Iterator<Item = Verdict>) -> String {
    all.map(Verdict::as_str)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::run;

    /// What headless Chromium (Debian's `chromium`) makes of `page` opened at `#fragment`:
    /// the DOM after the page's script ran, and a screenshot written to `shot` if given.
    fn in_chromium(page: &str, fragment: &str, shot: Option<&std::path::Path>) -> String {
        let dir = tempfile::tempdir().expect("a directory");
        let file = dir.path().join("report.html");
        std::fs::write(&file, page).expect("written");
        let url = format!("file://{}#{fragment}", file.display());
        let mut command = std::process::Command::new("chromium");
        // No sandbox of Chromium's own: the tests run as root, where it refuses to start
        // with one. No network: the page must need none.
        command.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ]);
        command.arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ));
        command.arg("--proxy-server=127.0.0.1:9");
        match shot {
            Some(path) => {
                command.arg(format!("--screenshot={}", path.display()));
                command.arg("--window-size=1280,1400");
            }
            None => {
                command.arg("--dump-dom");
            }
        }
        let out = command
            .arg(&url)
            .output()
            .expect("chromium runs (apt-get install -y chromium)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn chromium_renders_the_verdicts_and_the_filters_work() {
        let mut matrix = run(true);
        let mut control = matrix.suts[0].clone();
        control.sut.name = "none".into();
        control.sut.role = sbx_harness::model::Role::Control;
        control.certified_level = 0;
        matrix.suts.push(control);
        let page = render(&matrix, None);
        let dom = in_chromium(&page, "", None);
        assert!(
            dom.contains(r#"<td class="verdict pass">pass</td>"#),
            "{dom}"
        );
        assert!(dom.contains("<summary>fail (waived)</summary>"), "{dom}");
        assert!(dom.contains("2 of 2 requirements shown"), "{dom}");
        // A plugin's words are text, not markup.
        assert!(dom.contains("&lt;b&gt;&amp;"), "{dom}");
        assert!(!dom.contains("<b>&amp;"), "{dom}");
        // The filters, set from the address, hide the other rows.
        let dom = in_chromium(&page, "family=IPC", None);
        assert!(dom.contains("1 of 2 requirements shown"), "{dom}");
        let dom = in_chromium(&page, "verdict=error", None);
        assert!(dom.contains("0 of 2 requirements shown"), "{dom}");
        // And a screenshot is taken.
        let dir = tempfile::tempdir().expect("a directory");
        let shot = dir.path().join("report.png");
        in_chromium(&page, "", Some(&shot));
        let png = std::fs::read(&shot).expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    }
}
