//! The report of cargo-mutants' runs: what the suite caught, and each survivor judged.
//!
//! A run (the whole, a shard, a file, a diff) leaves `mutants.out/` with cargo-mutants'
//! outcomes and the oracle's log of each mutant. This module reads them: a mutant is caught
//! only when the oracle says which requirements failed (a mutant whose oracle failed for
//! another reason, a build or a harness fault, is an error, never a catch). Survivors are
//! judged in `conformance/mutants/survivors.toml` (`equivalent`, and why; or `gap`, and its
//! follow-up); a survivor judged nowhere is listed as unexplained. `--docs` merges the run
//! into `docs/cargo-mutants.json` (one row per mutant, the newest judgement and the commit
//! it was judged at) and writes `docs/cargo-mutants.md` from it.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// The judged survivors.
pub const SURVIVORS: &str = "conformance/mutants/survivors.toml";
/// The committed report and its data.
pub const DOCS_REPORT: &str = "docs/cargo-mutants.md";
pub const DOCS_DATA: &str = "docs/cargo-mutants.json";
/// The file, inside `mutants.out/`, naming the commit a run judged.
pub const JUDGED_AT: &str = "judged-at";

/// What the oracle (`cargo_mutants::oracle`) says when a requirement failed: the report
/// reads it from the mutant's log.
pub const CAUGHT: &str = "the suite fails the sandbox of this tree: ";

/// Whether `file` (a path from the workspace root) is `pattern` or under it, when `pattern`
/// ends in `/`.
pub fn covers(pattern: &str, file: &str) -> bool {
    match pattern.strip_suffix('/') {
        Some(dir) => file.starts_with(&format!("{dir}/")),
        None => file == pattern,
    }
}

/// How one mutant fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A requirement failed.
    Caught,
    /// The suite ran longer than cargo-mutants' timeout: the mutated sandbox hangs.
    Timeout,
    /// Every requirement the oracle ran passed.
    Missed,
    /// The mutated code does not build.
    Unviable,
    /// The oracle failed without a verdict (a harness or build fault): not a catch.
    Error,
}

/// One judged mutant, as the docs keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The mutated file.
    pub file: String,
    /// The mutated function, as cargo-mutants names it (empty outside a function).
    #[serde(default)]
    pub function: String,
    pub outcome: Outcome,
    /// The requirements that failed (caught), or what went wrong (error).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// The commit the run judged (`+` when its tree had changes).
    pub judged_at: String,
}

/// The judgement of a survivor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Judgement {
    /// No behaviour the seeds constrain changes.
    Equivalent,
    /// A defect the suite should catch and does not yet.
    Gap,
}

/// One entry of `survivors.toml`: one mutant, or every mutant of one function.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Survivor {
    /// The mutant, as [`key`] names it (its file and replacement, no line); or, with
    /// `function = true`, `FILE: FUNCTION`, for every mutant of that function.
    pub mutant: String,
    /// The judgement is of every mutant of a function.
    #[serde(default)]
    pub function: bool,
    pub judgement: Judgement,
    /// Why it is equivalent, or what it breaks.
    pub why: String,
    /// For a gap: where it is followed up (an issue, a planned case).
    #[serde(default)]
    pub follow_up: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SurvivorsFile {
    #[serde(default)]
    survivor: Vec<Survivor>,
}

/// The judged survivors, by mutant and by function.
#[derive(Debug, Clone, Default)]
pub struct Survivors {
    by_mutant: BTreeMap<String, Survivor>,
    by_function: BTreeMap<String, Survivor>,
}

impl Survivors {
    /// The judgement of the mutant `name` (of `row`): its own (by [`key`]), or its
    /// function's.
    pub fn get(&self, name: &str, row: &Row) -> Option<&Survivor> {
        self.by_mutant.get(&key(name)).or_else(|| {
            (!row.function.is_empty())
                .then(|| {
                    self.by_function
                        .get(&format!("{}: {}", row.file, row.function))
                })
                .flatten()
        })
    }

    /// Every entry.
    #[cfg(test)]
    fn iter(&self) -> impl Iterator<Item = &Survivor> {
        self.by_mutant.values().chain(self.by_function.values())
    }
}

/// Reads and checks `survivors.toml`: each gap names its follow-up, no mutant twice.
pub fn survivors(root: &Path) -> Result<Survivors> {
    let path = root.join(SURVIVORS);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let file: SurvivorsFile =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mut out = Survivors::default();
    for s in file.survivor {
        if s.judgement == Judgement::Gap && s.follow_up.as_deref().is_none_or(str::is_empty) {
            bail!("{SURVIVORS}: the gap `{}` names no follow-up", s.mutant);
        }
        if s.why.trim().is_empty() {
            bail!("{SURVIVORS}: `{}` says no why", s.mutant);
        }
        let mutant = s.mutant.clone();
        let into = if s.function {
            &mut out.by_function
        } else {
            &mut out.by_mutant
        };
        if into.insert(mutant.clone(), s).is_some() {
            bail!("{SURVIVORS}: `{mutant}` is judged twice");
        }
    }
    Ok(out)
}

/// A mutant's name without its line and column (`FILE:LINE:COL: WHAT` becomes
/// `FILE: WHAT`), so that a judgement survives code moving within its file.
pub fn key(name: &str) -> String {
    let mut parts = name.splitn(4, ':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(file), Some(line), Some(col), Some(what))
            if line.chars().all(|c| c.is_ascii_digit())
                && col.chars().all(|c| c.is_ascii_digit()) =>
        {
            format!("{file}:{what}")
        }
        _ => name.to_owned(),
    }
}

#[derive(Debug, Deserialize)]
struct OutcomesFile {
    outcomes: Vec<RawOutcome>,
}

#[derive(Debug, Deserialize)]
struct RawOutcome {
    scenario: serde_json::Value,
    summary: String,
    #[serde(default)]
    log_path: Option<String>,
}

/// The mutants of one cargo-mutants output directory (`mutants.out`), judged.
pub fn read_run(out: &Path, judged_at: &str) -> Result<BTreeMap<String, Row>> {
    let path = out.join("outcomes.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let file: OutcomesFile =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mut rows = BTreeMap::new();
    for o in file.outcomes {
        // The baseline (unmutated) scenario is a string; a mutant is an object.
        let Some(mutant) = o.scenario.get("Mutant") else {
            continue;
        };
        let (Some(name), Some(file)) = (
            mutant.get("name").and_then(|n| n.as_str()),
            mutant.get("file").and_then(|n| n.as_str()),
        ) else {
            bail!("{}: a mutant without a name or file", path.display());
        };
        let log = o
            .log_path
            .as_deref()
            .map(|l| std::fs::read_to_string(out.join(l)).unwrap_or_default())
            .unwrap_or_default();
        let (outcome, evidence) = judge(&o.summary, &log);
        rows.insert(
            name.to_owned(),
            Row {
                file: file.to_owned(),
                function: mutant
                    .pointer("/function/function_name")
                    .and_then(|f| f.as_str())
                    .unwrap_or_default()
                    .to_owned(),
                outcome,
                evidence,
                judged_at: judged_at.to_owned(),
            },
        );
    }
    Ok(rows)
}

/// One mutant's outcome from cargo-mutants' summary and the oracle's log.
fn judge(summary: &str, log: &str) -> (Outcome, Vec<String>) {
    match summary {
        "CaughtMutant" => match log.lines().rev().find_map(|l| l.split_once(CAUGHT)) {
            Some((_, failed)) => (
                Outcome::Caught,
                failed
                    .split(", ")
                    .map(str::trim)
                    .map(str::to_owned)
                    .collect(),
            ),
            // The oracle failed without naming a requirement: its own last word.
            None => (
                Outcome::Error,
                log.lines()
                    .rev()
                    .find(|l| l.starts_with("xtask: ") || l.contains("error"))
                    .map(|l| vec![l.trim().chars().take(200).collect()])
                    .unwrap_or_default(),
            ),
        },
        "MissedMutant" => (Outcome::Missed, Vec::new()),
        "Timeout" => (Outcome::Timeout, Vec::new()),
        "Unviable" => (Outcome::Unviable, Vec::new()),
        other => (Outcome::Error, vec![format!("cargo-mutants: {other}")]),
    }
}

/// The figures of a set of rows, survivors judged by `survivors`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Score {
    pub caught: usize,
    pub timeout: usize,
    pub equivalent: usize,
    pub gaps: usize,
    pub unexplained: usize,
    pub errors: usize,
    pub unviable: usize,
}

impl Score {
    pub fn of<'r>(
        rows: impl IntoIterator<Item = (&'r String, &'r Row)>,
        survivors: &Survivors,
    ) -> Score {
        let mut s = Score::default();
        for (key, row) in rows {
            match row.outcome {
                Outcome::Caught => s.caught += 1,
                Outcome::Timeout => s.timeout += 1,
                Outcome::Unviable => s.unviable += 1,
                Outcome::Error => s.errors += 1,
                Outcome::Missed => match survivors.get(key, row).map(|j| j.judgement) {
                    Some(Judgement::Equivalent) => s.equivalent += 1,
                    Some(Judgement::Gap) => s.gaps += 1,
                    None => s.unexplained += 1,
                },
            }
        }
        s
    }

    /// Viable mutants with a verdict (errors aside: they have none).
    pub fn judged(&self) -> usize {
        self.caught + self.timeout + self.equivalent + self.gaps + self.unexplained
    }

    /// Caught (a timeout is a hang, caught) or justified equivalent, percent of the judged.
    pub fn percent(&self) -> Option<f64> {
        let judged = self.judged();
        (judged > 0)
            .then(|| 100.0 * (self.caught + self.timeout + self.equivalent) as f64 / judged as f64)
    }

    pub fn line(&self) -> String {
        format!(
            "{} of {} viable mutants caught or equivalent ({}): {} caught, {} by a timeout, \
             {} equivalent; {} gaps, {} unexplained; {} errors and {} unviable not counted",
            self.caught + self.timeout + self.equivalent,
            self.judged(),
            self.percent()
                .map_or_else(|| "none judged".to_owned(), |p| format!("{p:.1}%")),
            self.caught,
            self.timeout,
            self.equivalent,
            self.gaps,
            self.unexplained,
            self.errors,
            self.unviable
        )
    }
}

/// The files whose mutants count towards the target, and the target
/// (`[target]` of `conformance/mutants/scopes.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub files: Vec<String>,
    pub at_least_percent: f64,
}

/// Prints a run's score and survivors.
pub fn print(rows: &BTreeMap<String, Row>, survivors: &Survivors, target: &Target) {
    println!("cargo-mutants: {}", Score::of(rows, survivors).line());
    let targeted = Score::of(in_target(rows, target), survivors);
    println!(
        "  in the target files (at least {}%): {}{}",
        target.at_least_percent,
        targeted.line(),
        below(&targeted, target)
    );
    for (key, row) in rows {
        match row.outcome {
            Outcome::Missed => match survivors.get(key, row) {
                Some(s) => println!("  survived ({:?}): {key}: {}", s.judgement, s.why),
                None => println!("  survived, unexplained: {key}"),
            },
            Outcome::Error => println!("  error: {key}: {}", row.evidence.join("; ")),
            _ => {}
        }
    }
}

fn in_target<'r>(
    rows: &'r BTreeMap<String, Row>,
    target: &'r Target,
) -> impl Iterator<Item = (&'r String, &'r Row)> {
    rows.iter()
        .filter(|(_, r)| target.files.iter().any(|f| covers(f, &r.file)))
}

/// The committed data (`DOCS_DATA`): every judged mutant's row; `None` when there is none
/// yet.
pub fn read_docs(root: &Path) -> Result<Option<BTreeMap<String, Row>>> {
    let data = root.join(DOCS_DATA);
    match std::fs::read_to_string(&data) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .with_context(|| format!("parsing {}", data.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", data.display())),
    }
}

/// Merges `rows` into the committed data, drops the rows of mutants whose key is not in
/// `current` (the code no longer has them), and rewrites the report.
pub fn write_docs(
    root: &Path,
    rows: &BTreeMap<String, Row>,
    current: &[String],
    survivors: &Survivors,
    target: &Target,
) -> Result<()> {
    let data = root.join(DOCS_DATA);
    let mut all = read_docs(root)?.unwrap_or_default();
    merge(&mut all, rows);
    prune(&mut all, current, |commit| commit_time(root, commit));
    std::fs::write(&data, serde_json::to_string_pretty(&all)? + "\n")
        .with_context(|| format!("writing {}", data.display()))?;
    let report = root.join(DOCS_REPORT);
    std::fs::write(&report, markdown(&all, survivors, target))
        .with_context(|| format!("writing {}", report.display()))?;
    println!("wrote {} and {}", DOCS_REPORT, DOCS_DATA);
    Ok(())
}

/// Merges a run's `rows` into `all`: a mutant judged again replaces its row, wherever its
/// line has moved to; the rest are kept.
fn merge(all: &mut BTreeMap<String, Row>, rows: &BTreeMap<String, Row>) {
    // Several mutants of one function can share a key: the old rows of a key go only when
    // the run judged at least as many of it (a run of part of a file keeps the rest).
    let count = |rows: &BTreeMap<String, Row>| {
        let mut n: BTreeMap<String, usize> = BTreeMap::new();
        for name in rows.keys() {
            *n.entry(key(name)).or_default() += 1;
        }
        n
    };
    let (now, before) = (count(rows), count(all));
    all.retain(|name, _| {
        let k = key(name);
        now.get(&k)
            .is_none_or(|judged| judged < before.get(&k).unwrap_or(&0))
    });
    all.extend(rows.iter().map(|(k, r)| (k.clone(), r.clone())));
}

/// Drops the rows of mutants the code no longer has, of the checkout's mutants `current`
/// (their names). A row whose key no mutant has goes. Where more rows share a key and a
/// column than the checkout has mutants of them, a mutant was judged again after code above
/// it moved, beside its old row: the rows of mutants at their place in the checkout stay
/// first, then the most recently judged (`judged_when`: a commit's time, 0 when unknown).
/// A group no current mutant shares (its column moved too) is kept whole.
fn prune(all: &mut BTreeMap<String, Row>, current: &[String], judged_when: impl Fn(&str) -> i64) {
    let keys: std::collections::BTreeSet<String> = current.iter().map(|n| key(n)).collect();
    all.retain(|name, _| keys.contains(&key(name)));
    let mut places: BTreeMap<String, usize> = BTreeMap::new();
    for name in current {
        *places.entry(key_and_column(name)).or_default() += 1;
    }
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for name in all.keys() {
        groups
            .entry(key_and_column(name))
            .or_default()
            .push(name.clone());
    }
    for (group, mut names) in groups {
        let room = places.get(&group).copied().unwrap_or(0);
        if room == 0 || names.len() <= room {
            continue;
        }
        names.sort_by_key(|name| {
            (
                !current.contains(name),
                std::cmp::Reverse(judged_when(&all[name].judged_at)),
            )
        });
        for stale in &names[room..] {
            all.remove(stale);
        }
    }
}

/// A mutant's [`key`] and its column: what stays of its name when code above it moves.
fn key_and_column(name: &str) -> String {
    let column = name.split(':').nth(2).unwrap_or("");
    format!("{} @{column}", key(name))
}

/// When `commit` (as a row names it: abbreviated, `+` for a tree with changes) was made,
/// in seconds; 0 when git does not know it.
fn commit_time(root: &Path, commit: &str) -> i64 {
    std::process::Command::new("git")
        .args(["log", "-1", "--format=%ct"])
        .arg(commit.trim_end_matches('+'))
        .current_dir(root)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(0)
}

/// The report: the scores, the survivors with their judgements, every row.
pub fn markdown(rows: &BTreeMap<String, Row>, survivors: &Survivors, target: &Target) -> String {
    let mut md = String::from(
        "<!-- Generated by `cargo xtask mutants --cargo-mutants ... --docs`; do not edit. -->\n\n\
         # Mutation analysis: cargo-mutants over the reference sandbox\n\n\
         cargo-mutants mutates the sandbox's crates one function at a time; the conformance \
         suite is the oracle (`xtask/tests/mutant_oracle.rs`), on the cases the mutated file \
         can affect (`conformance/mutants/scopes.toml`); with every layer on, the mutated \
         reference is held to the reactions the plugins' metadata expect of the reference, \
         as the suite holds the reference itself (rows judged at 10709e4 or before were \
         not, which can only have left survivors it would catch; runs judged again with \
         layers relaxed or as another user are not, their reactions differ). A mutant is \
         caught when the oracle names a requirement that failed, and failed again when its cases ran once more (a \
         failure the machine's load caused once does not count); a survivor is judged in \
         `conformance/mutants/survivors.toml`, as equivalent (and why) or as a gap (and its \
         follow-up). Runs are merged: each row keeps its newest judgement and the commit it \
         was judged at. Rows judged at an older commit may have moved or changed.\n\n",
    );
    let all = Score::of(rows, survivors);
    let targeted = Score::of(in_target(rows, target), survivors);
    md.push_str(&format!("**All judged mutants:** {}.\n\n", all.line()));
    md.push_str(&format!(
        "**In the target files** ({}; target: at least {}%): {}{}.\n\n",
        target
            .files
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", "),
        target.at_least_percent,
        targeted.line(),
        below(&targeted, target)
    ));
    md.push_str("## Survivors\n\n| mutant | judgement | why | follow-up |\n|---|---|---|---|\n");
    for (key, row) in rows.iter().filter(|(_, r)| r.outcome == Outcome::Missed) {
        let (judgement, why, follow) = match survivors.get(key, row) {
            Some(s) => (
                format!("{:?}", s.judgement).to_lowercase(),
                s.why.clone(),
                s.follow_up.clone().unwrap_or_default(),
            ),
            None => ("**unexplained**".into(), String::new(), String::new()),
        };
        md.push_str(&format!(
            "| `{}` | {judgement} | {} | {} |\n",
            cell(key),
            cell(&why),
            cell(&follow)
        ));
    }
    md.push_str("\n## Every judged mutant\n\n| mutant | outcome | evidence | judged at |\n|---|---|---|---|\n");
    for (key, row) in rows {
        md.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            cell(key),
            format!("{:?}", row.outcome).to_lowercase(),
            cell(&row.evidence.join(", ")),
            row.judged_at
        ));
    }
    md
}

/// Says so when a score is below the target (the nightly runs report it; the gaps behind
/// it are judged in `survivors.toml` with their follow-ups).
fn below(score: &Score, target: &Target) -> &'static str {
    match score.percent() {
        Some(p) if p < target.at_least_percent => ": BELOW THE TARGET",
        _ => "",
    }
}

/// Text safe in a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mutant_judged_again_replaces_its_row_wherever_it_moved() {
        let at = |outcome, commit: &str| Row {
            judged_at: commit.into(),
            ..row(outcome)
        };
        let mut all: BTreeMap<String, Row> = [
            (
                "f.rs:10:5: delete ! in one".to_owned(),
                at(Outcome::Missed, "old"),
            ),
            (
                "f.rs:20:5: delete ! in two".to_owned(),
                at(Outcome::Missed, "old"),
            ),
        ]
        .into();
        let run: BTreeMap<String, Row> = [
            (
                "f.rs:12:5: delete ! in one".to_owned(),
                at(Outcome::Caught, "new"),
            ),
            (
                "f.rs:30:5: delete ! in one".to_owned(),
                at(Outcome::Caught, "new"),
            ),
        ]
        .into();
        merge(&mut all, &run);
        assert_eq!(all.len(), 3, "{all:?}");
        assert!(!all.contains_key("f.rs:10:5: delete ! in one"));
        assert_eq!(all["f.rs:20:5: delete ! in two"].judged_at, "old");
    }

    #[test]
    fn a_run_of_part_of_a_function_keeps_the_rows_it_did_not_judge() {
        let at = missed_at;
        let mut all: BTreeMap<String, Row> = [
            ("f.rs:10:5: replace > with < in one".to_owned(), at("old")),
            ("f.rs:20:5: replace > with < in one".to_owned(), at("old")),
        ]
        .into();
        let run: BTreeMap<String, Row> =
            [("f.rs:20:5: replace > with < in one".to_owned(), at("new"))].into();
        merge(&mut all, &run);
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(all["f.rs:10:5: replace > with < in one"].judged_at, "old");
        assert_eq!(all["f.rs:20:5: replace > with < in one"].judged_at, "new");
    }

    #[test]
    fn rows_of_mutants_the_code_no_longer_has_are_dropped() {
        let mut all = BTreeMap::from([
            (
                "a.rs:1:1: replace f -> bool with true".to_owned(),
                row(Outcome::Caught),
            ),
            (
                "a.rs:9:5: replace gone -> u64 with 0".to_owned(),
                row(Outcome::Missed),
            ),
        ]);
        let current = [
            "a.rs:3:1: replace f -> bool with true".to_owned(),
            "a.rs:4:1: replace f -> bool with false".to_owned(),
        ];
        prune(&mut all, &current, |_| 0);
        assert_eq!(
            all.keys().collect::<Vec<_>>(),
            ["a.rs:1:1: replace f -> bool with true"]
        );
    }

    #[test]
    fn a_mutant_judged_again_after_its_line_moved_leaves_no_old_row_beside_the_new() {
        // Rows of one key and column, at lines `lines`, judged first, second and third.
        let rows = |lines: [u32; 3]| -> BTreeMap<String, Row> {
            lines
                .iter()
                .zip(["first", "second", "third"])
                .map(|(line, commit)| {
                    (
                        format!("f.rs:{line}:9: replace + with * in one"),
                        missed_at(commit),
                    )
                })
                .collect()
        };
        // Two mutants; code above the second moved it from 20 to 25, and a run judged it
        // there. The first has not moved.
        let mut all = rows([10, 20, 25]);
        let current = [
            "f.rs:10:9: replace + with * in one".to_owned(),
            "f.rs:25:9: replace + with * in one".to_owned(),
        ];
        let order = |commit: &str| match commit {
            "first" => 1,
            "second" => 2,
            _ => 3,
        };
        prune(&mut all, &current, order);
        assert_eq!(
            all.keys().collect::<Vec<_>>(),
            current.iter().collect::<Vec<_>>()
        );
        // Where no row is at a current place (all moved), the newest stay.
        let mut all = rows([11, 21, 26]);
        prune(&mut all, &current, order);
        assert_eq!(
            all.keys().collect::<Vec<_>>(),
            [
                "f.rs:21:9: replace + with * in one",
                "f.rs:26:9: replace + with * in one"
            ]
        );
    }

    #[test]
    fn a_key_drops_the_line_and_column_only() {
        assert_eq!(
            key("sandbox/host/src/host.rs:471:49: replace > with >= in recover"),
            "sandbox/host/src/host.rs: replace > with >= in recover"
        );
        assert_eq!(key("not a mutant name"), "not a mutant name");
    }

    #[test]
    fn a_catch_needs_the_oracle_to_name_a_requirement() {
        let log = "...\nxtask: the suite fails the sandbox of this tree: CAP-001, FS-002\n";
        assert_eq!(
            judge("CaughtMutant", log),
            (Outcome::Caught, vec!["CAP-001".into(), "FS-002".into()])
        );
        let (outcome, why) = judge(
            "CaughtMutant",
            "xtask: the mutated sandbox does not build\n",
        );
        assert_eq!(outcome, Outcome::Error);
        assert_eq!(
            why,
            vec!["xtask: the mutated sandbox does not build".to_owned()]
        );
        assert_eq!(judge("MissedMutant", "").0, Outcome::Missed);
    }

    /// A survivor's row, judged at `commit`.
    fn missed_at(commit: &str) -> Row {
        Row {
            judged_at: commit.into(),
            ..row(Outcome::Missed)
        }
    }

    fn row(outcome: Outcome) -> Row {
        Row {
            file: "sandbox/host/src/host.rs".into(),
            function: String::new(),
            outcome,
            evidence: Vec::new(),
            judged_at: "abc".into(),
        }
    }

    #[test]
    fn survivors_count_by_their_judgement_and_errors_not_at_all() {
        let rows: BTreeMap<String, Row> = [
            ("a".to_owned(), row(Outcome::Caught)),
            ("b".to_owned(), row(Outcome::Missed)),
            ("c".to_owned(), row(Outcome::Missed)),
            ("d".to_owned(), row(Outcome::Missed)),
            ("e".to_owned(), row(Outcome::Error)),
            ("f".to_owned(), row(Outcome::Timeout)),
        ]
        .into();
        let judged = |j| Survivor {
            mutant: String::new(),
            function: false,
            judgement: j,
            why: "because".into(),
            follow_up: None,
        };
        let survivors = Survivors {
            by_mutant: [
                ("b".to_owned(), judged(Judgement::Equivalent)),
                ("c".to_owned(), judged(Judgement::Gap)),
            ]
            .into(),
            by_function: BTreeMap::new(),
        };
        let s = Score::of(&rows, &survivors);
        assert_eq!(
            s,
            Score {
                caught: 1,
                timeout: 1,
                equivalent: 1,
                gaps: 1,
                unexplained: 1,
                errors: 1,
                unviable: 0,
            }
        );
        assert_eq!(s.percent(), Some(60.0));
    }

    #[test]
    fn the_shipped_survivors_are_judged_well() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let survivors = survivors(&root).expect("survivors.toml");
        for s in survivors.iter() {
            let k = &s.mutant;
            assert_eq!(
                key(k),
                *k,
                "{k}: name a survivor without its line and column"
            );
            assert!(k.starts_with("sandbox/") && k.contains(": "), "{k}");
            if s.judgement == Judgement::Gap {
                assert!(s.follow_up.is_some());
            }
        }
    }

    #[test]
    fn a_function_judgement_covers_each_of_its_mutants_and_no_other() {
        let entry = |mutant: &str, function| Survivor {
            mutant: mutant.into(),
            function,
            judgement: Judgement::Equivalent,
            why: "because".into(),
            follow_up: None,
        };
        let survivors = Survivors {
            by_mutant: [(
                "f.rs: replace a with b in one".to_owned(),
                entry("f.rs: replace a with b in one", false),
            )]
            .into(),
            by_function: [("f.rs: two".to_owned(), entry("f.rs: two", true))].into(),
        };
        let of = |file: &str, function: &str| Row {
            file: file.into(),
            function: function.into(),
            outcome: Outcome::Missed,
            evidence: Vec::new(),
            judged_at: "abc".into(),
        };
        assert!(
            survivors
                .get("f.rs: replace a with b in one", &of("f.rs", "one"))
                .is_some()
        );
        assert!(
            survivors
                .get("f.rs: replace c with d in one", &of("f.rs", "one"))
                .is_none()
        );
        assert!(
            survivors
                .get("f.rs: delete ! in two", &of("f.rs", "two"))
                .is_some()
        );
        assert!(
            survivors
                .get("f.rs: replace two -> bool with true", &of("f.rs", "two"))
                .is_some()
        );
        assert!(
            survivors
                .get("g.rs: delete ! in two", &of("g.rs", "two"))
                .is_none()
        );
        assert!(
            survivors
                .get("f.rs: replace | with &", &of("f.rs", ""))
                .is_none()
        );
    }
}
