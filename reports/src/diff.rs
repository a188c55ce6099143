//! Two runs compared (`cargo xtask conformance diff BEFORE AFTER`): per sandbox, the cases
//! and requirements that newly fail, that newly pass, whose evidence changed, and those only
//! one run has. Sandboxes are paired by name; two runs of one sandbox each, named
//! differently, are paired with each other (two sandboxes compared). A comparison decides
//! nothing about containment: it reports the verdicts the runs hold.

use std::collections::BTreeMap;
use std::fmt::Write;

use sbx_harness::model::{CaseResult, RunResult, SutResult, Verdict};

use crate::one_line;

/// One sandbox of each run, compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SutDiff {
    /// `name` of the sandbox in the first run.
    pub before: String,
    /// `name` of the sandbox in the second run.
    pub after: String,
    /// The certification levels, when they differ.
    pub level: Option<(u8, u8)>,
    /// Cases and requirements that passed (or were not applicable) and now fail or err.
    pub newly_failing: Vec<Change>,
    /// Cases and requirements that failed or erred and now pass.
    pub newly_passing: Vec<Change>,
    /// Cases that fail in both, with other evidence (harm kinds, or reason).
    pub changed_evidence: Vec<Change>,
    /// Ids of cases that only the first run has.
    pub only_before: Vec<String>,
    /// Ids of cases that only the second run has.
    pub only_after: Vec<String>,
}

/// A case or requirement whose verdict or evidence changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// `case` or `requirement`.
    pub what: &'static str,
    /// Its id.
    pub id: String,
    /// The verdict and reason before.
    pub before: String,
    /// The verdict and reason after.
    pub after: String,
}

/// The comparison of two runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDiff {
    /// One entry per pair of sandboxes.
    pub suts: Vec<SutDiff>,
    /// Names of sandboxes only the first run has.
    pub only_before: Vec<String>,
    /// Names of sandboxes only the second run has.
    pub only_after: Vec<String>,
}

impl RunDiff {
    /// Whether anything newly fails: what makes the comparison a failure.
    pub fn newly_failing(&self) -> bool {
        self.suts.iter().any(|s| !s.newly_failing.is_empty())
    }
}

/// Compares run `before` with run `after`.
pub fn compare(before: &RunResult, after: &RunResult) -> RunDiff {
    let named = |run: &RunResult| -> BTreeMap<String, usize> {
        run.suts
            .iter()
            .enumerate()
            .map(|(i, s)| (s.sut.name.clone(), i))
            .collect()
    };
    let (a, b) = (named(before), named(after));
    let mut pairs: Vec<(&SutResult, &SutResult)> = a
        .iter()
        .filter_map(|(name, &i)| b.get(name).map(|&j| (&before.suts[i], &after.suts[j])))
        .collect();
    let mut only_before: Vec<String> = a.keys().filter(|n| !b.contains_key(*n)).cloned().collect();
    let mut only_after: Vec<String> = b.keys().filter(|n| !a.contains_key(*n)).cloned().collect();
    if pairs.is_empty() && before.suts.len() == 1 && after.suts.len() == 1 {
        // Two sandboxes, one run each: compared with each other.
        pairs.push((&before.suts[0], &after.suts[0]));
        only_before.clear();
        only_after.clear();
    }
    RunDiff {
        suts: pairs.into_iter().map(|(x, y)| compare_suts(x, y)).collect(),
        only_before,
        only_after,
    }
}

fn failing(verdict: Verdict) -> bool {
    matches!(verdict, Verdict::Fail | Verdict::Error)
}

fn said(verdict: Verdict, reason: &str) -> String {
    format!("{}: {reason}", verdict.as_str())
}

/// The evidence of a case that does not pass, as far as two runs can be compared: its
/// verdict and the kinds of harm seen (their details hold figures that vary from run to run),
/// or its reason when it saw no harm.
fn evidence(case: &CaseResult) -> (Verdict, Vec<&'static str>, Option<&str>) {
    let mut kinds: Vec<&'static str> = case.harm.iter().map(|h| h.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let reason = kinds.is_empty().then_some(case.reason.as_str());
    (case.verdict, kinds, reason)
}

fn compare_suts(before: &SutResult, after: &SutResult) -> SutDiff {
    let mut diff = SutDiff {
        before: before.sut.name.clone(),
        after: after.sut.name.clone(),
        level: (before.certified_level != after.certified_level)
            .then_some((before.certified_level, after.certified_level)),
        newly_failing: Vec::new(),
        newly_passing: Vec::new(),
        changed_evidence: Vec::new(),
        only_before: Vec::new(),
        only_after: Vec::new(),
    };
    let cases_after: BTreeMap<&str, &CaseResult> =
        after.cases.iter().map(|c| (c.case.as_str(), c)).collect();
    let cases_before: BTreeMap<&str, &CaseResult> =
        before.cases.iter().map(|c| (c.case.as_str(), c)).collect();
    for (id, x) in &cases_before {
        let Some(y) = cases_after.get(id) else {
            diff.only_before.push((*id).to_owned());
            continue;
        };
        let change = Change {
            what: "case",
            id: (*id).to_owned(),
            before: said(x.verdict, &x.reason),
            after: said(y.verdict, &y.reason),
        };
        match (failing(x.verdict), failing(y.verdict)) {
            (false, true) => diff.newly_failing.push(change),
            (true, false) => diff.newly_passing.push(change),
            (true, true) if evidence(x) != evidence(y) => diff.changed_evidence.push(change),
            _ => {}
        }
    }
    diff.only_after = cases_after
        .keys()
        .filter(|id| !cases_before.contains_key(*id))
        .map(|id| (*id).to_owned())
        .collect();
    let requirements_after: BTreeMap<&str, _> = after
        .requirements
        .iter()
        .map(|r| (r.id.as_str(), r))
        .collect();
    for x in &before.requirements {
        let Some(y) = requirements_after.get(x.id.as_str()) else {
            continue;
        };
        let change = Change {
            what: "requirement",
            id: x.id.clone(),
            before: said(x.verdict, &x.reason),
            after: said(y.verdict, &y.reason),
        };
        match (failing(x.verdict), failing(y.verdict)) {
            (false, true) => diff.newly_failing.push(change),
            (true, false) => diff.newly_passing.push(change),
            _ => {}
        }
    }
    diff
}

/// The comparison as text for the terminal.
pub fn render(diff: &RunDiff) -> String {
    let mut out = String::new();
    for s in &diff.suts {
        let title = if s.before == s.after {
            s.before.clone()
        } else {
            format!("{} -> {}", s.before, s.after)
        };
        let _ = writeln!(out, "== {title}");
        if let Some((x, y)) = s.level {
            let _ = writeln!(out, "   certified level {x} -> {y}");
        }
        for (heading, changes) in [
            ("newly failing", &s.newly_failing),
            ("newly passing", &s.newly_passing),
            ("changed evidence", &s.changed_evidence),
        ] {
            let _ = writeln!(out, "   {heading}: {}", changes.len());
            for c in changes {
                let _ = writeln!(out, "      {} {}", c.what, c.id);
                let _ = writeln!(out, "         before: {}", one_line(&c.before, 160));
                let _ = writeln!(out, "         after:  {}", one_line(&c.after, 160));
            }
        }
        for (heading, ids) in [
            ("only in the first run", &s.only_before),
            ("only in the second run", &s.only_after),
        ] {
            if !ids.is_empty() {
                let _ = writeln!(out, "   cases {heading}: {}", listed(ids));
            }
        }
    }
    for (heading, names) in [
        ("only in the first run", &diff.only_before),
        ("only in the second run", &diff.only_after),
    ] {
        if !names.is_empty() {
            let _ = writeln!(out, "sandboxes {heading}: {}", names.join(", "));
        }
    }
    if diff.suts.is_empty() {
        out.push_str("no sandbox of one run is in the other\n");
    }
    out
}

/// The first names of a long list, and how many more.
fn listed(names: &[String]) -> String {
    const SHOWN: usize = 12;
    match names.len().checked_sub(SHOWN) {
        Some(more) if more > 0 => format!("{} and {more} more", names[..SHOWN].join(", ")),
        _ => names.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::run;
    use sbx_harness::model::{Harm, HarmKind};

    #[test]
    fn a_run_against_itself_has_no_change() {
        let diff = compare(&run(true), &run(true));
        assert_eq!(diff.suts.len(), 1);
        let s = &diff.suts[0];
        assert!(s.newly_failing.is_empty() && s.newly_passing.is_empty());
        assert!(s.changed_evidence.is_empty() && s.only_before.is_empty());
        assert!(!diff.newly_failing());
    }

    #[test]
    fn new_failures_passes_evidence_and_missing_cases_are_each_told() {
        let before = run(true);
        let mut after = run(true);
        let cases = &mut after.suts[0].cases;
        cases[0].verdict = Verdict::Fail; // fs_read_etc: pass -> fail
        cases[3].verdict = Verdict::Pass; // ipc_garbage: fail -> pass
        cases[4].harm.push(Harm {
            kind: HarmKind::FileWritten,
            detail: "/etc/x".into(),
        }); // load_odd: error with new harm
        cases.remove(1); // net_raw gone
        after.suts[0].certified_level = 0;
        let diff = compare(&before, &after);
        let s = &diff.suts[0];
        let ids = |c: &[Change]| c.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&s.newly_failing), ["fs_read_etc"]);
        assert_eq!(ids(&s.newly_passing), ["ipc_garbage"]);
        assert_eq!(ids(&s.changed_evidence), ["load_odd"]);
        assert_eq!(s.only_before, ["net_raw"]);
        assert_eq!(s.level, Some((3, 0)));
        assert!(diff.newly_failing());
        let text = render(&diff);
        assert!(
            text.contains("newly failing: 1\n      case fs_read_etc\n"),
            "{text}"
        );
        assert!(text.contains("certified level 3 -> 0"), "{text}");
    }

    #[test]
    fn figures_in_harm_details_are_not_a_change_of_evidence() {
        let before = run(true);
        let mut after = run(true);
        for c in &mut after.suts[0].cases {
            for h in &mut c.harm {
                h.detail.push_str(" (another figure)");
            }
        }
        assert!(compare(&before, &after).suts[0].changed_evidence.is_empty());
    }

    #[test]
    fn two_sandboxes_of_one_run_each_are_compared_with_each_other() {
        let before = run(false);
        let mut after = run(true);
        after.suts[0].sut.name = "bubblewrap".into();
        let diff = compare(&before, &after);
        assert_eq!(diff.suts.len(), 1);
        assert_eq!(
            (diff.suts[0].before.as_str(), diff.suts[0].after.as_str()),
            ("reference", "bubblewrap")
        );
        assert_eq!(diff.suts[0].only_after, ["ipc_garbage", "load_odd"]);
        assert!(render(&diff).starts_with("== reference -> bubblewrap\n"));
    }
}
