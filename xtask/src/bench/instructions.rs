//! `cargo xtask bench --instructions`: the instruction counts of the CPU-bound paths (each
//! package's `benches/instructions.rs`, gungraun on valgrind's callgrind), compared with the
//! committed counts of `xtask/instructions.json`. Counts do not move with the machine's load,
//! so this is the gate CI runs; `--bless` writes the counts of an intended change.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// Where the committed counts live, from the workspace root.
pub const COMMITTED: &str = "xtask/instructions.json";

/// `[instructions]` of `xtask/bench.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstructionsSpec {
    packages: Vec<String>,
    bench: String,
    runner_version: String,
    regression_percent: f64,
}

impl InstructionsSpec {
    /// Makes sure `gungraun-runner` is installed, in the version named here.
    pub fn ensure_runner(&self) -> Result<()> {
        ensure_runner(&self.runner_version)
    }
}

/// Counts by benchmark: `package/group/function.bench`.
pub type Counts = BTreeMap<String, u64>;

/// The committed counts, with what they were counted on. The same code counts differently
/// where glibc, the SHA-256 and the curve arithmetic pick other instructions (the CPU's
/// features), or where valgrind or the compiler differ: counts are compared only on a
/// machine like the one they were blessed on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Committed {
    pub machine: Machine,
    pub counts: Counts,
}

/// What an instruction count depends on besides the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    pub arch: String,
    /// The CPU features that libraries choose code paths by, of those the CPU has.
    pub cpu_features: Vec<String>,
    pub valgrind: String,
    pub rustc: String,
}

/// The features glibc's string functions, sha2 and curve25519-dalek dispatch on.
const DISPATCH_FEATURES: [&str; 10] = [
    "sse4_1", "sse4_2", "avx", "avx2", "bmi2", "erms", "fsrm", "sha_ni", "avx512f", "adx",
];

impl Machine {
    fn this() -> Machine {
        let flags = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let have: std::collections::BTreeSet<&str> = flags
            .lines()
            .find_map(|l| l.strip_prefix("flags"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, f)| f.split_whitespace().collect())
            .unwrap_or_default();
        let version = |program: &str| {
            Command::new(program)
                .arg("--version")
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_default()
        };
        Machine {
            arch: std::env::consts::ARCH.to_owned(),
            cpu_features: DISPATCH_FEATURES
                .iter()
                .filter(|f| have.contains(*f))
                .map(|f| (*f).to_owned())
                .collect(),
            valgrind: version("valgrind"),
            rustc: version("rustc"),
        }
    }
}

/// What comparing a run with the committed counts found, benchmark by benchmark.
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// Grew by more than the allowed share: fails the run.
    Regressed { id: String, was: u64, now: u64 },
    /// Shrank by more than the allowed share: worth blessing, never a failure.
    Improved { id: String, was: u64, now: u64 },
    /// Measured, but not in the committed counts: fails until blessed, so that no benchmark
    /// runs ungated.
    NotCommitted { id: String, now: u64 },
    /// Committed, but not measured: fails, so that a benchmark cannot leave the gate unseen.
    NotMeasured { id: String, was: u64 },
}

impl Finding {
    pub fn fails(&self) -> bool {
        !matches!(self, Finding::Improved { .. })
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let change = |was: u64, now: u64| (now as f64 / was.max(1) as f64 - 1.0) * 100.0;
        match self {
            Finding::Regressed { id, was, now } => write!(
                f,
                "{id}: {now} instructions, {was} committed ({:+.2}%)",
                change(*was, *now)
            ),
            Finding::Improved { id, was, now } => write!(
                f,
                "{id}: {now} instructions, {was} committed ({:+.2}%): bless it",
                change(*was, *now)
            ),
            Finding::NotCommitted { id, now } => write!(
                f,
                "{id}: {now} instructions, not in {COMMITTED} (run with --bless)"
            ),
            Finding::NotMeasured { id, was } => write!(
                f,
                "{id}: {was} committed in {COMMITTED}, but not measured by this run"
            ),
        }
    }
}

/// Compares a run with the committed counts. Pure; `percent` is the share a count may grow
/// (or shrink, for the note) before it is reported.
pub fn compare(committed: &Counts, now: &Counts, percent: f64) -> Vec<Finding> {
    let share = percent / 100.0;
    let mut found = Vec::new();
    for (id, &n) in now {
        match committed.get(id) {
            None => found.push(Finding::NotCommitted {
                id: id.clone(),
                now: n,
            }),
            Some(&was) if n as f64 > was as f64 * (1.0 + share) => found.push(Finding::Regressed {
                id: id.clone(),
                was,
                now: n,
            }),
            Some(&was) if (n as f64) < was as f64 * (1.0 - share) => {
                found.push(Finding::Improved {
                    id: id.clone(),
                    was,
                    now: n,
                })
            }
            Some(_) => {}
        }
    }
    for (id, &was) in committed {
        if !now.contains_key(id) {
            found.push(Finding::NotMeasured {
                id: id.clone(),
                was,
            });
        }
    }
    found
}

/// Runs the instruction benchmarks and gates on them (or, with `bless`, commits their counts).
pub fn run(root: &Path, spec: &InstructionsSpec, bless: bool) -> Result<()> {
    ensure_valgrind()?;
    spec.ensure_runner()?;
    let now = measure(spec)?;
    if now.is_empty() {
        bail!("the instruction benchmarks reported no count");
    }
    let out = root.join("target/bench/instructions.json");
    std::fs::write(&out, serde_json::to_string_pretty(&now)? + "\n")
        .with_context(|| format!("writing {}", out.display()))?;
    let committed_path = root.join(COMMITTED);
    let machine = Machine::this();
    if bless {
        let committed = Committed {
            machine,
            counts: now,
        };
        std::fs::write(
            &committed_path,
            serde_json::to_string_pretty(&committed)? + "\n",
        )
        .with_context(|| format!("writing {}", committed_path.display()))?;
        eprintln!(
            "xtask: blessed {} counts into {COMMITTED}",
            committed.counts.len()
        );
        return Ok(());
    }
    let Committed {
        machine: blessed_on,
        counts: committed,
    } = serde_json::from_str(
        &std::fs::read_to_string(&committed_path)
            .with_context(|| format!("reading {}", committed_path.display()))?,
    )
    .with_context(|| format!("parsing {}", committed_path.display()))?;
    println!(
        "{:<58} {:>12} {:>12} {:>9}",
        "benchmark", "instructions", "committed", "change"
    );
    for (id, n) in &now {
        let (was, change) = match committed.get(id) {
            Some(&was) => (
                was.to_string(),
                format!("{:+.2}%", (*n as f64 / was.max(1) as f64 - 1.0) * 100.0),
            ),
            None => ("-".into(), String::new()),
        };
        println!("{id:<58} {n:>12} {was:>12} {change:>9}");
    }
    let found = compare(&committed, &now, spec.regression_percent);
    for f in &found {
        eprintln!("xtask: {f}");
    }
    let failures = found.iter().filter(|f| f.fails()).count();
    if blessed_on != machine {
        // Not a pass: the comparison means nothing here, and the run says so loudly.
        eprintln!(
            "xtask: WARNING: the committed counts were blessed on another machine ({blessed_on:?}); \
             this one is {machine:?}. Counts differ with the CPU's features, valgrind and the \
             compiler, so they are shown but not gated here."
        );
        return Ok(());
    }
    if failures > 0 {
        bail!(
            "{failures} instruction count(s) off the committed counts by more than {}% (an \
             intended change: cargo xtask bench --instructions --bless)",
            spec.regression_percent
        );
    }
    eprintln!(
        "xtask: {} instruction counts within {}% of {COMMITTED}; wrote {}",
        now.len(),
        spec.regression_percent,
        out.display()
    );
    Ok(())
}

fn ensure_valgrind() -> Result<()> {
    let found = Command::new("valgrind")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        bail!(
            "valgrind is not installed; the instruction counts need it \
             (apt-get install -y --no-install-recommends valgrind)"
        );
    }
    Ok(())
}

/// gungraun's benchmarks hand their run to `gungraun-runner`, which must be the crate's
/// version: installed from crates.io when it is missing or another.
fn ensure_runner(version: &str) -> Result<()> {
    let installed = Command::new("gungraun-runner")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    if installed.as_deref().is_some_and(|v| v.contains(version)) {
        return Ok(());
    }
    eprintln!("xtask: installing gungraun-runner {version} (cargo install)");
    crate::cargo(&[
        "install",
        "--locked",
        "gungraun-runner",
        "--version",
        version,
    ])
}

/// One line of gungraun's `--output-format=json`: the parts of it read here.
#[derive(Deserialize)]
struct GungraunSummary {
    output_dir: String,
    profiles: Vec<GungraunProfile>,
}

#[derive(Deserialize)]
struct GungraunProfile {
    tool: String,
    data: GungraunData,
}

#[derive(Deserialize)]
struct GungraunData {
    total: GungraunTotal,
}

#[derive(Deserialize)]
struct GungraunTotal {
    metrics: BTreeMap<String, GungraunMetric>,
}

#[derive(Deserialize)]
struct GungraunMetric {
    values: GungraunValues,
}

#[derive(Deserialize)]
struct GungraunValues {
    new: serde_json::Value,
}

fn measure(spec: &InstructionsSpec) -> Result<Counts> {
    let mut counts = Counts::new();
    for package in &spec.packages {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        eprintln!(
            "xtask: cargo bench -p {package} --bench {} -- --output-format=json",
            spec.bench
        );
        let output = Command::new(&cargo)
            .args(["bench", "-p", package, "--bench", &spec.bench, "--"])
            .arg("--output-format=json")
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("running the instruction benchmarks of {package}"))?;
        if !output.status.success() {
            bail!(
                "the instruction benchmarks of {package} failed ({})",
                output.status
            );
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let found = parse_counts(&text).with_context(|| format!("reading {package}'s counts"))?;
        if found.is_empty() {
            bail!("the instruction benchmarks of {package} reported no count");
        }
        counts.extend(found);
    }
    Ok(counts)
}

/// The callgrind instruction count (`Ir`) of each benchmark in gungraun's JSON lines, by its
/// output folder under `target/gungraun/` (package, bench target, group, function, bench).
fn parse_counts(text: &str) -> Result<Counts> {
    let mut counts = Counts::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let summary: GungraunSummary = serde_json::from_str(line)
            .with_context(|| format!("line {}: not a gungraun summary", i + 1))?;
        let id = summary
            .output_dir
            .split_once("gungraun/")
            .map_or(summary.output_dir.as_str(), |(_, rest)| rest)
            .replacen("/instructions/", "/", 1);
        let ir = summary
            .profiles
            .iter()
            .find(|p| p.tool == "Callgrind")
            .and_then(|p| p.data.total.metrics.get("Ir"))
            .and_then(|m| m.values.new.as_u64())
            .with_context(|| format!("{id}: no callgrind instruction count"))?;
        counts.insert(id, ir);
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, u64)]) -> Counts {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    #[test]
    fn a_planted_regression_fails_the_gate() {
        let committed = counts(&[
            ("ipc/frame_decode.b64", 1000),
            ("ipc/frame_encode.b64", 700),
        ]);
        // One path made 5% slower: the planted regression.
        let now = counts(&[
            ("ipc/frame_decode.b64", 1050),
            ("ipc/frame_encode.b64", 700),
        ]);
        let found = compare(&committed, &now, 2.0);
        assert_eq!(
            found,
            vec![Finding::Regressed {
                id: "ipc/frame_decode.b64".into(),
                was: 1000,
                now: 1050
            }]
        );
        assert!(found[0].fails());
    }

    #[test]
    fn within_the_share_or_faster_passes() {
        let committed = counts(&[("a", 1000), ("b", 1000)]);
        let now = counts(&[("a", 1019), ("b", 500)]);
        let found = compare(&committed, &now, 2.0);
        assert_eq!(found.len(), 1);
        assert!(matches!(found[0], Finding::Improved { .. }));
        assert!(!found[0].fails());
    }

    #[test]
    fn a_benchmark_added_or_gone_fails_until_blessed() {
        let committed = counts(&[("old", 10)]);
        let now = counts(&[("new", 10)]);
        let found = compare(&committed, &now, 2.0);
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(Finding::fails));
    }

    #[test]
    fn counts_are_read_from_gungraun_json_lines() {
        let line = r#"{"output_dir":"target/gungraun/sbx-ipc/instructions/wire/frame_encode.b64","profiles":[{"tool":"Callgrind","data":{"total":{"metrics":{"Ir":{"values":{"new":694}}}}}}]}"#;
        assert_eq!(
            parse_counts(line).unwrap(),
            counts(&[("sbx-ipc/wire/frame_encode.b64", 694)])
        );
        assert!(parse_counts("not json").is_err());
        let no_ir = r#"{"output_dir":"x","profiles":[{"tool":"Callgrind","data":{"total":{"metrics":{}}}}]}"#;
        assert!(parse_counts(no_ir).is_err());
    }

    #[test]
    fn the_committed_counts_name_every_benchmark_file() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let committed: Committed =
            serde_json::from_str(&std::fs::read_to_string(root.join(COMMITTED)).unwrap()).unwrap();
        let spec: super::super::BenchSpec =
            toml::from_str(&std::fs::read_to_string(root.join("xtask/bench.toml")).unwrap())
                .unwrap();
        for package in &spec.instructions.packages {
            assert!(
                committed
                    .counts
                    .keys()
                    .any(|k| k.starts_with(&format!("{package}/"))),
                "{package}'s instruction benchmarks have no committed count"
            );
        }
    }
}
