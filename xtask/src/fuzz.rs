//! `cargo xtask fuzz`: batch fuzzing of the cargo-fuzz targets in `fuzz/`.
//!
//! Builds the targets once (cargo-fuzz is installed when missing), runs each one in
//! libFuzzer's fork mode for a time budget on a working corpus seeded from the committed
//! seeds, merges the corpus, minimises and deduplicates every crash into
//! `fuzz/regressions/<target>/` (which plain `cargo test` replays), and writes a JSON summary.
//! `--planted-bug` instead shows that fuzzing finds a known decoder bug compiled into a
//! test-only build.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use serde::Serialize;

const USAGE: &str = "\
usage: cargo xtask fuzz [options]

    --target NAME       a target to run (repeatable; default: every target of fuzz/Cargo.toml)
    --time SECONDS      fuzzing time per target (default 60)
    --jobs N            libFuzzer worker processes per target (fork mode; default 1)
    --sanitizer KIND    none (default, stable Rust) or address (AddressSanitizer: uses a
                        nightly toolchain when one is installed, else RUSTC_BOOTSTRAP=1)
    --corpus DIR        working corpora, one directory per target, kept between runs
                        (default target/fuzz/corpus); the committed seeds are always read
    --out DIR           logs, crash artifacts and summary.json (default target/fuzz)
    --planted-bug       only check that `frame_decode`, built with a planted decoder bug,
                        finds it from an empty corpus within --time; writes nothing under fuzz/
    --list              print the targets and exit

Exit status 1 when a target found a crash (minimised into fuzz/regressions/), or when the
planted bug was not found.
";

/// Version of `summary.json`'s layout.
const SUMMARY_SCHEMA: u32 = 1;

/// The target the planted bug lives behind.
const PLANTED_TARGET: &str = "frame_decode";

/// Seconds one input may run before libFuzzer calls it a hang (its default is 1200 s,
/// which would let a hang pass for a clean run). Every decoder here answers in microseconds.
const INPUT_TIMEOUT: &str = "-timeout=10";

/// How often a long run prints its latest figures.
const PROGRESS_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Sanitizer {
    None,
    Address,
}

impl Sanitizer {
    fn name(self) -> &'static str {
        match self {
            Sanitizer::None => "none",
            Sanitizer::Address => "address",
        }
    }
}

struct Options {
    targets: Vec<String>,
    time: u64,
    jobs: u32,
    sanitizer: Sanitizer,
    corpus: PathBuf,
    out: PathBuf,
    planted_bug: bool,
    list: bool,
}

/// The run of one target, as `summary.json` records it.
#[derive(Debug, Serialize)]
struct TargetSummary {
    target: String,
    seconds: f64,
    jobs: u32,
    /// CPU seconds (user + system) of the fuzzing processes, measured by the kernel.
    cpu_seconds: f64,
    executions: u64,
    executions_per_second: u64,
    /// libFuzzer's `cov`: covered edges (inline 8-bit counters) at the end.
    coverage: u64,
    /// libFuzzer's `ft`: features (edge and hit-count buckets) at the end.
    features: u64,
    corpus_files: u64,
    corpus_bytes: u64,
    new_crashes: Vec<Crash>,
    log: PathBuf,
}

/// A crash found by a run, after minimisation and deduplication.
#[derive(Debug, Serialize)]
struct Crash {
    /// crash, timeout, oom or leak (libFuzzer's artifact kind).
    kind: String,
    /// Where it panicked (`file:line`), or the kind when there is no panic.
    signature: String,
    /// The regression file it was saved as; `None` when an equal one was already saved.
    regression: Option<PathBuf>,
    /// Size of the minimised input.
    bytes: u64,
}

#[derive(Debug, Serialize)]
struct Summary {
    schema: u32,
    /// Seconds since the Unix epoch when the run started.
    started_unix: u64,
    sanitizer: Sanitizer,
    time_per_target: u64,
    targets: Vec<TargetSummary>,
}

pub fn fuzz(args: &[String]) -> Result<()> {
    let mut o = Options {
        targets: Vec::new(),
        time: 60,
        jobs: 1,
        sanitizer: Sanitizer::None,
        corpus: PathBuf::from("target/fuzz/corpus"),
        out: PathBuf::from("target/fuzz"),
        planted_bug: false,
        list: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .with_context(|| format!("{name} needs a value\n\n{USAGE}"))
        };
        match a.as_str() {
            "--target" => o.targets.push(value("--target")?),
            "--time" => o.time = value("--time")?.parse().context("--time: not a number")?,
            "--jobs" => {
                o.jobs = value("--jobs")?.parse().context("--jobs: not a number")?;
                if o.jobs == 0 {
                    bail!("--jobs must be at least 1");
                }
            }
            "--sanitizer" => {
                o.sanitizer = match value("--sanitizer")?.as_str() {
                    "none" => Sanitizer::None,
                    "address" => Sanitizer::Address,
                    other => bail!("--sanitizer: `{other}` is neither none nor address"),
                }
            }
            "--corpus" => o.corpus = value("--corpus")?.into(),
            "--out" => o.out = value("--out")?.into(),
            "--planted-bug" => o.planted_bug = true,
            "--list" => o.list = true,
            "--help" | "-h" => {
                print!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown fuzz option `{other}`\n\n{USAGE}"),
        }
    }
    if o.time == 0 {
        bail!("--time must be at least 1 second");
    }
    let all = targets()?;
    if o.list {
        for t in &all {
            println!("{t}");
        }
        return Ok(());
    }
    for t in &o.targets {
        if !all.contains(t) {
            bail!("no fuzz target `{t}`; the targets are: {}", all.join(", "));
        }
    }
    if o.targets.is_empty() {
        o.targets = all;
    }
    ensure_cargo_fuzz()?;
    if o.planted_bug {
        return planted_bug(&o);
    }

    build(o.sanitizer, &[])?;
    let started_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut summaries = Vec::new();
    for target in &o.targets {
        summaries.push(run_target(&o, target)?);
    }
    let summary = Summary {
        schema: SUMMARY_SCHEMA,
        started_unix,
        sanitizer: o.sanitizer,
        time_per_target: o.time,
        targets: summaries,
    };
    std::fs::create_dir_all(&o.out)?;
    let path = o.out.join("summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    print_table(&summary);
    eprintln!("xtask: summary in {}", path.display());
    let crashes: Vec<&Crash> = summary
        .targets
        .iter()
        .flat_map(|t| &t.new_crashes)
        .collect();
    if !crashes.is_empty() {
        for c in &crashes {
            match &c.regression {
                Some(p) => eprintln!(
                    "xtask: {} at {}: saved {}",
                    c.kind,
                    c.signature,
                    p.display()
                ),
                None => eprintln!("xtask: {} at {} (already saved)", c.kind, c.signature),
            }
        }
        bail!(
            "{} crash(es) found; the regression files replay with `cargo test`",
            crashes.len()
        );
    }
    Ok(())
}

/// The targets declared in `fuzz/Cargo.toml`, in its order.
fn targets() -> Result<Vec<String>> {
    let text = std::fs::read_to_string("fuzz/Cargo.toml").context("reading fuzz/Cargo.toml")?;
    let mut targets = Vec::new();
    let mut in_bin = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin && let Some(rest) = line.strip_prefix("name = \"") {
            targets.push(rest.trim_end_matches('"').to_owned());
        }
    }
    if targets.is_empty() {
        bail!("fuzz/Cargo.toml declares no target");
    }
    Ok(targets)
}

fn ensure_cargo_fuzz() -> Result<()> {
    let have = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        crate::cargo(&["install", "cargo-fuzz", "--locked"])?;
    }
    Ok(())
}

/// `cargo` for the fuzz package: a nightly toolchain for AddressSanitizer when one is
/// installed, else the stable one with `RUSTC_BOOTSTRAP=1` (which unlocks `-Zsanitizer`).
fn fuzz_cargo(sanitizer: Sanitizer) -> Command {
    let mut cmd = Command::new("cargo");
    if sanitizer == Sanitizer::Address {
        let nightly = Command::new("rustup")
            .args(["run", "nightly", "rustc", "--version"])
            .output()
            .is_ok_and(|o| o.status.success());
        if nightly {
            cmd.arg("+nightly");
        } else {
            cmd.env("RUSTC_BOOTSTRAP", "1");
        }
    }
    cmd.current_dir("fuzz");
    cmd
}

fn build(sanitizer: Sanitizer, features: &[&str]) -> Result<()> {
    let mut cmd = fuzz_cargo(sanitizer);
    cmd.args(["fuzz", "build", "--sanitizer", sanitizer.name()]);
    cmd.args(["--target-dir", target_dir(sanitizer)]);
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    eprintln!(
        "xtask: cargo fuzz build --sanitizer {}{}",
        sanitizer.name(),
        if features.is_empty() {
            String::new()
        } else {
            format!(" --features {}", features.join(","))
        }
    );
    let status = cmd.status().context("running cargo fuzz build")?;
    if !status.success() {
        bail!("cargo fuzz build failed ({status})");
    }
    Ok(())
}

/// The build directory of a sanitizer: builds with and without AddressSanitizer differ in
/// every crate's flags, so each keeps its own to avoid rebuilding everything on a switch.
fn target_dir(sanitizer: Sanitizer) -> &'static str {
    match sanitizer {
        Sanitizer::None => "target",
        Sanitizer::Address => "target/address",
    }
}

/// Where cargo-fuzz puts a built target.
fn binary(target: &str, sanitizer: Sanitizer) -> PathBuf {
    Path::new("fuzz")
        .join(target_dir(sanitizer))
        .join("x86_64-unknown-linux-gnu/release")
        .join(target)
}

/// The last figures libFuzzer printed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Figures {
    executions: u64,
    coverage: u64,
    features: u64,
    exec_per_sec: u64,
}

/// Reads a libFuzzer status line, in either of its shapes:
/// `#1234 NEW    cov: 246 ft: 615 corp: 179/19Kb ... exec/s: 268816 ...` (one process) or
/// `#1234: cov: 246 ft: 615 corp: 179 exec/s: 109606 oom/timeout/crash: 0/0/0 ...` (fork).
fn parse_status(line: &str) -> Option<Figures> {
    let rest = line.strip_prefix('#')?;
    let mut words = rest.split_whitespace();
    let executions = words.next()?.trim_end_matches(':').parse().ok()?;
    let mut f = Figures {
        executions,
        ..Figures::default()
    };
    let words: Vec<&str> = rest.split_whitespace().collect();
    for pair in words.windows(2) {
        let number = || {
            pair[1]
                .split('/')
                .next()
                .and_then(|n| n.parse::<u64>().ok())
        };
        match pair[0] {
            "cov:" => f.coverage = number()?,
            "ft:" => f.features = number()?,
            "exec/s:" => f.exec_per_sec = number()?,
            _ => {}
        }
    }
    Some(f)
}

/// Runs `cmd` with its stderr in `log`, printing the newest status line every
/// [`PROGRESS_EVERY`]. Returns the last figures seen and how the process ended.
fn run_logged(
    mut cmd: Command,
    log: &Path,
    label: &str,
) -> Result<(Figures, std::process::ExitStatus)> {
    let mut file =
        std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {label}"))?;
    let stderr = child.stderr.take().context("the child's stderr")?;
    let mut last = Figures::default();
    let mut printed = Instant::now();
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap_or_default();
        writeln!(file, "{line}")?;
        if let Some(f) = parse_status(&line) {
            last = f;
            if printed.elapsed() >= PROGRESS_EVERY {
                eprintln!(
                    "[{label}] {} executions, {} exec/s, cov {}, ft {}",
                    f.executions, f.exec_per_sec, f.coverage, f.features
                );
                printed = Instant::now();
            }
        }
    }
    let status = child.wait()?;
    Ok((last, status))
}

fn run_target(o: &Options, target: &str) -> Result<TargetSummary> {
    let work = o.corpus.join(target);
    let seeds = Path::new("fuzz/corpus").join(target);
    let artifacts = o.out.join("artifacts").join(target);
    let logs = o.out.join("logs");
    for dir in [&work, &artifacts, &logs] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let before = files(&artifacts);
    let log = logs.join(format!("{target}.log"));
    eprintln!(
        "xtask: fuzzing {target} for {} s with {} job(s) (log: {})",
        o.time,
        o.jobs,
        log.display()
    );
    let started = Instant::now();
    let cpu_before = children_cpu_seconds();
    let mut cmd = Command::new(binary(target, o.sanitizer));
    cmd.arg(format!("-fork={}", o.jobs))
        .arg(INPUT_TIMEOUT)
        .arg("-ignore_crashes=1")
        .arg("-ignore_timeouts=1")
        .arg("-ignore_ooms=1")
        .arg(format!("-max_total_time={}", o.time))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg("-print_final_stats=1")
        .arg(&work)
        .arg(&seeds);
    let (figures, status) = run_logged(cmd, &log, target)?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = children_cpu_seconds() - cpu_before;
    let new: Vec<PathBuf> = files(&artifacts)
        .into_iter()
        .filter(|p| !before.contains(p))
        .filter(|p| artifact_kind(p).is_some())
        .collect();
    // Fork mode ignores crashes, so a failed exit or no execution at all means the fuzzer
    // itself did not run: that is never a clean summary.
    if (!status.success() && new.is_empty()) || figures.executions == 0 {
        bail!(
            "{target}: libFuzzer ended {status} after {} executions (log: {})",
            figures.executions,
            log.display()
        );
    }
    let regressions = Path::new("fuzz/regressions").join(target);
    let new_crashes = triage(o.sanitizer, target, &new, &artifacts, &regressions)?;
    merge(o.sanitizer, target, &work, &seeds, &logs)?;
    let (corpus_files, corpus_bytes) = size(&work);
    Ok(TargetSummary {
        target: target.to_owned(),
        seconds,
        jobs: o.jobs,
        cpu_seconds,
        executions: figures.executions,
        executions_per_second: if seconds > 0.0 {
            (figures.executions as f64 / seconds) as u64
        } else {
            0
        },
        coverage: figures.coverage,
        features: figures.features,
        corpus_files,
        corpus_bytes,
        new_crashes,
        log,
    })
}

/// User and system CPU seconds of this process's waited-for children and their reaped
/// descendants (libFuzzer reaps its fork-mode workers), from the kernel.
fn children_cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given, which is zeroed and ours.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Files of `dir`, sorted; empty when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

fn size(dir: &Path) -> (u64, u64) {
    let v = files(dir);
    let bytes = v
        .iter()
        .filter_map(|p| p.metadata().ok())
        .map(|m| m.len())
        .sum();
    (v.len() as u64, bytes)
}

/// libFuzzer's artifact kind from its file name (`crash-<sha1>`, ...).
fn artifact_kind(path: &Path) -> Option<&'static str> {
    let name = path.file_name()?.to_str()?;
    ["crash", "timeout", "oom", "leak"]
        .into_iter()
        .find(|k| name.starts_with(&format!("{k}-")))
}

/// Minimises each new artifact, names it by where it fails, and saves one regression file
/// per distinct failure into `regressions` (`fuzz/regressions/<target>/`) unless one is
/// already there.
fn triage(
    sanitizer: Sanitizer,
    target: &str,
    new: &[PathBuf],
    artifacts: &Path,
    regressions: &Path,
) -> Result<Vec<Crash>> {
    let mut crashes: Vec<Crash> = Vec::new();
    for artifact in new {
        let kind = artifact_kind(artifact).unwrap_or("crash");
        let minimized = artifacts.join(format!(
            "minimized-{}",
            artifact
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        let input = if kind == "crash" && minimize(sanitizer, target, artifact, &minimized).is_ok()
        {
            minimized
        } else {
            artifact.clone()
        };
        // Only a crash is re-run for its panic's location: a hang or an OOM would take as
        // long again, and is named by its kind.
        let signature = if kind == "crash" {
            signature(sanitizer, target, &input, kind)
        } else {
            kind.to_owned()
        };
        if crashes.iter().any(|c| c.signature == signature) {
            continue;
        }
        let bytes = std::fs::read(&input)?;
        let slug: String = signature
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let prefix = format!("{kind}-{slug}-");
        std::fs::create_dir_all(regressions)?;
        let known = files(regressions).into_iter().any(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        });
        let regression = if known {
            None
        } else {
            let path = regressions.join(format!("{prefix}{}", short_hash(&bytes)));
            std::fs::write(&path, &bytes)?;
            Some(path)
        };
        crashes.push(Crash {
            kind: kind.to_owned(),
            signature,
            regression,
            bytes: bytes.len() as u64,
        });
    }
    Ok(crashes)
}

fn minimize(sanitizer: Sanitizer, target: &str, input: &Path, out: &Path) -> Result<()> {
    let status = Command::new(binary(target, sanitizer))
        .arg("-minimize_crash=1")
        .arg(INPUT_TIMEOUT)
        .arg("-runs=20000")
        .arg(format!("-exact_artifact_path={}", out.display()))
        .arg(input)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    // libFuzzer exits non-zero when the last run crashed; what matters is the file.
    let _ = status;
    if !out.is_file() {
        bail!("minimisation of {} gave no file", input.display());
    }
    Ok(())
}

/// Where the target fails on `input`: the `file:line` of the panic, else the kind.
fn signature(sanitizer: Sanitizer, target: &str, input: &Path, kind: &str) -> String {
    let root = std::env::current_dir()
        .map(|d| format!("{}/", d.display()))
        .unwrap_or_default();
    let output = Command::new(binary(target, sanitizer))
        .arg(INPUT_TIMEOUT)
        .arg(input)
        .stdout(Stdio::null())
        .output();
    let stderr = output
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .unwrap_or_default();
    stderr
        .lines()
        .find_map(|l| {
            let at = l.split(" panicked at ").nth(1)?;
            let location = at.trim_end_matches(':');
            // Absolute paths of the workspace's files are named from its root.
            let location = location.strip_prefix(root.as_str()).unwrap_or(location);
            // file:line:column -> file:line
            let (file_line, _column) = location.rsplit_once(':')?;
            Some(file_line.to_owned())
        })
        .unwrap_or_else(|| kind.to_owned())
}

/// The first 12 hex digits of a cheap content hash (FNV-1a, 64 bits): names only.
fn short_hash(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")[..12].to_owned()
}

/// Replaces the working corpus by its merge with the seeds: the smallest set of inputs
/// that keeps every feature.
fn merge(sanitizer: Sanitizer, target: &str, work: &Path, seeds: &Path, logs: &Path) -> Result<()> {
    let merged = work.with_extension("merging");
    let _ = std::fs::remove_dir_all(&merged);
    std::fs::create_dir_all(&merged)?;
    let log = std::fs::File::create(logs.join(format!("{target}.merge.log")))?;
    let status = Command::new(binary(target, sanitizer))
        .arg("-merge=1")
        .arg(INPUT_TIMEOUT)
        .arg(&merged)
        .arg(work)
        .arg(seeds)
        .stdout(Stdio::null())
        .stderr(log)
        .status()
        .context("merging the corpus")?;
    if !status.success() {
        // Keep the unmerged corpus: nothing is lost, it is only larger.
        let _ = std::fs::remove_dir_all(&merged);
        eprintln!("xtask: merging {target}'s corpus failed ({status}); kept it unmerged");
        return Ok(());
    }
    std::fs::remove_dir_all(work)?;
    std::fs::rename(&merged, work)?;
    Ok(())
}

fn print_table(s: &Summary) {
    eprintln!(
        "\n{:<18} {:>8} {:>8} {:>12} {:>10} {:>6} {:>7} {:>8} {:>9} {:>8}",
        "target",
        "seconds",
        "cpu s",
        "executions",
        "exec/s",
        "cov",
        "ft",
        "corpus",
        "bytes",
        "crashes"
    );
    for t in &s.targets {
        eprintln!(
            "{:<18} {:>8.0} {:>8.0} {:>12} {:>10} {:>6} {:>7} {:>8} {:>9} {:>8}",
            t.target,
            t.seconds,
            t.cpu_seconds,
            t.executions,
            t.executions_per_second,
            t.coverage,
            t.features,
            t.corpus_files,
            t.corpus_bytes,
            t.new_crashes.len()
        );
    }
}

/// Builds `frame_decode` with the planted decoder bug and fuzzes it from an empty corpus (so
/// that no seed hands it the answer) until the first crash or `--time`; the crash must be
/// the planted one, and it goes through the same triage as a real finding.
fn planted_bug(o: &Options) -> Result<()> {
    build(o.sanitizer, &["planted-bug"])?;
    let dir = o.out.join("planted");
    let _ = std::fs::remove_dir_all(&dir);
    let corpus = dir.join("corpus");
    std::fs::create_dir_all(&corpus)?;
    let log = dir.join("fuzz.log");
    eprintln!(
        "xtask: fuzzing {PLANTED_TARGET} (planted bug) for at most {} s (log: {})",
        o.time,
        log.display()
    );
    let started = Instant::now();
    let mut cmd = Command::new(binary(PLANTED_TARGET, o.sanitizer));
    cmd.arg(format!("-max_total_time={}", o.time))
        .arg(format!("-artifact_prefix={}/", dir.display()))
        .arg(&corpus);
    let (figures, _) = run_logged(cmd, &log, PLANTED_TARGET)?;
    let elapsed = started.elapsed();
    let found: Vec<PathBuf> = files(&dir)
        .into_iter()
        .filter(|p| artifact_kind(p).is_some())
        .collect();
    // The same triage as a real finding, into the scratch directory: minimised and named.
    let crashes = triage(
        o.sanitizer,
        PLANTED_TARGET,
        &found,
        &dir,
        &dir.join("regressions"),
    )?;
    let outcome = match crashes.first() {
        Some(c) if c.kind == "crash" && c.signature.contains("codec.rs") => {
            eprintln!(
                "xtask: planted bug found after {:.1} s and {} executions, at {}; minimised \
                 to {} bytes ({})",
                elapsed.as_secs_f64(),
                figures.executions,
                c.signature,
                c.bytes,
                c.regression
                    .as_deref()
                    .map_or_else(String::new, |p| p.display().to_string())
            );
            Ok(())
        }
        Some(c) => Err(anyhow::anyhow!(
            "a failure other than the planted bug: {} at {}",
            c.kind,
            c.signature
        )),
        None => Err(anyhow::anyhow!(
            "the planted bug was not found in {} s ({} executions)",
            o.time,
            figures.executions
        )),
    };
    // Leave a normal build behind, so the next run does not fuzz the planted bug.
    build(o.sanitizer, &[])?;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_of_both_modes_parse() {
        let single = "#42583591\tREDUCE cov: 246 ft: 615 corp: 179/19Kb lim: 4096 \
                      exec/s: 269516 rss: 29Mb L: 35/2693 MS: 1 EraseBytes-";
        assert_eq!(
            parse_status(single),
            Some(Figures {
                executions: 42_583_591,
                coverage: 246,
                features: 615,
                exec_per_sec: 269_516
            })
        );
        let fork = "#999046: cov: 249 ft: 503 corp: 132 exec/s: 109606 \
                    oom/timeout/crash: 0/0/0 time: 9s job: 3 dft_time: 0";
        assert_eq!(
            parse_status(fork),
            Some(Figures {
                executions: 999_046,
                coverage: 249,
                features: 503,
                exec_per_sec: 109_606
            })
        );
        assert_eq!(parse_status("INFO: Seed: 1463762760"), None);
        assert_eq!(parse_status("#"), None);
    }

    #[test]
    fn artifact_kinds() {
        assert_eq!(artifact_kind(Path::new("a/crash-0123")), Some("crash"));
        assert_eq!(artifact_kind(Path::new("a/timeout-0123")), Some("timeout"));
        assert_eq!(artifact_kind(Path::new("a/minimized-crash-0123")), None);
        assert_eq!(artifact_kind(Path::new("a/slow-unit-0123")), None);
    }
}
