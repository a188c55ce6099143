//! `cargo xtask mutants`: mutation analysis of the suite itself.
//!
//! A hand-written mutant is one realistic defect of the reference sandbox (a flag in a filter
//! rule, a path too many, a prefix match), kept as a patch in `conformance/mutants/` with the
//! seed sentence it breaks and the harm it opens. Each is applied to a copy of the workspace,
//! its adapter and runner are built there, and the conformance suite of this checkout (its
//! harness and plugins, unmutated) runs against it as against any candidate sandbox: no
//! expectation of the reference, only what the harness observes. A mutant is caught when a
//! requirement fails; one that nothing catches is a gap in the suite.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use sbx_harness::model::{RunResult, Verdict};
use serde::Deserialize;

const CATALOGUE: &str = "conformance/mutants/catalogue.toml";
const WORK: &str = "target/mutants";

const USAGE: &str = "\
usage: cargo xtask mutants [options]

Applies each hand-written mutant of conformance/mutants/ to a copy of the workspace, builds
its sandbox and runs the conformance suite against it; a mutant no requirement fails is a
survivor. Writes target/mutants/report.md and report.json.

    --filter TEXT   only mutants whose name contains TEXT (or one of TEXT,TEXT,...)
    --check         only check that every patch still applies (no build, no run)
    --jobs N        cases run in parallel by the suite (default: number of CPUs)
    --docs          also update docs/mutation-report.md and .json: the rows of the mutants
                    run, each with the commit it was judged at (the others are kept)
    --list          print the catalogue and exit
    --report FILE   render the report of an earlier run (its report.json) without running

cargo xtask mutants --cargo-mutants [ARGS]: cargo-mutants over the sandbox's crates instead,
the suite as the oracle; ARGS go to cargo mutants (--in-diff FILE, --shard K/N, --file F);
--unjudged keeps only the mutants the committed report has not judged.
";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Catalogue {
    mutant: Vec<Mutant>,
}

/// One hand-written mutant.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Mutant {
    /// Stable name; the patch is `<name>.patch`.
    name: String,
    /// What part of the sandbox it changes (policy data, broker, supervisor, ...).
    area: String,
    /// The seed sentence it breaks.
    breaks: String,
    /// The harm it opens to a plugin.
    opens: String,
    /// For a defect that another layer covers (defence in depth): the containment layers
    /// the suite runs the mutant with, every other one relaxed (`sbx-adapter reference
    /// --only`). It is caught when a requirement fails that the unmutated reference with
    /// the same layers alone passes.
    #[serde(default)]
    isolate: Option<String>,
    /// The requirements it must fail and no others: a defect judged precisely (a leaked
    /// descriptor fails descriptor hygiene, not every requirement whose case saw it).
    #[serde(default)]
    fails_exactly: Option<BTreeSet<String>>,
    /// For a defect seen only as a reaction that differs from the reference's (what its
    /// refusal or its end names): the mutated reference is held to the reactions the
    /// plugins' metadata expect of the reference, as the suite holds the reference itself
    /// (`cargo xtask conformance --reference-build`). Not with `isolate`.
    #[serde(default)]
    reference_reactions: bool,
    /// For a defect of the low-latency mode's rings: the mutated reference runs in that mode
    /// (`sbx-adapter reference --low-latency`), and so does the unmutated one it is compared
    /// with.
    #[serde(default)]
    low_latency: bool,
}

/// How a mutant fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    /// A requirement failed.
    Caught,
    /// None failed, but some cases could not run, and the mutant certifies at a lower level
    /// than the unmutated reference on this machine.
    NoCertificate,
    /// Every requirement passed: a gap in the suite.
    Survived,
    /// Caught, but not by exactly the requirements the catalogue says it breaks.
    Imprecise,
    /// No case passed: the patch breaks the sandbox outright.
    Invalid,
    /// The patch no longer applies.
    StalePatch,
    /// The mutated sandbox does not compile.
    BuildFailed,
    /// The suite wrote no results.
    NoResult,
    /// `--check`: the patch applies.
    Applies,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Caught => "caught",
            Status::NoCertificate => "no_certificate",
            Status::Survived => "survived",
            Status::Imprecise => "imprecise",
            Status::Invalid => "invalid",
            Status::StalePatch => "stale_patch",
            Status::BuildFailed => "build_failed",
            Status::NoResult => "no_result",
            Status::Applies => "applies",
        }
    }

    /// The suite did its job on this mutant (or, with `--check`, the patch is usable).
    fn is_good(self) -> bool {
        matches!(
            self,
            Status::Caught | Status::NoCertificate | Status::Applies
        )
    }
}

/// What the unmutated reference showed on this machine, with some layers.
struct Pristine {
    /// Requirements it failed: not a mutant's doing.
    failed: BTreeSet<String>,
    certified_level: u8,
}

/// What one mutant's run showed.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
struct Outcome {
    name: String,
    area: String,
    opens: String,
    status: Status,
    /// Requirements that failed and that the unmutated reference, with the same layers,
    /// passes on this machine.
    failed: Vec<String>,
    /// The layers it ran with alone, if any.
    isolate: Option<String>,
    /// It ran in the low-latency mode.
    #[serde(default)]
    low_latency: bool,
    certified_level: Option<u8>,
    seconds: u64,
    /// The commit of the workspace it was judged at (`+` when the tree had changes).
    #[serde(default)]
    commit: Option<String>,
}

/// The committed report: its Markdown, and its data, which `cargo xtask conformance --docs`
/// reads for the matrix's "caught by".
pub const DOCS_REPORT: &str = "docs/mutation-report.md";
pub const DOCS_DATA: &str = "docs/mutation-report.json";

pub fn mutants(args: &[String]) -> Result<()> {
    let mut filter = None;
    let mut check_only = false;
    let mut jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut docs = false;
    let mut list = false;
    let mut report_from: Option<PathBuf> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--filter" => filter = Some(it.next().context("--filter needs a value")?.clone()),
            "--check" => check_only = true,
            "--report" => {
                report_from = Some(PathBuf::from(it.next().context("--report needs a file")?))
            }
            "--jobs" => {
                jobs = it
                    .next()
                    .context("--jobs needs a value")?
                    .parse()
                    .context("--jobs: not a number")?;
                if jobs == 0 {
                    bail!("--jobs must be at least 1");
                }
            }
            "--docs" => docs = true,
            "--list" => list = true,
            "--help" | "-h" => {
                print!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown mutants option `{other}`\n\n{USAGE}"),
        }
    }
    let catalogue = load_catalogue(&std::env::current_dir()?)?;
    let chosen: Vec<&Mutant> = catalogue
        .mutant
        .iter()
        .filter(|m| {
            filter
                .as_deref()
                .is_none_or(|f| f.split(',').any(|f| m.name.contains(f)))
        })
        .collect();
    if chosen.is_empty() {
        bail!("no mutant matches the filter");
    }
    if docs && check_only {
        bail!("--docs records judged mutants; --check judges none");
    }
    if list {
        for m in &chosen {
            println!("{:40} {:28} {}", m.name, m.area, m.opens);
        }
        return Ok(());
    }
    let work = std::env::current_dir()?.join(WORK);
    let outcomes = match &report_from {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))?
        }
        None => run_all(&chosen, &work, jobs, check_only)?,
    };
    let report = render(&catalogue, &outcomes, check_only);
    std::fs::create_dir_all(&work)?;
    std::fs::write(work.join("report.md"), &report)?;
    std::fs::write(
        work.join("report.json"),
        serde_json::to_string_pretty(&outcomes)?,
    )?;
    if docs {
        // A run of some mutants updates their rows and keeps the others' (each row names
        // the commit it was judged at); mutants no longer in the catalogue are dropped.
        let mut all = read_docs_data(Path::new(DOCS_DATA))?;
        all.retain(|o| catalogue.mutant.iter().any(|m| m.name == o.name));
        // Only judged mutants replace a row (a report of `--check` judged none).
        let judged: Vec<&Outcome> = outcomes
            .iter()
            .filter(|o| o.status != Status::Applies)
            .collect();
        for o in &judged {
            all.retain(|kept| kept.name != o.name);
        }
        all.extend(judged.into_iter().cloned());
        all.sort_by_key(|o| catalogue.mutant.iter().position(|m| m.name == o.name));
        std::fs::write(DOCS_REPORT, render(&catalogue, &all, false))?;
        std::fs::write(DOCS_DATA, serde_json::to_string_pretty(&all)? + "\n")?;
    }
    print!("{report}");
    let bad: Vec<_> = outcomes
        .iter()
        .filter(|o| !o.status.is_good())
        .map(|o| format!("{} ({})", o.name, o.status.as_str()))
        .collect();
    if !bad.is_empty() {
        bail!("{} mutant(s) not caught: {}", bad.len(), bad.join(", "));
    }
    Ok(())
}

/// The committed outcomes; none when the file does not exist yet.
fn read_docs_data(path: &Path) -> Result<Vec<Outcome>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Requirement id → the hand-written mutants that fail it, from the committed report.
/// Missing file: an error (the matrix would otherwise silently lose the column's proof).
pub fn caught_by_requirement(
    path: &Path,
) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
    if !path.is_file() {
        bail!(
            "{} is missing: run `cargo xtask mutants --docs` first",
            path.display()
        );
    }
    let mut map: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for o in read_docs_data(path)? {
        if matches!(o.status, Status::Caught | Status::Imprecise) {
            for r in o.failed {
                map.entry(r).or_default().push(o.name.clone());
            }
        }
    }
    Ok(map)
}

/// The commit the workspace is at, `+` appended when its tree has changes.
pub fn workspace_commit() -> Option<String> {
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .is_some_and(|o| !o.stdout.is_empty());
    Some(format!(
        "{}{}",
        String::from_utf8_lossy(&head.stdout).trim(),
        if dirty { "+" } else { "" }
    ))
}

/// Applies, builds and judges each of `chosen` in turn (with `check_only`, only checks that
/// each patch applies).
fn run_all(chosen: &[&Mutant], work: &Path, jobs: usize, check_only: bool) -> Result<Vec<Outcome>> {
    let tree = work.join("tree");
    let mut outcomes = Vec::new();
    // The unmutated reference's run, by the layers it ran with.
    let mut pristine: std::collections::BTreeMap<String, Pristine> = Default::default();
    let commit = workspace_commit();
    for (i, m) in chosen.iter().enumerate() {
        eprintln!("mutants: [{}/{}] {}", i + 1, chosen.len(), m.name);
        sync_tree(&tree)?;
        let patch = std::env::current_dir()?.join(patch_path(&m.name));
        let started = Instant::now();
        let mut outcome = Outcome {
            name: m.name.clone(),
            area: m.area.clone(),
            opens: m.opens.clone(),
            status: Status::NoResult,
            failed: Vec::new(),
            isolate: m.isolate.clone(),
            low_latency: m.low_latency,
            certified_level: None,
            seconds: 0,
            commit: commit.clone(),
        };
        if !git_apply(&tree, &patch, check_only)? {
            outcome.status = Status::StalePatch;
            outcomes.push(outcome);
            continue;
        }
        if check_only {
            outcome.status = Status::Applies;
            outcomes.push(outcome);
            continue;
        }
        if !build(&tree, &work.join("target"))? {
            outcome.status = Status::BuildFailed;
            outcomes.push(outcome);
            continue;
        }
        let out = work.join("results").join(&m.name);
        let mutated = work.join("target/debug/sbx-adapter");
        let only = m.isolate.as_deref();
        // What the unmutated reference fails on this machine with the same layers (all of
        // them, or `isolate`'s alone) and judged the same way, run once: only failures
        // beyond it are the mutant's.
        let layers = only.unwrap_or("all");
        let mut judged = layers.to_owned();
        if m.reference_reactions {
            judged += "-held-to-reactions";
        }
        if m.low_latency {
            judged += "-low-latency";
        }
        let mode = Mode {
            only,
            reference_reactions: m.reference_reactions,
            low_latency: m.low_latency,
        };
        if !pristine.contains_key(&judged) {
            let name = format!("pristine-{}", judged.replace(',', "-"));
            let main_adapter = std::env::current_dir()?.join("target/debug/sbx-adapter");
            let result = run_suite(
                work,
                &name,
                &main_adapter,
                mode,
                &work.join("results").join(&name),
                jobs,
            )?
            .with_context(|| format!("the unmutated reference ({judged})"))?;
            let sut = result.suts.first().context("the run has no sandbox")?;
            pristine.insert(
                judged.clone(),
                Pristine {
                    failed: failed_requirements(&result)?,
                    certified_level: sut.certified_level,
                },
            );
        }
        let baseline = &pristine[&judged];
        match run_suite(work, &m.name, &mutated, mode, &out, jobs)? {
            Some(result) => {
                let sut = result.suts.first().context("the run has no sandbox")?;
                outcome.failed = failed_requirements(&result)?
                    .difference(&baseline.failed)
                    .cloned()
                    .collect();
                outcome.certified_level = Some(sut.certified_level);
                outcome.status = if !sut.cases.iter().any(|c| c.verdict == Verdict::Pass) {
                    Status::Invalid
                } else if m
                    .fails_exactly
                    .as_ref()
                    .is_some_and(|exact| !exact.iter().eq(outcome.failed.iter()))
                {
                    Status::Imprecise
                } else if !outcome.failed.is_empty() {
                    Status::Caught
                } else if sut.certified_level < baseline.certified_level {
                    Status::NoCertificate
                } else {
                    Status::Survived
                };
            }
            None => outcome.status = Status::NoResult,
        }
        outcome.seconds = started.elapsed().as_secs();
        eprintln!(
            "mutants: {} {} ({} s){}",
            m.name,
            outcome.status.as_str(),
            outcome.seconds,
            if outcome.failed.is_empty() {
                String::new()
            } else {
                format!(": {}", outcome.failed.join(", "))
            }
        );
        outcomes.push(outcome);
    }
    // Leave the copy pristine for the next run's incremental build.
    sync_tree(&tree)?;
    Ok(outcomes)
}

fn patch_path(name: &str) -> PathBuf {
    Path::new("conformance/mutants").join(format!("{name}.patch"))
}

/// The catalogue under the workspace `root`, with every entry's patch present and every
/// patch listed.
fn load_catalogue(root: &Path) -> Result<Catalogue> {
    let file = root.join(CATALOGUE);
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let catalogue: Catalogue =
        toml::from_str(&text).with_context(|| format!("parsing {CATALOGUE}"))?;
    let mut names = BTreeSet::new();
    for m in &catalogue.mutant {
        if !names.insert(m.name.as_str()) {
            bail!("{CATALOGUE}: mutant {} listed twice", m.name);
        }
        if !root.join(patch_path(&m.name)).is_file() {
            bail!(
                "{CATALOGUE}: {} has no {}",
                m.name,
                patch_path(&m.name).display()
            );
        }
    }
    for entry in std::fs::read_dir(root.join("conformance/mutants"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "patch") {
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
            if !stem.as_deref().is_some_and(|s| names.contains(s)) {
                bail!("{} is not in {CATALOGUE}", path.display());
            }
        }
    }
    Ok(catalogue)
}

/// Makes `tree` a copy of the checkout's files (tracked and untracked, not ignored),
/// writing only the files whose bytes differ so that cargo rebuilds only what a patch
/// touched.
fn sync_tree(tree: &Path) -> Result<()> {
    let listing = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .context("running git ls-files")?;
    if !listing.status.success() {
        bail!("git ls-files failed: the checkout must be a git work tree");
    }
    // The files the checkout has now (listed and readable): the copy keeps these only.
    let mut present: BTreeSet<PathBuf> = BTreeSet::new();
    for raw in listing.stdout.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let rel = Path::new(std::str::from_utf8(raw).context("a path that is not UTF-8")?);
        let Ok(bytes) = std::fs::read(rel) else {
            continue; // listed but deleted in the work tree
        };
        present.insert(rel.to_path_buf());
        let dest = tree.join(rel);
        if std::fs::read(&dest).ok().as_deref() == Some(&bytes[..]) {
            continue;
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&dest, &bytes).with_context(|| format!("writing {}", dest.display()))?;
        let mode = std::fs::metadata(rel)?.permissions();
        std::fs::set_permissions(&dest, mode)?;
    }
    // A file the checkout no longer has must go from the copy too (a module moved from
    // `x.rs` to `x/mod.rs` would otherwise be found twice).
    remove_unlisted(tree, tree, &present)
}

/// Removes the files under `dir` (a directory of the copy `tree`) that `listed` does not
/// name.
fn remove_unlisted(tree: &Path, dir: &Path, listed: &BTreeSet<PathBuf>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let rel = path.strip_prefix(tree).unwrap_or(&path).to_path_buf();
        // Never through a link: only the copy's own files are removed.
        if entry.file_type()?.is_dir() {
            remove_unlisted(tree, &path, listed)?;
        } else if !listed.contains(&rel) {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

/// Applies `patch` in `tree` (or only checks that it applies); false when it does not.
fn git_apply(tree: &Path, patch: &Path, check_only: bool) -> Result<bool> {
    let mut cmd = Command::new("git");
    cmd.arg("apply");
    if check_only {
        cmd.arg("--check");
    }
    // The copy lies inside the checkout's repository, and `git apply` run in a
    // repository's subdirectory silently skips every path outside it: keep git from
    // finding that repository, so the patch applies to the copy as to a plain tree.
    let ceiling = tree.parent().unwrap_or(tree);
    let out = cmd
        .arg(patch)
        .current_dir(tree)
        .env("GIT_CEILING_DIRECTORIES", ceiling)
        .output()
        .context("running git apply")?;
    if !out.status.success() {
        eprintln!(
            "mutants: {} does not apply: {}",
            patch.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return Ok(false);
    }
    if !check_only {
        // A patch that applied must have changed what it names: the copy differs from the
        // checkout in every file the patch touches.
        let text = std::fs::read_to_string(patch)?;
        for path in text.lines().filter_map(|l| l.strip_prefix("+++ b/")) {
            if std::fs::read(tree.join(path)).ok() == std::fs::read(path).ok() {
                bail!("{} applied but left {path} unchanged", patch.display());
            }
        }
    }
    Ok(true)
}

/// Builds the mutated adapter and runner; false when the mutant does not compile.
pub(crate) fn build(tree: &Path, target: &Path) -> Result<bool> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            "sbx-adapters",
            "-p",
            "sbx-runner",
            "--bins",
        ])
        .env("CARGO_TARGET_DIR", target)
        .current_dir(tree)
        .status()
        .context("building the mutant")?;
    Ok(status.success())
}

/// The requirements a run's sandbox failed (gaps aside: they fail for every sandbox).
fn failed_requirements(result: &RunResult) -> Result<BTreeSet<String>> {
    requirements_judged(result, &[Verdict::Fail])
}

/// The requirements of a run's sandbox judged one of `verdicts` (gaps aside).
pub(crate) fn requirements_judged(
    result: &RunResult,
    verdicts: &[Verdict],
) -> Result<BTreeSet<String>> {
    let sut = result.suts.first().context("the run has no sandbox")?;
    Ok(sut
        .requirements
        .iter()
        .filter(|r| verdicts.contains(&r.verdict) && !r.gap)
        .map(|r| r.id.clone())
        .collect())
}

/// Writes `wrapper`, an executable that runs `adapter`'s reference sandbox (with `only`:
/// those containment layers alone), for the suite to take as a sandbox given by path.
fn write_wrapper(wrapper: &Path, adapter: &Path, mode: Mode<'_>) -> Result<()> {
    let mut args: Vec<String> = mode
        .only
        .map(|l| vec!["--only".to_owned(), l.to_owned()])
        .unwrap_or_default();
    if mode.low_latency {
        args.push("--low-latency".to_owned());
    }
    write_wrapper_with(wrapper, adapter, &args)
}

/// How a mutant and the unmutated reference it is compared with are run and judged.
#[derive(Debug, Clone, Copy)]
struct Mode<'a> {
    /// Those containment layers alone (`--only`).
    only: Option<&'a str>,
    /// Held to the reference's reactions (`--reference-build`).
    reference_reactions: bool,
    /// In the low-latency mode (`--low-latency`).
    low_latency: bool,
}

/// [`write_wrapper`] with the reference's options `args` (`--only`, `--user`), each one word.
pub(crate) fn write_wrapper_with(wrapper: &Path, adapter: &Path, args: &[String]) -> Result<()> {
    let args: String = args.iter().map(|a| format!(" '{a}'")).collect();
    std::fs::write(
        wrapper,
        format!(
            "#!/bin/sh\nexec '{}' reference{args} \"$@\"\n",
            adapter.display()
        ),
    )?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(wrapper, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// Runs this checkout's suite against the reference built as `adapter`, run and judged as
/// `mode` says; the parsed results, or None when the run wrote none.
fn run_suite(
    work: &Path,
    name: &str,
    adapter: &Path,
    mode: Mode<'_>,
    out: &Path,
    jobs: usize,
) -> Result<Option<RunResult>> {
    let adapters = work.join("adapters");
    std::fs::create_dir_all(&adapters)?;
    // The suite names a sandbox given by path after the file: the mutant's name.
    let wrapper = adapters.join(name);
    write_wrapper(&wrapper, adapter, mode)?;
    let _ = std::fs::remove_file(out.join("results.json"));
    let status = Command::new(std::env::current_exe()?)
        // The mutated adapter must find the runner beside it, not one named elsewhere.
        .env_remove("SBX_RUNNER")
        .arg("conformance")
        .arg("--sut")
        .arg(&wrapper)
        .arg("--out")
        .arg(out)
        .arg("--jobs")
        .arg(jobs.to_string())
        .args(mode.reference_reactions.then_some("--reference-build"))
        .stdout(std::process::Stdio::null())
        .status()
        .context("running the conformance suite")?;
    let results = out.join("results.json");
    if !results.is_file() {
        eprintln!("mutants: the suite wrote no results ({status})");
        return Ok(None);
    }
    Ok(Some(crate::read_run(&results)?))
}

fn render(catalogue: &Catalogue, outcomes: &[Outcome], check_only: bool) -> String {
    let caught = outcomes
        .iter()
        .filter(|o| matches!(o.status, Status::Caught | Status::NoCertificate))
        .count();
    let mut s = String::from(
        "<!-- Generated by `cargo xtask mutants --docs`; do not edit. -->\n\n\
         # Mutation analysis: hand-written mutants of the reference sandbox\n\n\
         Each mutant is one realistic defect of the reference sandbox \
         (`conformance/mutants/<name>.patch`). The conformance suite runs against it as \
         against any candidate sandbox, judged by harm; it is caught when a \
         requirement fails (`no_certificate`: none failed, but some cases could not run, \
         so the mutant earns no certificate). A mutant marked `(LAYER alone)` is a defect \
         that another layer covers: it runs with that layer alone, the other containment \
         layers relaxed, and is caught by a requirement that the unmutated reference with \
         the same layer alone passes. A mutant whose catalogue entry says \
         `reference_reactions` (a defect seen only as a reaction other than the \
         reference's, such as what a refusal names) is also held to the reactions the \
         plugins' metadata expect of the reference, as the suite holds the reference \
         itself.\n\n",
    );
    if check_only {
        s += &format!("{} patch(es) checked.\n\n", outcomes.len());
    } else {
        s += &format!(
            "**Score: {caught} of {} caught.**\n\n| mutant | area | opens | result | failed requirements | judged at |\n|---|---|---|---|---|---|\n",
            outcomes.len()
        );
        for o in outcomes {
            let failed = if o.failed.is_empty() {
                "—".to_string()
            } else {
                o.failed.join(", ")
            };
            let mut status = match &o.isolate {
                Some(layers) => format!("{} ({layers} alone)", o.status.as_str()),
                None => o.status.as_str().to_owned(),
            };
            if o.low_latency {
                status += " (low-latency mode)";
            }
            s += &format!(
                "| `{}` | {} | {} | {status} | {failed} | {} |\n",
                o.name,
                o.area,
                o.opens,
                o.commit.as_deref().unwrap_or("—")
            );
        }
    }
    if !check_only {
        // Which requirement catches which mutants: the suite's power, requirement by
        // requirement.
        let mut by_requirement: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for o in outcomes {
            for r in &o.failed {
                by_requirement.entry(r).or_default().push(&o.name);
            }
        }
        s += "\n## Requirements that catch them\n\n| requirement | mutants it catches |\n|---|---|\n";
        for (r, names) in &by_requirement {
            s += &format!(
                "| `{r}` | {} |\n",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let survivors: Vec<_> = outcomes.iter().filter(|o| !o.status.is_good()).collect();
    if !check_only && !survivors.is_empty() {
        s += "\n## Survivors\n\n";
        for o in survivors {
            let why = catalogue
                .mutant
                .iter()
                .find(|m| m.name == o.name)
                .map_or("", |m| m.breaks.as_str());
            s += &format!(
                "- `{}` ({}): a gap. It breaks: {why}\n",
                o.name,
                o.status.as_str()
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every mutant has its patch, every patch its entry, every patch still applies to the
    /// tree it mutates, and none touches the suite (harness, plugins, cases): a mutant is a
    /// defect of the sandbox, judged by the suite as it is.
    #[test]
    fn the_catalogue_and_its_patches_agree_and_apply() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let catalogue = load_catalogue(root).unwrap();
        assert!(
            catalogue.mutant.len() >= 40,
            "{} mutants",
            catalogue.mutant.len()
        );
        for m in &catalogue.mutant {
            let patch = root.join(patch_path(&m.name));
            let text = std::fs::read_to_string(&patch).unwrap();
            for line in text.lines().filter(|l| l.starts_with("+++ ")) {
                assert!(
                    line.starts_with("+++ b/sandbox/"),
                    "{}: a mutant changes the sandbox only: {line}",
                    m.name
                );
            }
            let out = Command::new("git")
                .args(["apply", "--check"])
                .arg(&patch)
                .current_dir(root)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{} does not apply: {}",
                m.name,
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                !(m.reference_reactions && m.isolate.is_some()),
                "{}: the reference's reactions hold with every layer only",
                m.name
            );
            if let Some(layers) = &m.isolate {
                for l in layers.split(',') {
                    assert!(
                        [
                            "seccomp",
                            "landlock",
                            "namespaces",
                            "identity-drop",
                            "capability-drop",
                            "no-new-privs",
                            "host-descriptor-close",
                            "runner-descriptor-close"
                        ]
                        .contains(&l),
                        "{}: unknown layer {l}",
                        m.name
                    );
                }
            }
        }
    }
}
