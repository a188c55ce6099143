//! `cargo xtask`: the project's task runner. Thin: parse, go to the workspace root, dispatch.
//!
//!     cargo xtask test           every test, clippy and formatting (what CI runs)
//!     cargo xtask conformance    the conformance suite against the reference sandbox
//!     cargo xtask plugins        build the plugin suite and copy it to target/plugins/
//!     cargo xtask bench          the overhead benchmarks against their floors
//!     cargo xtask fuzz           run the cargo-fuzz targets for a time budget
//!     cargo xtask mutants        mutation analysis: does the suite catch each mutant?

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

mod architecture;
mod bench;
mod cargo_mutants;
mod cargo_mutants_report;
mod evidence;
mod fuzz;
mod mutants;
#[cfg(test)]
mod workflows;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
    test          run every test of the workspace, then clippy (-D warnings) and rustfmt --check
    conformance   run the conformance suite against the reference sandbox and write a report
                  (cargo xtask conformance --help); --sign KEY also writes a signed bundle
    verify-report check a signed evidence bundle: BUNDLE --pub KEY
    keygen        write a signing key pair for --sign: NAME.key and NAME.pub
    plugins       build the plugin suite and copy the shared objects to target/plugins/
    bench         run the overhead benchmarks, print each figure against its floor, write
                  target/bench/ (summary, history, trend chart); --save NAME / --baseline NAME
                  keep a run or fail on a regression against one (cargo xtask bench --help)
    fuzz          run the cargo-fuzz targets for a time budget, triage crashes, write a summary
                  (cargo xtask fuzz --help)
    mutants       apply each hand-written mutant of the reference sandbox, run the suite
                  against it and report the survivors (cargo xtask mutants --help);
                  `mutants --cargo-mutants [--docs] [ARGS]` runs cargo-mutants over the
                  sandbox's crates with the suite as the oracle (ARGS go to cargo mutants:
                  --in-diff FILE, --shard K/N, --file PATH; --unjudged keeps only the
                  mutants docs/cargo-mutants.json has not judged), prints the score and the
                  survivors, and with --docs merges the run into docs/cargo-mutants.md;
                  `--results DIR` reads an earlier run's mutants.out instead of running;
                  `--render` renders the committed report again (survivors or code changed)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = root().and_then(|root| {
        std::env::set_current_dir(&root).context("entering the workspace root")?;
        match args.first().map(String::as_str) {
            Some("test") => test(),
            Some("conformance") => conformance(&args[1..]),
            Some("plugins") => plugins(),
            Some("fuzz") => fuzz::fuzz(&args[1..]),
            Some("bench") => bench::bench(&args[1..]),
            Some("mutants") if args.get(1).is_some_and(|a| a == "--cargo-mutants") => {
                cargo_mutants::run(&args[2..])
            }
            Some("mutants") => mutants::mutants(&args[1..]),
            Some("verify-report") => evidence::verify_report(&args[1..]),
            Some("keygen") => evidence::keygen(&args[1..]),
            // Run by cargo-mutants' oracle test, in its copy of the workspace.
            Some("mutant-oracle") => cargo_mutants::oracle(),
            Some("help" | "--help" | "-h") => {
                print!("{USAGE}");
                Ok(())
            }
            Some(other) => bail!("unknown task `{other}`\n\n{USAGE}"),
            None => bail!("no task given\n\n{USAGE}"),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> Result<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    Ok(manifest
        .parent()
        .context("xtask has no parent directory")?
        .to_path_buf())
}

fn cargo(args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("xtask: cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Builds what a run of the suite runs: the adapters, the harness's case guard, the runner.
fn build_suite_binaries() -> Result<()> {
    cargo(&[
        "build",
        "--quiet",
        "-p",
        "sbx-adapters",
        "-p",
        "sbx-harness",
        "-p",
        "sbx-runner",
        "--bins",
    ])
}

fn test() -> Result<()> {
    bench::ensure_instructions_runner(&root()?)?;
    cargo(&["test", "--workspace", "--all-targets"])?;
    cargo(&["test", "--workspace", "--doc"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&["fmt", "--all", "--", "--check"])
}

/// `cargo xtask conformance diff BEFORE AFTER`.
fn conformance_diff(args: &[String]) -> Result<()> {
    let [before, after] = args else {
        bail!("diff takes two runs, BEFORE and AFTER\n\n{CONFORMANCE_USAGE}");
    };
    let (before, after) = (read_run(Path::new(before))?, read_run(Path::new(after))?);
    let diff = sbx_reports::diff::compare(&before, &after);
    print!("{}", sbx_reports::diff::render(&diff));
    if diff.newly_failing() {
        bail!("the second run fails what the first did not");
    }
    Ok(())
}

/// A run's results: `path` is its results.json or the folder that holds one. A file that is
/// missing, truncated, of another schema version or not a run is an error naming it.
pub(crate) fn read_run(path: &Path) -> Result<sbx_harness::model::RunResult> {
    let mut file = path.to_path_buf();
    if file.is_dir() {
        file.push("results.json");
    }
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("reading the run {}", file.display()))?;
    let document = serde_json::from_str::<serde_json::Value>(&text)
        .with_context(|| format!("{} is not a whole JSON document", file.display()))?;
    let version = document
        .get("schema_version")
        .and_then(serde_json::Value::as_u64);
    let current = u64::from(sbx_harness::model::RESULT_SCHEMA_VERSION);
    if version != Some(current) {
        bail!(
            "{} has schema_version {}; this harness reads {current}",
            file.display(),
            version.map_or_else(|| "none".to_owned(), |v| v.to_string())
        );
    }
    serde_json::from_value(document)
        .with_context(|| format!("{} is not a conformance run's results", file.display()))
}

const CONFORMANCE_USAGE: &str = "\
usage: cargo xtask conformance [options]
       cargo xtask conformance diff BEFORE AFTER
       cargo xtask conformance merge [--out DIR] [--sign KEY] SHARD...
       cargo xtask conformance docs RUN

    diff BEFORE AFTER   compare two runs (each a results.json, or the folder holding one):
                        per sandbox, what newly fails, newly passes, fails with other
                        evidence, or is in one run only; two runs of one sandbox each are
                        compared with each other. Fails when anything newly fails.
    docs RUN            write docs/ again (the matrix, the plugin table, a page per
                        sandbox) from a run's results (its results.json or folder)
    merge SHARD...      one run, and every format (in --out), from the results (each a
                        results.json or its folder) of the shards of one run split with
                        --shard I/N; refused for shards of different runs, a shard given
                        twice, a case in two shards, or a case in none.

    --sut NAME|PATH     sandbox under test: a built-in name (reference, none, bubblewrap,
                        mutant-...) or the path of an adapter executable (default: reference)
    --matrix LIST       several sandboxes side by side, comma-separated; `mutants` and `all`
                        expand to groups (e.g. --matrix reference,bubblewrap,none,mutants)
    --filter TEXT       only cases whose name or requirement ids contain TEXT (several:
                        comma-separated, any of them)
    --level N           certification level whose MUSTs decide the exit status (1-3, default 3)
    --jobs N            cases run in parallel (default: four per CPU, at most 16; the cases
                        that load the machine run alone whatever it says)
    --shard I/N         run every N-th case starting at the I-th (for splitting across machines)
    --out DIR           where to write results (default target/conformance)
    --fail-fast         stop at the first case that fails or errs (the rest are skipped, and
                        no level is certified)
    --reference-build   the adapter given by --sut PATH is a build of the reference: hold it
                        to the reactions each plugin's metadata expects of the reference, as
                        the built-in `reference` is (the mutation oracle's runs)
    --docs              also write docs/: the tables and a page per sandbox
    --sign KEY          also write DIR/bundle/: the report in every format, the plugins the
                        run threw, a README and the product description, signed with the
                        ed25519 key in KEY (cargo xtask keygen NAME) as an in-toto statement
                        in a DSSE envelope; cargo xtask verify-report checks it
    --self-test         only run the adapter protocol self-test against the sandbox(es)
";

fn conformance(args: &[String]) -> Result<()> {
    use sbx_conformance::{catalog, harms, run, suite, suts};
    match args.first().map(String::as_str) {
        Some("diff") => return conformance_diff(&args[1..]),
        Some("merge") => return conformance_merge(&args[1..]),
        Some("docs") => return conformance_docs(&args[1..]),
        _ => {}
    }
    let mut sut = None;
    let mut matrix = None;
    let mut opts = run::Options {
        level: 3,
        filter: None,
        // Four per CPU, at most 16: a case that shares the machine is idle most of its time
        // (its settle time, the sandbox's deadlines and answers), and the cases that load the
        // machine run alone whatever this says. On 2 CPUs the reference's run took 46-47 s
        // with 4 jobs and 40 s with 8, every case passing each time. More than 16 sandboxes
        // at once is not what a case's deadlines were measured with.
        jobs: (4 * std::thread::available_parallelism().map_or(2, |n| n.get())).min(16),
        shard: None,
        fail_fast: false,
        guard: PathBuf::new(),
        expectations_dir: PathBuf::from("conformance/expectations"),
        source: source_revision(),
    };
    let mut out = run::default_output(Path::new("."));
    let mut docs = false;
    let mut self_test_only = false;
    let mut reference_build = false;
    let mut sign = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .with_context(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--sut" => sut = Some(value("--sut")?),
            "--matrix" => matrix = Some(value("--matrix")?),
            "--filter" => opts.filter = Some(value("--filter")?),
            "--level" => {
                opts.level = value("--level")?.parse().context("--level: not a number")?;
                if !(1..=3).contains(&opts.level) {
                    bail!("--level must be 1, 2 or 3");
                }
            }
            "--jobs" => {
                opts.jobs = value("--jobs")?.parse().context("--jobs: not a number")?;
                if opts.jobs == 0 {
                    bail!("--jobs must be at least 1");
                }
            }
            "--shard" => {
                let v = value("--shard")?;
                let (i, n) = v.split_once('/').context("--shard wants I/N")?;
                let (i, n): (usize, usize) = (
                    i.parse().context("--shard I")?,
                    n.parse().context("--shard N")?,
                );
                if n == 0 || i == 0 || i > n {
                    bail!("--shard I/N needs 1 <= I <= N");
                }
                opts.shard = Some((i, n));
            }
            "--out" => out = PathBuf::from(value("--out")?),
            "--fail-fast" => opts.fail_fast = true,
            "--docs" => docs = true,
            "--reference-build" => reference_build = true,
            "--self-test" => self_test_only = true,
            "--sign" => sign = Some(signing_key(&value("--sign")?)?),
            "--help" | "-h" => {
                print!("{CONFORMANCE_USAGE}");
                return Ok(());
            }
            other => bail!("unknown conformance option `{other}`\n\n{CONFORMANCE_USAGE}"),
        }
    }
    if sut.is_some() && matrix.is_some() {
        bail!("give --sut or --matrix, not both");
    }
    if reference_build && sut.is_none() {
        bail!("--reference-build names the adapter of --sut PATH as a build of the reference");
    }
    build_suite_binaries()?;
    let bin = std::fs::canonicalize("target/debug").context("target/debug")?;
    opts.guard = bin.join("sbx-case-guard");
    let adapter = bin.join("sbx-adapter");
    let suts = match (&sut, &matrix) {
        (_, Some(list)) => suts::matrix(list, &adapter)?,
        (Some(name), None) if reference_build => vec![suts::reference_build(name, &adapter)?],
        (Some(name), None) => vec![suts::resolve(name, &adapter)?],
        (None, None) => vec![suts::resolve("reference", &adapter)?],
    };
    if suts.is_empty() {
        bail!("no sandbox to run");
    }
    for (sandbox, executable, package) in TOOLS {
        if suts.iter().any(|s| s.name == sandbox) {
            ensure_tool(executable, package);
        }
    }
    let catalog = catalog::parse(catalog::CATALOG)?;
    let settings = suite::settings(suite::CASES)?;
    if self_test_only {
        let mut failed = 0;
        let mut ran = 0;
        for sut in &suts {
            let test = sbx_harness::selftest::run(
                &opts.guard,
                &sut.command,
                &settings.neighbour,
                &settings.neighbour_methods.echo,
            );
            let unavailable = test.hello.as_ref().and_then(|h| h.unavailable.as_deref());
            print!(
                "{}",
                sbx_reports::self_test(&sut.name, unavailable, &test.checks)
            );
            failed += test.checks.iter().filter(|c| !c.passed).count();
            ran += usize::from(unavailable.is_none());
        }
        if failed > 0 {
            bail!("{failed} self-test check(s) failed");
        }
        if ran == 0 {
            bail!("no sandbox of the run can run here");
        }
        return Ok(());
    }
    let cases = suite::cases(&settings);
    let started = std::time::Instant::now();
    let harms = harms::HarmMap::parse(harms::HARMS, &catalog)?;
    let result = run::run(&catalog, &settings, &cases, &suts, &opts, &harms)?;
    let elapsed = started.elapsed();
    let docs = docs.then(|| matrix.as_deref().unwrap_or("reference"));
    write_outputs(
        &result,
        &cases,
        &out,
        docs,
        &format!("{:.0} s", elapsed.as_secs_f64()),
    )?;
    if let Some(key) = sign {
        evidence::write_bundle(
            &evidence::Sources {
                result: &result,
                cases: &cases,
                settings: &settings,
                out: &out,
            },
            &key,
        )?;
    }
    if let Some((i, n)) = opts.shard {
        // A part of a run certifies nothing: the merge of every shard judges the whole.
        println!("shard {i}/{n}: merge every shard's results to certify (conformance merge)");
        return Ok(());
    }
    fail_uncertified(&result)
}

/// The key file of `--sign`, checked before the run rather than after it.
fn signing_key(path: &str) -> Result<PathBuf> {
    let path = PathBuf::from(path);
    sbx_reports::bundle::read_secret_key(&path).context("--sign")?;
    Ok(path)
}

/// The checkout's commit, `-dirty` when it has changes; `None` outside a git checkout.
fn source_revision() -> Option<String> {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "HEAD"])?;
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|changes| !changes.is_empty());
    Some(if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    })
}

/// The plugin table's rows of the suite's cases.
fn plugin_rows(cases: &[sbx_conformance::suite::SuiteCase]) -> Vec<sbx_reports::PluginRow> {
    cases
        .iter()
        .map(|c| sbx_reports::PluginRow {
            name: c.spec.name.to_owned(),
            family: c.spec.family.as_str().to_owned(),
            language: c.spec.language.as_str().to_owned(),
            attacks: c.spec.attacks.iter().map(|a| (*a).to_owned()).collect(),
            expected: c
                .case
                .expected
                .as_ref()
                .map(|e| e.describe())
                .unwrap_or_default(),
        })
        .collect()
}

/// Writes every format of `result` into `out` (and, with `docs`, the run over that matrix
/// into docs/), prints the summary and where each file is.
fn write_outputs(
    result: &sbx_harness::model::RunResult,
    cases: &[sbx_conformance::suite::SuiteCase],
    out: &Path,
    docs: Option<&str>,
    took: &str,
) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let rows = plugin_rows(cases);
    let summary = sbx_reports::summary(result);
    // The docs' "caught by" also names the hand-written mutants each requirement caught
    // in the committed mutation analysis.
    let hand_written = if docs.is_some() {
        mutants::caught_by_requirement(std::path::Path::new(mutants::DOCS_DATA))?
    } else {
        Default::default()
    };
    let requirements = sbx_reports::requirements_markdown(result, &hand_written);
    let plugins = sbx_reports::plugins_markdown(result, &rows);
    let json = sbx_reports::json(result);
    // What is written is what the committed schema describes, or nothing is written.
    sbx_reports::schema::validate(&serde_json::from_str(&json)?)
        .context("the results break reports/result.schema.json")?;
    std::fs::write(out.join("results.json"), json)?;
    std::fs::write(out.join("summary.txt"), &summary)?;
    std::fs::write(out.join("requirements.md"), &requirements)?;
    std::fs::write(out.join("plugins.md"), &plugins)?;
    std::fs::write(out.join("results.tap"), sbx_reports::tap::render(result))?;
    std::fs::write(out.join("junit.xml"), sbx_reports::junit::render(result))?;
    // The benchmark history's chart, when this checkout has run `cargo xtask bench`.
    let bench_history = std::fs::read_to_string(bench::TREND_CHART).ok();
    std::fs::write(
        out.join("report.html"),
        sbx_reports::html::render(result, bench_history.as_deref()),
    )?;
    std::fs::write(out.join("comment.md"), sbx_reports::comment::render(result))?;
    if let Some(matrix) = docs {
        write_docs(result, matrix, &requirements, &plugins)?;
    }
    print!("{summary}");
    println!("\nresults: {} ({took})", out.join("results.json").display());
    println!("    TAP: {}", out.join("results.tap").display());
    println!("    JUnit: {}", out.join("junit.xml").display());
    println!("    HTML: {}", out.join("report.html").display());
    println!(
        "    pull-request comment: {}",
        out.join("comment.md").display()
    );
    Ok(())
}

/// The committed pages of a run over `matrix`: the requirement matrix, the plugin table,
/// and a page per sandbox certified or controlling (not the mutants: their page is the
/// mutation report).
fn write_docs(
    result: &sbx_harness::model::RunResult,
    matrix: &str,
    requirements: &str,
    plugins: &str,
) -> Result<()> {
    std::fs::create_dir_all("docs/sandboxes")?;
    std::fs::write(
        "docs/conformance-matrix.md",
        sbx_reports::matrix_page(matrix, requirements),
    )?;
    std::fs::write(
        "docs/plugins.md",
        sbx_reports::plugins_page(matrix, plugins),
    )?;
    let built_in = sbx_conformance::suts::built_in(Path::new("sbx-adapter"))?;
    for sut in result
        .suts
        .iter()
        .filter(|s| s.sut.role != sbx_harness::model::Role::Mutant)
    {
        let configuration = built_in
            .iter()
            .find(|b| b.sut.name == sut.sut.name)
            .map_or("an adapter given by path", |b| b.summary.as_str());
        std::fs::write(
            format!("docs/sandboxes/{}.md", sut.sut.name),
            sbx_reports::sandbox_page::render(result, sut, configuration),
        )?;
    }
    Ok(())
}

/// `cargo xtask conformance docs RUN`: the committed pages written again from a run's
/// results (a CI artifact, a run kept from earlier), without running anything.
fn conformance_docs(args: &[String]) -> Result<()> {
    let [run] = args else {
        bail!("docs takes one run (its results.json or folder)\n\n{CONFORMANCE_USAGE}");
    };
    let result = read_run(Path::new(run))?;
    let settings = sbx_conformance::suite::settings(sbx_conformance::suite::CASES)?;
    let cases = sbx_conformance::suite::cases(&settings);
    let matrix = result
        .suts
        .iter()
        .map(|s| s.sut.name.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let hand_written = mutants::caught_by_requirement(Path::new(mutants::DOCS_DATA))?;
    let requirements = sbx_reports::requirements_markdown(&result, &hand_written);
    let plugins = sbx_reports::plugins_markdown(&result, &plugin_rows(&cases));
    write_docs(&result, &matrix, &requirements, &plugins)?;
    println!("docs/ written from {run} ({matrix})");
    Ok(())
}

/// Fails when a candidate of `result` is not certified at the run's level.
fn fail_uncertified(result: &sbx_harness::model::RunResult) -> Result<()> {
    let level = result.level;
    let uncertified: Vec<String> = sbx_conformance::run::uncertified(result, level)
        .into_iter()
        .map(|u| {
            format!(
                "{}: {} MUST requirement(s) of level <= {} did not pass, {} self-test check(s) failed",
                u.sut, u.failing_musts, level, u.failed_self_test
            )
        })
        .collect();
    if !uncertified.is_empty() {
        bail!("{}", uncertified.join("; "));
    }
    // A sandbox that cannot run here is skipped, not failed; a run in which no candidate
    // could run has certified nothing.
    let unavailable = sbx_conformance::run::unavailable(result);
    for (sut, reason) in &unavailable {
        eprintln!("xtask: {sut} was not run: it cannot run here: {reason}");
    }
    let candidates = result
        .suts
        .iter()
        .filter(|s| s.sut.role == sbx_harness::model::Role::Candidate)
        .count();
    if candidates > 0 && unavailable.len() == candidates {
        bail!("no candidate sandbox of the run can run here: nothing was certified");
    }
    Ok(())
}

/// `cargo xtask conformance merge [--out DIR] SHARD...`: one run, and every format, from
/// the results of the shards of a split run.
fn conformance_merge(args: &[String]) -> Result<()> {
    use sbx_conformance::{catalog, harms, merge, run, suite};
    let mut out = run::default_output(Path::new("."));
    let mut files = Vec::new();
    let mut sign = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = PathBuf::from(it.next().context("--out needs a value")?),
            "--sign" => sign = Some(signing_key(it.next().context("--sign needs a key file")?)?),
            other if other.starts_with("--") => {
                bail!("unknown merge option `{other}`\n\n{CONFORMANCE_USAGE}")
            }
            shard => files.push(shard.to_owned()),
        }
    }
    if files.is_empty() {
        bail!("merge takes the shards' results\n\n{CONFORMANCE_USAGE}");
    }
    let shards = files
        .iter()
        .map(|f| read_run(Path::new(f)))
        .collect::<Result<Vec<_>>>()?;
    let catalog = catalog::parse(catalog::CATALOG)?;
    let settings = suite::settings(suite::CASES)?;
    let cases = suite::cases(&settings);
    let harms = harms::HarmMap::parse(harms::HARMS, &catalog)?;
    let merged = merge::merge(
        &shards,
        &merge::Suite {
            catalog: &catalog,
            cases: &cases,
            harms: &harms,
            expectations_dir: Path::new("conformance/expectations"),
            source: source_revision().as_deref(),
        },
    )
    .context("merging the shards")?;
    write_outputs(
        &merged,
        &cases,
        &out,
        None,
        &format!("merged from {} shards", shards.len()),
    )?;
    if let Some(key) = sign {
        evidence::write_bundle(
            &evidence::Sources {
                result: &merged,
                cases: &cases,
                settings: &settings,
                out: &out,
            },
            &key,
        )?;
    }
    fail_uncertified(&merged)
}

/// The built-in sandboxes that run a tool of Debian's: (sandbox, executable or absolute
/// path of a file it needs, package).
const TOOLS: [(&str, &str, &str); 8] = [
    ("bubblewrap", "bwrap", "bubblewrap"),
    ("firejail", "firejail", "firejail"),
    ("firejail-default", "firejail", "firejail"),
    ("gvisor", "runsc", "runsc"),
    ("crun", "crun", "crun"),
    (
        "crun",
        CONTAINERS_SECCOMP,
        "golang-github-containers-common",
    ),
    ("runc", "runc", "runc"),
    (
        "runc",
        CONTAINERS_SECCOMP,
        "golang-github-containers-common",
    ),
];

/// The usual container seccomp profile the OCI sandboxes' bundles carry.
const CONTAINERS_SECCOMP: &str = "/usr/share/containers/seccomp.json";

/// A sandbox that runs a tool of Debian's has it installed from its package when it is
/// missing and apt is there, so that a fresh machine runs the matrix. Where that fails (not
/// root, no network), the run goes on and the adapter's own error says what is missing.
fn ensure_tool(executable: &str, package: &str) {
    let installed = if executable.starts_with('/') {
        Path::new(executable).exists()
    } else {
        ["/usr/bin", "/usr/local/bin", "/usr/sbin"]
            .iter()
            .any(|dir| Path::new(dir).join(executable).exists())
    };
    if installed || !Path::new("/usr/bin/apt-get").exists() {
        return;
    }
    eprintln!("xtask: installing {package} (apt-get) for the sandbox that runs {executable}");
    for args in [
        &["update"][..],
        &["install", "-y", "--no-install-recommends", package][..],
    ] {
        let ran = Command::new("apt-get")
            .args(args)
            .stdout(std::process::Stdio::null())
            .status();
        if !ran.as_ref().is_ok_and(|s| s.success()) {
            eprintln!(
                "xtask: apt-get {} did not succeed ({ran:?}): the sandbox will say what it \
                 misses",
                args.join(" ")
            );
            return;
        }
    }
}

fn plugins() -> Result<()> {
    cargo(&[
        "build",
        "-p",
        "sbx-adversarial-plugins",
        "-p",
        "sbx-cli",
        "-p",
        "sbx-runner",
        "--bins",
    ])?;
    // The build script writes the plugins into its OUT_DIR; find the newest copy.
    let out = Path::new("target/plugins");
    std::fs::create_dir_all(out)?;
    let build = Path::new("target/debug/build");
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    for entry in std::fs::read_dir(build).context("reading target/debug/build")? {
        let dir = entry?.path().join("out/plugins");
        if let Ok(meta) = std::fs::metadata(&dir) {
            let modified = meta.modified()?;
            if newest.as_ref().is_none_or(|(t, _)| modified > *t) {
                newest = Some((modified, dir));
            }
        }
    }
    let (_, dir) = newest.context("no built plugins found under target/debug/build")?;
    let mut count = 0;
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "so") {
            std::fs::copy(&path, out.join(path.file_name().context("file name")?))?;
            count += 1;
        }
    }
    eprintln!("xtask: {count} plugins in {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_to_compare_is_whole_or_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.to_string_lossy().into_owned()
        };
        let refusal = |path: &str| format!("{:#}", read_run(Path::new(path)).unwrap_err());
        let missing = dir.path().join("none.json");
        assert!(refusal(&missing.to_string_lossy()).contains("none.json"));
        let current = sbx_harness::model::RESULT_SCHEMA_VERSION;
        let truncated = file(
            "truncated.json",
            &format!("{{\"schema_version\": {current}, \"suts\": ["),
        );
        assert!(refusal(&truncated).contains("not a whole JSON document"));
        let older = file("older.json", "{\"schema_version\": 3}");
        assert!(refusal(&older).contains("schema_version 3"));
        let unversioned = file("unversioned.json", "{}");
        assert!(refusal(&unversioned).contains("schema_version none"));
        let keyless = file(
            "keyless.json",
            &format!("{{\"schema_version\": {current}}}"),
        );
        assert!(refusal(&keyless).contains("missing field"));
        // A folder stands for its results.json.
        let run = sbx_harness::model::RunResult {
            schema_version: sbx_harness::model::RESULT_SCHEMA_VERSION,
            tool_version: "0".into(),
            level: 3,
            filter: None,
            shard: None,
            source: None,
            executions: Vec::new(),
            suts: Vec::new(),
        };
        file("results.json", &serde_json::to_string(&run).unwrap());
        assert_eq!(read_run(dir.path()).unwrap(), run);
    }
}
