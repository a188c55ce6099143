//! `cargo xtask mutants --cargo-mutants`: cargo-mutants over the reference sandbox's crates,
//! with the conformance suite as the oracle.
//!
//! cargo-mutants copies the workspace, mutates one function at a time and runs the test
//! target `xtask/tests/mutant_oracle.rs` in the copy. That test runs `cargo xtask
//! mutant-oracle`, which finds the mutated file by comparing the copy's sandbox sources
//! with this checkout's (named by [`ORIGINAL_ENV`]), builds the copy's adapter and runner,
//! and runs this checkout's suite against them on the cases the file's scope allows
//! (`conformance/mutants/scopes.toml`; the whole suite for a file no scope names): a
//! requirement that fails kills the mutant.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::cargo_mutants_report::{CAUGHT, DOCS_DATA, covers, key};

/// The scopes file.
pub const SCOPES: &str = "conformance/mutants/scopes.toml";

/// The environment variable that names the unmutated checkout to the oracle.
pub const ORIGINAL_ENV: &str = "SBX_MUTANTS_ORIGINAL";

/// The crates whose code is mutated: the reference sandbox and the libraries it ships.
pub const PACKAGES: [&str; 6] = [
    "sbx-host",
    "sbx-runner",
    "sbx-policy",
    "sbx-contract",
    "sbx-package",
    "sbx-ipc",
];

/// Where the sandbox's sources are, from the workspace root.
const SOURCES: &str = "sandbox";

/// cargo-mutants' output directory (it writes `mutants.out/` inside).
const OUTPUT: &str = "target/cargo-mutants";

/// The version installed when none is.
const CARGO_MUTANTS_VERSION: &str = "27.1.0";

/// Cases for the mutants of some files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// Paths from the workspace root; a path ending in `/` is a directory.
    pub files: Vec<String>,
    /// The suite's filter words.
    pub cases: Vec<String>,
    /// What confines the files' effects to those cases.
    pub why: String,
}

/// Files not mutated at all.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exclude {
    /// Paths, as in [`Scope::files`].
    pub files: Vec<String>,
    /// Why the suite cannot judge them.
    pub why: String,
}

/// Files whose defects the reference as the suite runs it may hide, judged a second time by
/// a reference made otherwise: with some of its layers alone (another layer may hide what a
/// mutant lets through), or run by a host that is not root (a path only such a host takes).
/// A mutant of one that passes with every layer under a root host is run again so.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Again {
    /// Paths, as in [`Scope::files`].
    pub files: Vec<String>,
    /// The reference adapter's `--only` layers; none: every layer.
    #[serde(default)]
    pub layers: Option<String>,
    /// The uid of the host that is not root running the reference (the adapter's `--user`);
    /// none: root.
    #[serde(default)]
    pub user: Option<u32>,
    /// What the reference as the suite runs it would hide.
    pub why: String,
}

impl Again {
    /// The reference adapter's options for this run.
    pub fn adapter_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(layers) = &self.layers {
            args.extend(["--only".to_owned(), layers.clone()]);
        }
        if let Some(uid) = self.user {
            args.extend(["--user".to_owned(), uid.to_string()]);
        }
        args
    }

    /// The name of its runs (its baseline's directory under [`pristine_dir`]).
    pub fn key(&self) -> String {
        let layers = self.layers.as_deref().unwrap_or("all").replace(',', "-");
        match self.user {
            Some(uid) => format!("{layers}-as-{uid}"),
            None => layers,
        }
    }

    /// How a catch is told: `seccomp alone`, `run as uid 65534`.
    pub fn describe(&self) -> String {
        match (&self.layers, self.user) {
            (Some(layers), None) => format!("{layers} alone"),
            (None, Some(uid)) => format!("run as uid {uid}"),
            (Some(layers), Some(uid)) => format!("{layers} alone, run as uid {uid}"),
            (None, None) => "every layer".to_owned(),
        }
    }
}

/// `conformance/mutants/scopes.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scopes {
    /// Narrowed runs, by file.
    pub scope: Vec<Scope>,
    /// Files left unmutated.
    pub exclude: Exclude,
    /// The files whose mutants the score's target is about.
    pub target: crate::cargo_mutants_report::Target,
    /// Files judged a second time by a reference made otherwise.
    #[serde(default)]
    pub again: Vec<Again>,
}

impl Scopes {
    /// Parses and checks the scopes: every path exists under `root`, is under the
    /// sandbox's sources, and no file is in two scopes.
    pub fn load(root: &Path) -> Result<Scopes> {
        let path = root.join(SCOPES);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let scopes: Scopes =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let all = scopes
            .scope
            .iter()
            .flat_map(|s| &s.files)
            .chain(&scopes.exclude.files);
        let mut seen = BTreeSet::new();
        for f in all {
            if !f.starts_with(&format!("{SOURCES}/")) {
                bail!("{SCOPES}: {f} is not under {SOURCES}/");
            }
            if !root.join(f.trim_end_matches('/')).exists() {
                bail!("{SCOPES}: {f} does not exist");
            }
            if !seen.insert(f.as_str()) {
                bail!("{SCOPES}: {f} is named twice");
            }
        }
        for s in &scopes.scope {
            if s.cases.is_empty() || s.cases.iter().any(|c| c.is_empty() || c.contains(',')) {
                bail!(
                    "{SCOPES}: the scope of {:?} needs filter words without commas",
                    s.files
                );
            }
            if s.why.trim().is_empty() {
                bail!("{SCOPES}: the scope of {:?} needs a why", s.files);
            }
        }
        if !scopes.exclude.files.is_empty() && scopes.exclude.why.trim().is_empty() {
            bail!("{SCOPES}: [exclude] needs a why");
        }
        for f in &scopes.target.files {
            if !f.starts_with(&format!("{SOURCES}/"))
                || !root.join(f.trim_end_matches('/')).exists()
            {
                bail!("{SCOPES}: [target] names {f}, not a path under {SOURCES}/");
            }
        }
        if !(0.0..=100.0).contains(&scopes.target.at_least_percent) {
            bail!("{SCOPES}: [target] at_least_percent is not a percentage");
        }
        for a in &scopes.again {
            // `all` is the name of the unmutated reference's own run.
            let no_layers = a
                .layers
                .as_deref()
                .is_some_and(|l| l.trim().is_empty() || l == "all");
            if no_layers || (a.layers.is_none() && a.user.is_none()) || a.why.trim().is_empty() {
                bail!(
                    "{SCOPES}: the [[again]] of {:?} needs layers, a user or both, and a why",
                    a.files
                );
            }
            for f in &a.files {
                if !f.starts_with(&format!("{SOURCES}/")) || !root.join(f).exists() {
                    bail!("{SCOPES}: [[again]] names {f}, not a file under {SOURCES}/");
                }
            }
        }
        Ok(scopes)
    }

    /// The suite filter for mutants of `files`: the union of their scopes' words, or
    /// `None` (the whole suite) when a file is in no scope.
    pub fn filter_for(&self, files: &[String]) -> Option<String> {
        let mut words = BTreeSet::new();
        for f in files {
            let scope = self
                .scope
                .iter()
                .find(|s| s.files.iter().any(|p| covers(p, f)))?;
            words.extend(scope.cases.iter().cloned());
        }
        if words.is_empty() {
            return None;
        }
        Some(words.into_iter().collect::<Vec<_>>().join(","))
    }

    /// The runs to judge mutants of `files` again with, in order: those of every
    /// [`Again`] that holds all of them.
    pub fn again_for(&self, files: &[String]) -> Vec<&Again> {
        self.again
            .iter()
            .filter(|a| {
                !files.is_empty() && files.iter().all(|f| a.files.iter().any(|p| covers(p, f)))
            })
            .collect()
    }

    /// The runs the files a run mutates may be judged again with, one per
    /// [`Again::key`]: those of every [`Again`] with a file under one of cargo-mutants'
    /// `--file` globs (`globs`), or all of them when the run names no file.
    pub fn baselines_for(&self, globs: &[&str]) -> Vec<&Again> {
        let overlaps = |path: &str, glob: &str| {
            let prefix = glob.trim_end_matches("**");
            path.starts_with(prefix) || prefix.starts_with(path)
        };
        let mut keys = BTreeSet::new();
        self.again
            .iter()
            .filter(|a| {
                globs.is_empty() || a.files.iter().any(|p| globs.iter().any(|g| overlaps(p, g)))
            })
            .filter(|a| keys.insert(a.key()))
            .collect()
    }
}

/// Where the unmutated reference's run named `key` (`all`, or an [`Again::key`]) is kept,
/// under the checkout `root`.
pub fn pristine_dir(root: &Path, key: &str) -> PathBuf {
    root.join(OUTPUT).join(format!("pristine-{key}"))
}

/// The Rust files under `dir` (build output, `target/`, aside), sorted.
pub fn rust_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "target") {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The Rust files under `sources` of `copy` whose text differs from `original`'s, as
/// paths from the root: the mutant's file.
pub fn changed_sources(copy: &Path, original: &Path) -> Result<Vec<String>> {
    let files = rust_files(&copy.join(SOURCES))
        .with_context(|| format!("listing {}", copy.join(SOURCES).display()))?;
    let mut changed = Vec::new();
    for path in files {
        let rel = path
            .strip_prefix(copy)
            .context("a source outside the copy")?;
        let mine = std::fs::read(&path)?;
        let theirs = std::fs::read(original.join(rel)).unwrap_or_default();
        if mine != theirs {
            changed.push(rel.to_string_lossy().into_owned());
        }
    }
    Ok(changed)
}

/// `cargo xtask mutant-oracle`, run by the oracle test inside cargo-mutants' copy: the
/// sandbox built from this (mutated) tree, judged by the unmutated checkout's suite (its
/// harness and plugins: a mutant of `sbx-package` must not change how the harness signs
/// its packages) on the cases of the mutated file's scope. Fails when a requirement fails.
pub fn oracle() -> Result<()> {
    let here = std::env::current_dir()?;
    let original = std::env::var_os(ORIGINAL_ENV)
        .map(PathBuf::from)
        .with_context(|| format!("{ORIGINAL_ENV} must name the unmutated checkout"))?;
    let scopes = Scopes::load(&original)?;
    let changed = changed_sources(&here, &original)?;
    let target = target_dir(&here);
    if !crate::mutants::build(&here, &target)? {
        bail!("the mutated sandbox does not build");
    }
    let filter = scopes.filter_for(&changed);
    eprintln!(
        "mutant-oracle: {} changed; {}",
        if changed.is_empty() {
            "nothing".to_owned()
        } else {
            changed.join(", ")
        },
        filter
            .as_deref()
            .map_or_else(|| "the whole suite".to_owned(), |f| format!("cases: {f}"))
    );
    let adapter = target.join("debug/sbx-adapter");
    let work = target.join("mutant-oracle");
    let oracle = Oracle {
        original: &original,
        adapter: &adapter,
        work: &work,
        filter: filter.as_deref(),
    };
    let failed = oracle.reproduced_failures(None, &Default::default())?;
    if !failed.is_empty() {
        bail!("{CAUGHT}{}", failed.join(", "));
    }
    // The reference as the suite runs it may hide the defect: another layer, or a path
    // only a host that is not root takes. Each run against the unmutated reference made
    // the same way.
    for again in scopes.again_for(&changed) {
        let how = again.describe();
        eprintln!("mutant-oracle: no requirement failed twice; again, {how}");
        let pristine = pristine_dir(&original, &again.key()).join("results.json");
        // By requirement and case: a requirement the baseline fails through one case still
        // catches the mutant through another.
        let baseline = failing_pairs(&pristine)
            .with_context(|| format!("the unmutated reference, {how}, was not judged first"))?;
        let failed: Vec<String> = oracle
            .reproduced_failures(Some(again), &baseline)?
            .into_iter()
            .map(|r| format!("{r} ({how})"))
            .collect();
        if !failed.is_empty() {
            bail!("{CAUGHT}{}", failed.join(", "));
        }
    }
    eprintln!("mutant-oracle: no requirement failed twice");
    Ok(())
}

/// The unmutated checkout's suite, pointed at a mutated tree's adapter on a scope's cases.
struct Oracle<'a> {
    original: &'a Path,
    adapter: &'a Path,
    work: &'a Path,
    filter: Option<&'a str>,
}

impl Oracle<'_> {
    /// The requirements that fail (beyond `baseline`'s requirement and case pairs) with the
    /// reference made as `again` says (none: as the suite runs it), and fail again when
    /// their failing cases run a second time. A case that fails once, by the machine's load
    /// rather than by the mutant, must not kill it: the score would claim a catch the suite
    /// cannot repeat.
    ///
    /// With every layer the suite stops at its first failure (`--fail-fast`, see
    /// [`judge_with`]); when that one is not repeated, the whole suite runs, so that a
    /// failure of the machine's does not hide the mutant's own.
    fn reproduced_failures(
        &self,
        again: Option<&Again>,
        baseline: &BTreeSet<(String, String)>,
    ) -> Result<Vec<String>> {
        let args = again.map(Again::adapter_args).unwrap_or_default();
        let judge = |filter: Option<&str>, fail_fast: bool| {
            judge_with(
                self.original,
                self.adapter,
                self.work,
                filter,
                &args,
                fail_fast,
            )
            .and_then(|results| failing_pairs(&results))
            .map(|pairs| &pairs - baseline)
        };
        let modes: &[bool] = if again.is_none() {
            &[true, false]
        } else {
            &[false]
        };
        for &fail_fast in modes {
            let first = judge(self.filter, fail_fast)?;
            if first.is_empty() {
                // Nothing failed, so nothing stopped the run: the whole scope passed.
                return Ok(Vec::new());
            }
            let cases: BTreeSet<&str> = first.iter().map(|(_, case)| case.as_str()).collect();
            eprintln!(
                "mutant-oracle: {} failed; their cases once more",
                requirements_of(&first).join(", ")
            );
            // Filter words match case names as substrings: a word may run a case more,
            // never fewer.
            let again = judge(
                Some(&cases.into_iter().collect::<Vec<_>>().join(",")),
                false,
            )?;
            let both: BTreeSet<(String, String)> = first.intersection(&again).cloned().collect();
            if both.len() < first.len() {
                eprintln!(
                    "mutant-oracle: not repeated, so not counted: {}",
                    (&first - &again)
                        .iter()
                        .map(|(r, c)| format!("{r} ({c})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            if !both.is_empty() {
                return Ok(requirements_of(&both));
            }
        }
        Ok(Vec::new())
    }
}

/// The requirements of some (requirement, case) pairs, each once, in order.
fn requirements_of(pairs: &BTreeSet<(String, String)>) -> Vec<String> {
    let ids: BTreeSet<&str> = pairs.iter().map(|(r, _)| r.as_str()).collect();
    ids.into_iter().map(str::to_owned).collect()
}

/// Runs the unmutated checkout's suite (its harness and plugins: a mutant of `sbx-package`
/// must not change how the harness signs its packages) against `adapter` (its reference
/// with the options `args`), on the cases of `filter`; where its results are.
fn judge_with(
    original: &Path,
    adapter: &Path,
    work: &Path,
    filter: Option<&str>,
    args: &[String],
    fail_fast: bool,
) -> Result<PathBuf> {
    std::fs::create_dir_all(work)?;
    // The suite names a sandbox given by path after the file.
    let wrapper = work.join("cargo-mutant");
    crate::mutants::write_wrapper_with(&wrapper, adapter, args)?;
    let results = work.join("results/results.json");
    let _ = std::fs::remove_file(&results);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut suite = Command::new(&cargo);
    suite
        .arg("run")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(original.join("Cargo.toml"))
        .args(["-p", "xtask", "--", "conformance", "--jobs", "2", "--sut"])
        .arg(&wrapper)
        .arg("--out")
        .arg(work.join("results"))
        // The mutated adapter finds the runner built beside it.
        .env_remove("SBX_RUNNER")
        .env_remove("CARGO_TARGET_DIR");
    if let Some(filter) = filter {
        suite.args(["--filter", filter]);
    }
    // With every layer the unmutated reference fails nothing, so the first failure is the
    // mutant's: the rest of the suite need not run. Made otherwise the reference may fail
    // some (what the other layers provide, what a host that is not root lacks), and every
    // case must run to be set against that baseline.
    if fail_fast {
        suite.arg("--fail-fast");
    }
    // As the suite runs the reference, the mutated one is held to the reactions the
    // plugins' metadata expect of it (the refused call a filter's end names, a refusal's
    // cause): a mutant that changes them fails the project's own certification of the
    // reference. Not with layers relaxed or as another user, where those reactions differ.
    if args.is_empty() {
        suite.arg("--reference-build");
    }
    // The exit status would also count the requirements a scoped run skips: the verdicts
    // decide. A requirement that fails (or errs) catches the mutant.
    let status = suite.status().context("running the checkout's suite")?;
    if !results.is_file() {
        bail!("the suite's run wrote no results ({status})");
    }
    Ok(results)
}

/// The (requirement, case) pairs of a run's results in which a failing or erring
/// requirement (gaps aside) has a failing or erring case: one of its own, or any case with
/// a harm that `conformance/harms.toml` says breaks it wherever it is seen.
fn failing_pairs(results: &Path) -> Result<BTreeSet<(String, String)>> {
    let catalog = sbx_conformance::catalog::parse(sbx_conformance::catalog::CATALOG)?;
    let harms = sbx_conformance::harms::HarmMap::parse(sbx_conformance::harms::HARMS, &catalog)?;
    let run = crate::read_run(results)?;
    let sut = run.suts.first().context("the run has no sandbox")?;
    Ok(pairs_failing(sut, &harms))
}

/// [`failing_pairs`] of one sandbox's results.
fn pairs_failing(
    sut: &sbx_harness::model::SutResult,
    harms: &sbx_conformance::harms::HarmMap,
) -> BTreeSet<(String, String)> {
    use sbx_harness::model::Verdict;
    let bad = |v: Verdict| matches!(v, Verdict::Fail | Verdict::Error);
    let mut pairs = BTreeSet::new();
    for r in sut.requirements.iter().filter(|r| bad(r.verdict) && !r.gap) {
        for c in sut.cases.iter().filter(|c| bad(c.verdict)) {
            let its_own = r.cases.contains(&c.case);
            let breaks_it = c
                .harm
                .iter()
                .any(|h| harms.named(h.kind).any(|id| id == r.id));
            if its_own || breaks_it {
                pairs.insert((r.id.clone(), c.case.clone()));
            }
        }
    }
    pairs
}

/// The requirements a run's results fail or err on (gaps aside): what catches a mutant,
/// and what the unmutated reference must show none of.
fn failing_requirements(results: &Path) -> Result<Vec<String>> {
    use sbx_harness::model::Verdict;
    let run = crate::read_run(results)?;
    Ok(
        crate::mutants::requirements_judged(&run, &[Verdict::Fail, Verdict::Error])?
            .into_iter()
            .collect(),
    )
}

/// `cargo xtask mutants --cargo-mutants [--docs] [--results DIR | [--unjudged] ARGS]`: runs
/// cargo-mutants with ARGS (`--in-diff FILE`, `--shard K/N`, `--file F`, ...; with
/// `--unjudged`, only those the committed report has not judged), or reads the
/// output of an earlier run (`--results DIR`, a `mutants.out`), prints the score and the
/// survivors, and with `--docs` merges the run into the committed report. `--render`
/// renders the committed report again (after `survivors.toml` or `scopes.toml` changed,
/// or code moved: the rows of mutants the checkout no longer has are dropped).
pub fn run(args: &[String]) -> Result<()> {
    let root = std::env::current_dir()?;
    let scopes = Scopes::load(&root)?;
    let survivors = crate::cargo_mutants_report::survivors(&root)?;
    let mut docs = false;
    let mut render = false;
    let mut unjudged = false;
    let mut results = None;
    let mut extra = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--docs" => docs = true,
            "--render" => render = true,
            "--unjudged" => unjudged = true,
            "--results" => {
                results = Some(PathBuf::from(
                    it.next().context("--results needs a directory")?,
                ))
            }
            // cargo-mutants reads --file as a glob, so a directory alone matches no file and
            // the run would quietly test nothing of it: a directory means everything under it.
            "--file" | "-f" => {
                let path = it.next().with_context(|| format!("{a} needs a path"))?;
                extra.push(a.clone());
                extra.push(file_glob(path));
            }
            _ => extra.push(a.clone()),
        }
    }
    if render {
        // The committed report again, under this checkout's survivors, scopes and mutants:
        // after a judgement changed, or code moved.
        if results.is_some() || unjudged || !extra.is_empty() {
            bail!("--render re-renders the committed report; it takes no other argument");
        }
        let current = current_mutants(&root, &scopes)?;
        return crate::cargo_mutants_report::write_docs(
            &root,
            &Default::default(),
            &current,
            &survivors,
            &scopes.target,
        );
    }
    let out = match results {
        Some(dir) => {
            if unjudged || !extra.is_empty() {
                bail!("--results reads a run; it takes no cargo-mutants arguments ({extra:?})");
            }
            dir
        }
        None if unjudged => {
            let Some(narrowed) = unjudged_only(&root, &scopes, &extra)? else {
                println!("every mutant {extra:?} selects is judged in {DOCS_DATA} already");
                return Ok(());
            };
            run_cargo_mutants(&root, &scopes, &narrowed)?
        }
        None => run_cargo_mutants(&root, &scopes, &extra)?,
    };
    // Inside the lists (cargo-mutants renames an older run's lists with them).
    let judged_at = std::fs::read_to_string(out.join(crate::cargo_mutants_report::JUDGED_AT))
        .map(|s| s.trim().to_owned())
        .with_context(|| {
            format!(
                "{} names no commit (no {} in it)",
                out.display(),
                crate::cargo_mutants_report::JUDGED_AT
            )
        })?;
    let rows = crate::cargo_mutants_report::read_run(&out, &judged_at)?;
    if rows.is_empty() {
        bail!("{} holds no judged mutant", out.display());
    }
    crate::cargo_mutants_report::print(&rows, &survivors, &scopes.target);
    println!("lists: {}", out.display());
    if docs {
        let current = current_mutants(&root, &scopes)?;
        crate::cargo_mutants_report::write_docs(
            &root,
            &rows,
            &current,
            &survivors,
            &scopes.target,
        )?;
    }
    Ok(())
}

/// The arguments that select, of the mutants `extra` selects (`--file`, `--re`, `--shard`,
/// ...), those the committed report has not judged: each named by an anchored `--re`.
/// `None` when it has judged them all. A run that stopped part way (a night's budget, a
/// session's) goes on from where its `--docs` left off. A mutant counts as judged when a
/// row of the report has its key (file and mutation, not the line: code moves).
fn unjudged_only(root: &Path, scopes: &Scopes, extra: &[String]) -> Result<Option<Vec<String>>> {
    let report = crate::cargo_mutants_report::read_docs(root)?
        .with_context(|| format!("--unjudged needs the committed report, {DOCS_DATA}"))?;
    let judged: BTreeSet<String> = report.keys().map(|n| key(n)).collect();
    let selected = listed(root, scopes, extra)?;
    let unjudged: Vec<&String> = selected
        .iter()
        .filter(|name| !judged.contains(&key(name)))
        .collect();
    eprintln!(
        "xtask: {} of the {} mutants selected are not judged in {DOCS_DATA}",
        unjudged.len(),
        selected.len()
    );
    if unjudged.is_empty() {
        return Ok(None);
    }
    // The selection is made: what narrowed it (patterns, a shard) would narrow the list of
    // names again. The files and exclusions stay, so cargo-mutants reads no other file.
    let mut narrowed = Vec::new();
    let mut it = extra.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--re" | "-F" | "--exclude-re" | "-E" | "--shard" | "--sharding" => {
                it.next();
            }
            _ if ["--re=", "--exclude-re=", "--shard=", "--sharding="]
                .iter()
                .any(|p| a.starts_with(p)) => {}
            _ => narrowed.push(a.clone()),
        }
    }
    for name in unjudged {
        narrowed.push("--re".into());
        narrowed.push(format!("^{}$", regex_syntax::escape(name)));
    }
    Ok(Some(narrowed))
}

/// A `--file` argument as cargo-mutants' glob: a directory (`sandbox/runner/src/`, or one
/// that exists without the slash) stands for every file under it.
fn file_glob(path: &str) -> String {
    if path.ends_with('/') {
        format!("{path}**")
    } else if Path::new(path).is_dir() {
        format!("{path}/**")
    } else {
        path.to_owned()
    }
}

/// Runs cargo-mutants with `extra`; the output directory (`mutants.out`), with the commit
/// it judged written beside it.
fn run_cargo_mutants(root: &Path, scopes: &Scopes, extra: &[String]) -> Result<PathBuf> {
    ensure_installed()?;
    // A mutant is caught when a requirement fails: only meaningful where the unmutated
    // reference passes them all on this machine.
    eprintln!("xtask: the unmutated reference first");
    // Judged by the oracle's rule (any requirement that fails or errs, SHOULDs too), not
    // by the exit status.
    // Every earlier baseline goes first: a mutant whose layer set this run does not
    // measure (its file reached by a glob the selection below does not read) must find
    // none, and fail loudly, rather than be judged against another commit's.
    if let Ok(entries) = std::fs::read_dir(root.join(OUTPUT)) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with("pristine-") {
                let _ = std::fs::remove_file(entry.path().join("results.json"));
            }
        }
    }
    let pristine_out = pristine_dir(root, "all");
    let _ = Command::new(std::env::current_exe()?)
        .args(["conformance", "--jobs", "2", "--out"])
        .arg(&pristine_out)
        .stdout(std::process::Stdio::null())
        .status()
        .context("running the suite against the unmutated reference")?;
    let failed = failing_requirements(&pristine_out.join("results.json"))?;
    if !failed.is_empty() {
        bail!(
            "the unmutated reference fails {} on this machine: no mutant can be judged; see {}",
            failed.join(", "),
            pristine_out.join("summary.txt").display()
        );
    }
    // Made otherwise (a layer alone, a host that is not root) the reference may fail what
    // the others provide or that host lacks: the oracle counts only failures beyond these.
    // Only the runs the selected files are judged again with: each is a whole run.
    let globs: Vec<&str> = extra
        .windows(2)
        .filter(|w| w[0] == "--file" || w[0] == "-f")
        .map(|w| w[1].as_str())
        .collect();
    for again in scopes.baselines_for(&globs) {
        let how = again.describe();
        eprintln!("xtask: the unmutated reference, {how}");
        let out = pristine_dir(root, &again.key());
        let wrapper = root.join(OUTPUT).join(format!("reference-{}", again.key()));
        crate::mutants::write_wrapper_with(
            &wrapper,
            &target_dir(root).join("debug/sbx-adapter"),
            &again.adapter_args(),
        )?;
        let _ = std::fs::remove_file(out.join("results.json"));
        let _ = Command::new(std::env::current_exe()?)
            .args(["conformance", "--jobs", "2", "--sut"])
            .arg(&wrapper)
            .arg("--out")
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .status()
            .with_context(|| format!("running the suite against the reference, {how}"))?;
        failing_requirements(&out.join("results.json"))?;
    }
    let mut cmd = cargo_mutants(scopes);
    cmd.args([
        "--test-package",
        "xtask",
        "--output",
        OUTPUT,
        "--no-shuffle",
    ])
    // The oracle runs the suite on two cores; two mutants at once would share them.
    .args(["--jobs", "1"])
    // cargo-mutants' own baseline runs the mutated packages' tests, not the oracle's (the
    // unmutated reference was judged above), and without it a timeout must be given: a
    // build and the whole suite take some three minutes.
    .args(["--baseline", "skip", "--timeout", "900"])
    .args(extra)
    .args([
        "--",
        "--test",
        "mutant_oracle",
        "--",
        "--include-ignored",
        "--nocapture",
    ])
    .env(ORIGINAL_ENV, root);
    eprintln!("xtask: {cmd:?}");
    let commit = crate::mutants::workspace_commit().unwrap_or_else(|| "unknown".into());
    let status = cmd.status().context("running cargo mutants")?;
    let out = root.join(OUTPUT).join("mutants.out");
    if out.is_dir() {
        std::fs::write(
            out.join(crate::cargo_mutants_report::JUDGED_AT),
            format!("{commit}\n"),
        )?;
    }
    // cargo-mutants exits 2 when some mutant survived, 3 on timeouts: both are the report's
    // to show, not a failure of the tool.
    match status.code() {
        Some(0 | 2 | 3) => Ok(out),
        _ => bail!("cargo mutants failed ({status})"),
    }
}

/// Where cargo builds the checkout at `root`: `CARGO_TARGET_DIR`, or its `target/`.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// `cargo mutants` over the sandbox's packages, without the excluded files.
fn cargo_mutants(scopes: &Scopes) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.arg("mutants");
    for p in PACKAGES {
        cmd.args(["--package", p]);
    }
    for f in &scopes.exclude.files {
        let glob = match f.strip_suffix('/') {
            Some(dir) => format!("{dir}/**"),
            None => f.clone(),
        };
        cmd.args(["--exclude", &glob]);
    }
    cmd
}

/// The names of every mutant cargo-mutants makes of this checkout: the committed report
/// drops rows of mutants the code no longer has.
fn current_mutants(root: &Path, scopes: &Scopes) -> Result<Vec<String>> {
    listed(root, scopes, &[])
}

/// The names of the mutants cargo-mutants makes of this checkout with `extra`, as its
/// `--list` prints them.
fn listed(root: &Path, scopes: &Scopes, extra: &[String]) -> Result<Vec<String>> {
    ensure_installed()?;
    let out = cargo_mutants(scopes)
        .arg("--list")
        .args(extra)
        .current_dir(root)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running cargo mutants --list")?;
    if !out.status.success() {
        bail!("cargo mutants --list failed ({})", out.status);
    }
    let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    if names.is_empty() {
        bail!("cargo mutants --list {extra:?} named no mutant");
    }
    Ok(names)
}

fn ensure_installed() -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let present = Command::new(&cargo)
        .args(["mutants", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return Ok(());
    }
    eprintln!("xtask: installing cargo-mutants {CARGO_MUTANTS_VERSION} from crates.io");
    let status = Command::new(&cargo)
        .args([
            "install",
            "--locked",
            "cargo-mutants",
            "--version",
            CARGO_MUTANTS_VERSION,
        ])
        .status()
        .context("running cargo install")?;
    if !status.success() {
        bail!("cargo install cargo-mutants failed ({status})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes() -> Scopes {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("root");
        Scopes::load(root).expect("the scopes file is valid")
    }

    #[test]
    fn a_file_in_a_scope_narrows_the_run_and_any_other_widens_it() {
        let s = scopes();
        let narrowed = s
            .filter_for(&["sandbox/package/src/trust.rs".into()])
            .expect("a scope");
        assert!(narrowed.split(',').any(|w| w == "sign_"), "{narrowed}");
        // A file of no scope: the whole suite, even beside a scoped one.
        assert_eq!(
            s.filter_for(&[
                "sandbox/package/src/trust.rs".into(),
                "sandbox/host/src/supervisor.rs".into()
            ]),
            None
        );
        // Nothing changed (the baseline run): the whole suite.
        assert_eq!(s.filter_for(&[]), None);
    }

    #[test]
    fn a_filter_file_is_judged_again_with_its_layer_alone() {
        let s = scopes();
        let seccomp = s.again_for(&["sandbox/policy/src/seccomp.rs".into()]);
        assert_eq!(seccomp.len(), 1);
        assert_eq!(seccomp[0].layers.as_deref(), Some("seccomp"));
        assert_eq!(seccomp[0].describe(), "seccomp alone");
        assert!(
            s.again_for(&["sandbox/host/src/broker.rs".into()])
                .is_empty()
        );
        assert!(s.again_for(&[]).is_empty());
        // The runner's confinement: with the host's descriptor closing relaxed, then run by
        // a host that is not root.
        let confine = s.again_for(&["sandbox/runner/src/confine.rs".into()]);
        let keys: Vec<String> = confine.iter().map(|a| a.key()).collect();
        assert_eq!(keys.len(), 3, "{keys:?}");
        assert!(keys[0].ends_with("runner-descriptor-close"), "{keys:?}");
        assert_eq!(keys[1], "all-as-65534");
        assert_eq!(confine[1].adapter_args(), ["--user", "65534"]);
        assert_eq!(confine[1].describe(), "run as uid 65534");
        assert!(keys[2].ends_with("no-new-privs-as-65534"), "{keys:?}");
        assert_eq!(confine[2].adapter_args()[2..], ["--user", "65534"]);
        // A run's baselines: one per way the files it mutates are judged again, all without
        // a file.
        let runner = s.baselines_for(&["sandbox/runner/src/**"]);
        assert_eq!(runner.len(), 4, "{runner:?}");
        // The root's mounts: with no_new_privs and the filter (which sets it) relaxed.
        let root = s.again_for(&["sandbox/runner/src/root.rs".into()]);
        assert_eq!(root.len(), 1);
        let layers = root[0].layers.as_deref().unwrap_or_default();
        assert!(!layers.contains("no-new-privs") && !layers.contains("seccomp"));
        assert!(s.baselines_for(&["sandbox/host/src/broker.rs"]).is_empty());
        assert_eq!(s.baselines_for(&[]).len(), {
            let keys: BTreeSet<String> = s.again.iter().map(Again::key).collect();
            keys.len()
        });
        assert_eq!(
            pristine_dir(Path::new("/r"), "seccomp-landlock"),
            Path::new("/r/target/cargo-mutants/pristine-seccomp-landlock")
        );
    }

    #[test]
    fn a_requirement_fails_through_its_own_cases_and_through_harm_that_breaks_it() {
        let catalog = sbx_conformance::catalog::parse(sbx_conformance::catalog::CATALOG)
            .expect("the catalog parses");
        let harms = sbx_conformance::harms::HarmMap::parse(sbx_conformance::harms::HARMS, &catalog)
            .expect("the harm map parses");
        let case = |name: &str, verdict: &str, harm: &str| {
            let harm = if harm.is_empty() {
                serde_json::json!([])
            } else {
                serde_json::json!([{ "kind": harm, "detail": "seen" }])
            };
            serde_json::json!({
                "case": name, "verdict": verdict, "reason": "", "harm": harm,
                "outcome": { "kind": "survived", "status": 0 }, "expected": null,
                "expectation_met": null, "protocol_errors": [], "notes": [],
                "measured": { "wall_ms": 0, "cpu_ms": 0, "peak_rss_kib": 0,
                              "stdout_bytes": 0, "stderr_bytes": 0 },
                "waived": null
            })
        };
        let requirement = |id: &str, verdict: &str, cases: &[&str]| {
            serde_json::json!({
                "id": id, "title": "", "rfc": "MUST", "level": 1, "verdict": verdict, "gap": false,
                "cases": cases, "reason": "", "waived": null
            })
        };
        let sut: sbx_harness::model::SutResult = serde_json::from_value(serde_json::json!({
            "sut": { "name": "reference", "role": "candidate", "adapter": "", "features": [],
                     "binaries": [] },
            "self_test": [],
            "certified_level": 0,
            "held_back_by": [],
            "requirements": [
                requirement("RES-013", "fail", &["hog"]),
                requirement("PROC-003", "fail", &["bomb"]),
                requirement("PROC-004", "pass", &["tracer"]),
            ],
            "cases": [
                case("hog", "fail", "threads_beyond_policy"),
                case("bomb", "pass", ""),
                case("tracer", "fail", "threads_beyond_policy"),
            ],
        }))
        .expect("a sandbox's results");
        let pairs: Vec<(String, String)> = pairs_failing(&sut, &harms).into_iter().collect();
        // PROC-003 fails through a case of another requirement, by the harm that breaks it;
        // a passing requirement is no pair, whatever its cases saw.
        assert_eq!(
            pairs,
            [
                ("PROC-003", "hog"),
                ("PROC-003", "tracer"),
                ("RES-013", "hog")
            ]
            .map(|(r, c)| (r.to_owned(), c.to_owned()))
        );
    }

    #[test]
    fn a_directory_given_to_file_means_every_file_under_it() {
        assert_eq!(file_glob("sandbox/runner/src/"), "sandbox/runner/src/**");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("root");
        let dir = root.join("sandbox/runner/src");
        assert_eq!(
            file_glob(dir.to_str().expect("utf-8")),
            format!("{}/**", dir.display())
        );
        assert_eq!(
            file_glob("sandbox/host/src/broker.rs"),
            "sandbox/host/src/broker.rs"
        );
    }

    #[test]
    fn the_changed_file_is_found_by_its_text() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let (a, b) = (dir.join("a"), dir.join("b"));
        for t in [&a, &b] {
            std::fs::create_dir_all(t.join("sandbox/host/src")).expect("dirs");
            std::fs::write(t.join("sandbox/host/src/x.rs"), "fn x() {}").expect("x");
            std::fs::write(t.join("sandbox/host/src/y.rs"), "fn y() {}").expect("y");
        }
        std::fs::write(b.join("sandbox/host/src/y.rs"), "fn y() { loop {} }").expect("mutant");
        assert_eq!(
            changed_sources(&b, &a).expect("compared"),
            ["sandbox/host/src/y.rs"]
        );
    }
}
