//! Renderers of the conformance result model (`sbx_harness::model`). Each function takes
//! the model and returns text: a renderer decides nothing and computes no verdict.

use std::collections::BTreeMap;
use std::fmt::Write;

use sbx_harness::model::{CaseResult, Outcome, RunResult, SutResult, Verdict};

const VERDICTS: [Verdict; 5] = [
    Verdict::Pass,
    Verdict::Fail,
    Verdict::NotApplicable,
    Verdict::Error,
    Verdict::Skipped,
];

/// The full result as pretty JSON (the documented output of a run).
pub fn json(run: &RunResult) -> String {
    serde_json::to_string_pretty(run).unwrap_or_default()
}

fn counts<'a>(verdicts: impl Iterator<Item = &'a Verdict>) -> String {
    let mut n: BTreeMap<Verdict, usize> = BTreeMap::new();
    for v in verdicts {
        *n.entry(*v).or_default() += 1;
    }
    VERDICTS
        .iter()
        .filter_map(|v| n.get(v).map(|c| format!("{c} {}", v.as_str())))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The terminal summary: per sandbox, counts, certification, and what failed with why.
pub fn summary(run: &RunResult) -> String {
    let mut out = String::new();
    for s in &run.suts {
        let _ = writeln!(
            out,
            "\n== {} [{}] {}",
            s.sut.name, s.sut.role, s.sut.adapter
        );
        let _ = writeln!(
            out,
            "   cases:        {}",
            counts(s.cases.iter().map(|c| &c.verdict))
        );
        let _ = writeln!(
            out,
            "   requirements: {}",
            counts(s.requirements.iter().map(|r| &r.verdict))
        );
        let gaps = s.requirements.iter().filter(|r| r.gap).count();
        if gaps > 0 {
            let _ = writeln!(
                out,
                "   gaps:         {gaps} requirement(s) with no case (counted as fail)"
            );
        }
        let failed: Vec<_> = s.self_test.iter().filter(|c| !c.passed).collect();
        let _ = writeln!(
            out,
            "   self-test:    {}/{} protocol checks passed",
            s.self_test.len() - failed.len(),
            s.self_test.len()
        );
        for c in failed {
            let _ = writeln!(out, "      FAILED {}: {}", c.name, one_line(&c.detail, 100));
        }
        let _ = writeln!(out, "   certified:    {}", level_name(s.certified_level));
        if s.sut.role == "control" {
            // A control proves the plugins do harm: the cases where it saw none matter.
            let clean: Vec<String> = s
                .cases
                .iter()
                .filter(|c| c.verdict == Verdict::Pass)
                .map(|c| {
                    if c.inert.is_some() {
                        format!("{} (inert here)", c.case)
                    } else {
                        c.case.clone()
                    }
                })
                .collect();
            let _ = writeln!(
                out,
                "   no harm seen: {}",
                if clean.is_empty() {
                    "none".to_string()
                } else {
                    one_line(&clean.join(", "), 400)
                }
            );
        }
        let failing: Vec<_> = s
            .cases
            .iter()
            .filter(|c| c.verdict != Verdict::Pass)
            .collect();
        for c in failing.iter().take(40) {
            let _ = writeln!(
                out,
                "   {:<14} {:<34} {}",
                c.verdict.as_str(),
                c.case,
                one_line(&c.reason, 110)
            );
        }
        if failing.len() > 40 {
            let _ = writeln!(
                out,
                "   ... and {} more (see results.json)",
                failing.len() - 40
            );
        }
    }
    if run.suts.len() > 1 {
        out.push('\n');
        out.push_str(&matrix_text(run));
    }
    out
}

fn level_name(level: u8) -> &'static str {
    match level {
        0 => {
            "no level (a MUST of level 1 did not pass, the protocol self-test failed, or the run was partial)"
        }
        1 => "level 1 (contained)",
        2 => "level 2 (governed)",
        _ => "level 3 (certified)",
    }
}

fn one_line(s: &str, max: usize) -> String {
    let s = s.replace('\n', " ");
    if s.chars().count() > max {
        format!("{}…", s.chars().take(max).collect::<String>())
    } else {
        s
    }
}

fn matrix_text(run: &RunResult) -> String {
    let mut out =
        String::from("requirement verdicts, side by side (pass/fail/n-a/error/skipped):\n");
    let _ = write!(out, "{:<28}", "sandbox");
    let _ = writeln!(
        out,
        "{:>6} {:>6} {:>6} {:>6} {:>6}  level",
        "pass", "fail", "n/a", "error", "skip"
    );
    for s in &run.suts {
        let n = |v: Verdict| s.requirements.iter().filter(|r| r.verdict == v).count();
        let _ = writeln!(
            out,
            "{:<28}{:>6} {:>6} {:>6} {:>6} {:>6}  {}",
            s.sut.name,
            n(Verdict::Pass),
            n(Verdict::Fail),
            n(Verdict::NotApplicable),
            n(Verdict::Error),
            n(Verdict::Skipped),
            s.certified_level
        );
    }
    out
}

fn cell(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "**FAIL**",
        Verdict::NotApplicable => "n/a",
        Verdict::Error => "error",
        Verdict::Skipped => "skip",
    }
}

/// A Markdown table: one row per requirement, one column per sandbox, and the sandboxes
/// that fail it (the proof that the requirement catches a sandbox that breaks it), with
/// `mutants`, the hand-written mutants each requirement failed in the mutation analysis
/// (requirement id → mutant names).
pub fn requirements_markdown(
    run: &RunResult,
    mutants: &std::collections::BTreeMap<String, Vec<String>>,
) -> String {
    let mut out = String::new();
    let _ = write!(out, "| requirement | rfc | level |");
    for s in &run.suts {
        let _ = write!(out, " {} |", s.sut.name);
    }
    let _ = writeln!(out, " caught by |");
    let _ = write!(out, "|---|---|---|");
    for _ in &run.suts {
        out.push_str("---|");
    }
    out.push_str("---|\n");
    let Some(first) = run.suts.first() else {
        return out;
    };
    for (i, r) in first.requirements.iter().enumerate() {
        let _ = write!(out, "| `{}` | {} | {} |", r.id, r.rfc, r.level);
        let mut caught = Vec::new();
        for s in &run.suts {
            let v = s
                .requirements
                .get(i)
                .map_or(Verdict::Skipped, |x| x.verdict);
            let gap = s.requirements.get(i).is_some_and(|x| x.gap);
            let _ = write!(out, " {} |", if gap { "gap" } else { cell(v) });
            if v == Verdict::Fail && !gap && s.sut.role != "candidate" {
                caught.push(s.sut.name.clone());
            }
        }
        caught.extend(
            mutants
                .get(&r.id)
                .into_iter()
                .flatten()
                .map(|m| format!("`{m}`")),
        );
        // Caught by nobody because no attack on it can do harm on this system at all.
        let inert = !r.cases.is_empty()
            && run
                .suts
                .iter()
                .filter(|s| s.sut.role == "control")
                .any(|s| {
                    r.cases.iter().all(|id| {
                        s.cases
                            .iter()
                            .find(|c| &c.case == id)
                            .is_some_and(|c| c.inert.is_some())
                    })
                });
        let _ = writeln!(
            out,
            " {} |",
            if !caught.is_empty() && inert {
                format!(
                    "{} (by its reaction: its attacks are inert on this system)",
                    caught.join(", ")
                )
            } else if !caught.is_empty() {
                caught.join(", ")
            } else if inert {
                "— (its attacks are inert on this system)".to_string()
            } else {
                "—".to_string()
            }
        );
    }
    out
}

/// One plugin's descriptive columns for [`plugins_markdown`].
#[derive(Debug, Clone)]
pub struct PluginRow {
    /// Name (= case id).
    pub name: String,
    /// Family.
    pub family: String,
    /// Language.
    pub language: String,
    /// Requirement ids attacked.
    pub attacks: Vec<String>,
    /// Expected reaction of the reference sandbox.
    pub expected: String,
}

/// A reason short enough for a table cell, without characters that would break its row.
fn short(reason: &str) -> String {
    let one_line: String = reason
        .chars()
        .map(|c| if c == '|' || c.is_control() { ' ' } else { c })
        .collect();
    match one_line.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

fn case_cell(c: Option<&CaseResult>) -> String {
    match c {
        None => "—".into(),
        Some(c) => {
            let outcome = match &c.outcome {
                Outcome::RefusedLoad { .. } => "refused".to_string(),
                Outcome::Killed { termination } => termination.reason.clone(),
                Outcome::Survived { .. } => "survived".into(),
                Outcome::Unknown => "?".into(),
            };
            // Harm judged against other requirements than the case's own is named apart.
            let harm: Vec<&str> = c
                .harm
                .iter()
                .map(|h| h.kind.as_str())
                .filter(|k| !c.also_seen.iter().any(|s| s.starts_with(&format!("{k} ("))))
                .collect();
            let also = if c.also_seen.is_empty() {
                String::new()
            } else {
                format!("also seen: {}", c.also_seen.join(", "))
            };
            let inert = if c.inert.is_some() {
                "; inert here"
            } else {
                ""
            };
            match c.verdict {
                // Not judged: the reason says why (the feature not declared, the fault).
                Verdict::NotApplicable | Verdict::Error | Verdict::Skipped => {
                    format!("{}: {}", cell(c.verdict), short(&c.reason))
                }
                _ if harm.is_empty() && also.is_empty() => {
                    format!("{} ({outcome}{inert})", cell(c.verdict))
                }
                _ if harm.is_empty() => format!("{} ({outcome}; {also})", cell(c.verdict)),
                _ if also.is_empty() => format!("{}: {}", cell(c.verdict), harm.join(", ")),
                _ => format!("{}: {}; {also}", cell(c.verdict), harm.join(", ")),
            }
        }
    }
}

/// A Markdown table: every plugin, its family, what it attacks, and its result under each
/// sandbox of the run (verdict and the reaction, or the harm observed).
pub fn plugins_markdown(run: &RunResult, rows: &[PluginRow]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "| plugin | family | lang | attacks | reference expects |"
    );
    for s in &run.suts {
        let _ = write!(out, " {} |", s.sut.name);
    }
    out.push('\n');
    out.push_str("|---|---|---|---|---|");
    for _ in &run.suts {
        out.push_str("---|");
    }
    out.push('\n');
    let index: Vec<BTreeMap<&str, &CaseResult>> = run
        .suts
        .iter()
        .map(|s: &SutResult| s.cases.iter().map(|c| (c.case.as_str(), c)).collect())
        .collect();
    for r in rows {
        let _ = write!(
            out,
            "| `{}` | {} | {} | {} | {} |",
            r.name,
            r.family,
            r.language,
            r.attacks.join(" "),
            r.expected
        );
        for idx in &index {
            let _ = write!(out, " {} |", case_cell(idx.get(r.name.as_str()).copied()));
        }
        out.push('\n');
    }
    out
}
