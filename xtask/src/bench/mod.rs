//! `cargo xtask bench`: runs the criterion benchmarks named in `xtask/bench.toml`, pairs each
//! figure with its floor from the same run, prints the ratios, writes
//! `target/bench/summary.json`, appends the run to `target/bench/history.jsonl`, draws the
//! history's trend (`target/bench/trend.svg`), and saves or compares named baselines. A
//! regression beyond the noise (see [`regressions`]) fails the run. With `--instructions`,
//! the instruction counts instead ([`instructions`]), the gate CI runs. A full run also
//! times the conformance suite ([`suite`]).

mod instructions;
mod suite;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// The benchmark history's chart (the conformance report shows it when it is there).
pub const TREND_CHART: &str = "target/bench/trend.svg";

const USAGE: &str = "\
usage: cargo xtask bench [--quick] [--filter REGEX] [--save NAME] [--baseline NAME]
       cargo xtask bench --instructions [--bless]

Runs the benchmarks of xtask/bench.toml (criterion, in release mode), pairs each figure with
its floor measured in the same run, prints figure, floor and ratio, and writes
target/bench/summary.json (and summary.md, a Markdown table), target/bench/history.jsonl and
target/bench/trend.svg. A full run also times the whole conformance suite against the
reference once (about a minute and a half), against its budget.

    --quick          criterion's quick mode: fewer samples, wider intervals (for CI); the
                     suite is not timed
    --filter REGEX   only the benchmarks whose id matches (criterion's filter); figures
                     whose benchmarks did not run are listed as not measured (the suite's
                     id is conformance/reference: --filter conformance times it alone)
    --save NAME      keep this run's summary as target/bench/baselines/NAME.json
    --baseline NAME  compare with that baseline and fail on a regression beyond the noise

    --instructions   instead, the instruction counts of the CPU-bound paths (gungraun on
                     valgrind; installs gungraun-runner if needed), compared with the
                     committed xtask/instructions.json: a count grown beyond
                     [instructions] regression_percent of xtask/bench.toml fails the run
    --bless          with --instructions: write this run's counts to xtask/instructions.json
";

/// Reads `xtask/bench.toml` under the checkout `root`.
fn read_spec(root: &Path) -> Result<BenchSpec> {
    toml::from_str(
        &std::fs::read_to_string(root.join("xtask/bench.toml"))
            .context("reading xtask/bench.toml")?,
    )
    .context("parsing xtask/bench.toml")
}

/// Makes sure `gungraun-runner` is installed, in the version bench.toml names: a test run
/// of the workspace (`--all-targets`) runs the instruction benchmarks once each, and
/// gungraun's harness hands even that to the runner (valgrind is not needed for it).
pub fn ensure_instructions_runner(root: &Path) -> Result<()> {
    read_spec(root)?.instructions.ensure_runner()
}

/// `xtask/bench.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BenchSpec {
    suite: Vec<Suite>,
    regression: RegressionRule,
    figure: Vec<FigureSpec>,
    suite_wall: suite::SuiteWallSpec,
    instructions: instructions::InstructionsSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Suite {
    package: String,
    bench: String,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegressionRule {
    wall_ratio_percent: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FigureSpec {
    id: String,
    floor: String,
    unit: Unit,
    #[serde(default)]
    target: Option<Target>,
    #[serde(default)]
    needs: Option<String>,
    what: String,
}

/// How a figure is read from criterion's median time per iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Unit {
    /// The time of one iteration: lower is better.
    #[serde(rename = "ns")]
    Nanoseconds,
    /// One iteration is one call: calls per second, higher is better.
    #[serde(rename = "calls/s")]
    CallsPerSecond,
    /// A whole run's wall time (the suite's), measured once: lower is better.
    #[serde(rename = "s")]
    Seconds,
}

impl Unit {
    /// The figure's value from a time per iteration in nanoseconds.
    fn value(self, ns: f64) -> f64 {
        match self {
            Unit::Nanoseconds => ns,
            Unit::CallsPerSecond => 1e9 / ns,
            Unit::Seconds => ns / 1e9,
        }
    }

    fn higher_is_better(self) -> bool {
        self == Unit::CallsPerSecond
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Target {
    /// The ratio at most this.
    AtMost(f64),
    /// The ratio at least this.
    AtLeast(f64),
    /// The value itself at most this many seconds (a budget, not a ratio).
    SecondsAtMost(f64),
}

impl Target {
    fn met_by(self, f: &Figure) -> bool {
        match self {
            Target::AtMost(r) => f.ratio <= r,
            Target::AtLeast(r) => f.ratio >= r,
            Target::SecondsAtMost(s) => f.value <= s,
        }
    }
}

/// One record of `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Figure {
    id: String,
    value: f64,
    unit: Unit,
    floor_id: String,
    floor: f64,
    ratio: f64,
    /// The ratio's 95% interval, from the two medians' intervals (the figure's worst end
    /// over the floor's best, and the other way round).
    ratio_interval: [f64; 2],
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<Target>,
    what: String,
}

impl Figure {
    /// Figures are compared across runs by what they measure against what.
    fn key(&self) -> String {
        format!("{} vs {}", self.id, self.floor_id)
    }
}

/// What one run measured, as written to `summary.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Summary {
    /// Seconds since the Unix epoch at the end of the run.
    finished: u64,
    /// The commit measured (`git rev-parse HEAD`), if the checkout has one.
    commit: Option<String>,
    quick: bool,
    figures: Vec<Figure>,
    /// Figures of bench.toml this run could not measure, and why.
    not_measured: Vec<NotMeasured>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct NotMeasured {
    id: String,
    floor_id: String,
    why: String,
}

/// A criterion median, in nanoseconds per iteration, with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Median {
    point: f64,
    lower: f64,
    upper: f64,
}

struct Options {
    quick: bool,
    filter: Option<String>,
    save: Option<String>,
    baseline: Option<String>,
    instructions: bool,
    bless: bool,
}

pub fn bench(args: &[String]) -> Result<()> {
    let opts = parse(args)?;
    let root = std::env::current_dir()?;
    let spec = read_spec(&root)?;
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    if opts.instructions {
        return instructions::run(&root, &spec.instructions, opts.bless);
    }
    // Only a baseline that exists can be compared with: refused before the long run.
    let baseline = match &opts.baseline {
        Some(name) => Some(read_summary(&baseline_path(&out, name)?)?),
        None => None,
    };

    // The benchmarks spawn the release runner (find_runner: beside the bench binary).
    crate::cargo(&["build", "--release", "-p", "sbx-runner"])?;
    let started = SystemTime::now();
    for suite in &spec.suite {
        let mut args = vec!["bench", "-p", &suite.package, "--bench", &suite.bench, "--"];
        if opts.quick {
            args.push("--quick");
        }
        if let Some(f) = &opts.filter {
            args.push(f);
        }
        crate::cargo(&args)?;
    }
    let medians = read_criterion(&root.join("target/criterion"), started)?;
    let mut summary = summarise(&spec, &medians, opts.quick, commit(&root));
    let suite_filtered_out = !filter_matches(opts.filter.as_deref(), &spec.suite_wall.id)?;
    if opts.quick {
        summary.not_measured.push(suite::skipped(
            &spec.suite_wall,
            "the quick mode does not time the whole suite",
        ));
    } else if suite_filtered_out {
        summary.not_measured.push(suite::skipped(
            &spec.suite_wall,
            "--filter does not match its id",
        ));
    } else {
        summary
            .figures
            .push(suite::measure(&root, &spec.suite_wall)?);
    }
    print_table(&summary);
    if summary.figures.is_empty() {
        bail!("no figure of xtask/bench.toml was measured (see the list above)");
    }

    let summary_path = out.join("summary.json");
    std::fs::write(
        &summary_path,
        serde_json::to_string_pretty(&summary)? + "\n",
    )
    .with_context(|| format!("writing {}", summary_path.display()))?;
    let table_path = out.join("summary.md");
    std::fs::write(&table_path, markdown_table(&summary))
        .with_context(|| format!("writing {}", table_path.display()))?;
    let history_path = out.join("history.jsonl");
    append_history(&history_path, &summary)?;
    let history = read_history(&history_path)?;
    let chart = root.join(TREND_CHART);
    std::fs::write(&chart, trend_svg(&history))
        .with_context(|| format!("writing {}", chart.display()))?;
    eprintln!(
        "xtask: wrote {} and {}",
        summary_path.display(),
        table_path.display()
    );
    eprintln!("xtask: appended to {}", history_path.display());
    eprintln!("xtask: drew {}", chart.display());
    if let Some(name) = &opts.save {
        let path = baseline_path(&out, name)?;
        std::fs::create_dir_all(path.parent().expect("baselines/"))?;
        std::fs::copy(&summary_path, &path)
            .with_context(|| format!("saving the baseline {}", path.display()))?;
        eprintln!("xtask: saved the baseline {}", path.display());
    }
    if let Some(baseline) = baseline {
        let found = regressions(&baseline, &summary, spec.regression);
        for r in &found {
            eprintln!("xtask: regression: {r}");
        }
        if !found.is_empty() {
            bail!(
                "{} figure(s) regressed against the baseline {}",
                found.len(),
                opts.baseline.as_deref().unwrap_or_default()
            );
        }
        eprintln!("xtask: no regression against the baseline");
    }
    Ok(())
}

/// Whether `--filter` (criterion's, a regular expression) selects the figure `id`; every
/// figure without one.
fn filter_matches(filter: Option<&str>, id: &str) -> Result<bool> {
    match filter {
        Some(f) => Ok(regex::Regex::new(f)
            .with_context(|| format!("--filter {f:?} is not a regular expression"))?
            .is_match(id)),
        None => Ok(true),
    }
}

fn parse(args: &[String]) -> Result<Options> {
    let mut opts = Options {
        quick: false,
        filter: None,
        save: None,
        baseline: None,
        instructions: false,
        bless: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .with_context(|| format!("{flag} needs a value"))
        };
        match a.as_str() {
            "--quick" => opts.quick = true,
            "--instructions" => opts.instructions = true,
            "--bless" => opts.bless = true,
            "--filter" => opts.filter = Some(value("--filter")?),
            "--save" => opts.save = Some(value("--save")?),
            "--baseline" => opts.baseline = Some(value("--baseline")?),
            "--help" | "-h" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument `{other}`\n\n{USAGE}"),
        }
    }
    let wall_only = opts.quick || opts.filter.is_some() || opts.save.is_some();
    if opts.instructions && (wall_only || opts.baseline.is_some()) {
        bail!("--instructions takes only --bless: the wall-time options do not apply");
    }
    if opts.bless && !opts.instructions {
        bail!("--bless writes instruction counts: use it with --instructions");
    }
    Ok(opts)
}

/// A baseline's file; its name is one path component of letters, digits, `-`, `_`, `.`.
fn baseline_path(out: &Path, name: &str) -> Result<PathBuf> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !plain {
        bail!(
            "a baseline's name is letters, digits, '-', '_' and '.' (not starting with '.'): {name:?}"
        );
    }
    Ok(out.join("baselines").join(format!("{name}.json")))
}

fn read_summary(path: &Path) -> Result<Summary> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the baseline {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn commit(root: &Path) -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Criterion's medians of every benchmark that finished after `since`, by full id. Older
/// results in the folder (another run's, a benchmark filtered out) are not this run's. No
/// folder: criterion ran no benchmark (`--filter` chose none, as `--filter conformance`
/// does on a fresh checkout); a run that measured nothing at all is refused by its caller.
fn read_criterion(dir: &Path, since: SystemTime) -> Result<BTreeMap<String, Median>> {
    let mut medians = BTreeMap::new();
    if !dir.is_dir() {
        return Ok(medians);
    }
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                // `base` and `change` are criterion's older copies; only `new` is this run.
                if path.file_name().is_some_and(|n| n == "new") {
                    if let Some((id, median)) = read_new(&path, since)? {
                        medians.insert(id, median);
                    }
                } else if !path
                    .file_name()
                    .is_some_and(|n| n == "base" || n == "report")
                {
                    pending.push(path);
                }
            }
        }
    }
    Ok(medians)
}

#[derive(Deserialize)]
struct CriterionBenchmark {
    full_id: String,
}

#[derive(Deserialize)]
struct CriterionEstimates {
    median: CriterionEstimate,
}

#[derive(Deserialize)]
struct CriterionEstimate {
    point_estimate: f64,
    confidence_interval: CriterionInterval,
}

#[derive(Deserialize)]
struct CriterionInterval {
    lower_bound: f64,
    upper_bound: f64,
}

fn read_new(dir: &Path, since: SystemTime) -> Result<Option<(String, Median)>> {
    let estimates_path = dir.join("estimates.json");
    let benchmark_path = dir.join("benchmark.json");
    let Ok(meta) = std::fs::metadata(&estimates_path) else {
        return Ok(None);
    };
    if meta.modified()? < since {
        return Ok(None);
    }
    let benchmark: CriterionBenchmark = serde_json::from_str(
        &std::fs::read_to_string(&benchmark_path)
            .with_context(|| format!("reading {}", benchmark_path.display()))?,
    )
    .with_context(|| format!("parsing {}", benchmark_path.display()))?;
    let estimates: CriterionEstimates = serde_json::from_str(
        &std::fs::read_to_string(&estimates_path)
            .with_context(|| format!("reading {}", estimates_path.display()))?,
    )
    .with_context(|| format!("parsing {}", estimates_path.display()))?;
    let m = estimates.median;
    Ok(Some((
        benchmark.full_id,
        Median {
            point: m.point_estimate,
            lower: m.confidence_interval.lower_bound,
            upper: m.confidence_interval.upper_bound,
        },
    )))
}

/// Pairs every figure of the spec with its floor; a figure or floor that did not run is
/// listed as not measured, with the reason.
fn summarise(
    spec: &BenchSpec,
    medians: &BTreeMap<String, Median>,
    quick: bool,
    commit: Option<String>,
) -> Summary {
    let mut figures = Vec::new();
    let mut not_measured = Vec::new();
    for f in &spec.figure {
        match (medians.get(&f.id), medians.get(&f.floor)) {
            (Some(v), Some(floor)) => figures.push(pair(f, *v, *floor)),
            (value, floor) => {
                let missing: Vec<&str> = [(value, &f.id), (floor, &f.floor)]
                    .into_iter()
                    .filter(|(m, _)| m.is_none())
                    .map(|(_, id)| id.as_str())
                    .collect();
                let mut why = format!("{} did not run in this run", missing.join(" and "));
                if let Some(program) = &f.needs {
                    why.push_str(&format!(" (it needs `{program}`)"));
                }
                not_measured.push(NotMeasured {
                    id: f.id.clone(),
                    floor_id: f.floor.clone(),
                    why,
                });
            }
        }
    }
    let finished = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    Summary {
        finished,
        commit,
        quick,
        figures,
        not_measured,
    }
}

fn pair(spec: &FigureSpec, value: Median, floor: Median) -> Figure {
    let unit = spec.unit;
    let v = unit.value(value.point);
    let fl = unit.value(floor.point);
    // The interval of a ratio of two independent estimates: each end of one against the
    // opposite end of the other. In calls per second the time's upper end is the rate's lower.
    let ends = [
        unit.value(value.lower) / unit.value(floor.upper),
        unit.value(value.upper) / unit.value(floor.lower),
    ];
    Figure {
        id: spec.id.clone(),
        value: v,
        unit,
        floor_id: spec.floor.clone(),
        floor: fl,
        ratio: v / fl,
        ratio_interval: [ends[0].min(ends[1]), ends[0].max(ends[1])],
        target: spec.target,
        what: spec.what.clone(),
    }
}

fn print_table(summary: &Summary) {
    println!(
        "{:<26} {:>14} {:<26} {:>14} {:>8} {:>17} target",
        "figure", "value", "floor", "floor value", "ratio", "ratio 95%"
    );
    for f in &summary.figures {
        let target = target_text(f, ["<=", ">="]);
        println!(
            "{:<26} {:>14} {:<26} {:>14} {:>8.3} {:>8.3}..{:<7.3} {}",
            f.id,
            show(f.value, f.unit),
            f.floor_id,
            show(f.floor, f.unit),
            f.ratio,
            f.ratio_interval[0],
            f.ratio_interval[1],
            target
        );
    }
    for n in &summary.not_measured {
        println!("{} against {}: not measured: {}", n.id, n.floor_id, n.why);
    }
}

/// A figure's target and whether the run met it (empty without one), with `signs` for
/// "at most" and "at least".
fn target_text(f: &Figure, signs: [&str; 2]) -> String {
    let Some(t) = f.target else {
        return String::new();
    };
    let verdict = if t.met_by(f) { "met" } else { "missed" };
    match t {
        Target::AtMost(r) => format!("{} {r}: {verdict}", signs[0]),
        Target::AtLeast(r) => format!("{} {r}: {verdict}", signs[1]),
        Target::SecondsAtMost(s) => format!("{} {s} s: {verdict}", signs[0]),
    }
}

/// The run as a Markdown table (what the README's performance section shows).
fn markdown_table(summary: &Summary) -> String {
    let mut out = String::from("| figure | value | floor | floor value | ratio (95%) | target |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for f in &summary.figures {
        let target = target_text(f, ["≤", "≥"]);
        out.push_str(&format!(
            "| {} (`{}`) | {} | `{}` | {} | {:.2} ({:.2}..{:.2}) | {} |\n",
            f.what,
            f.id,
            show(f.value, f.unit),
            f.floor_id,
            show(f.floor, f.unit),
            f.ratio,
            f.ratio_interval[0],
            f.ratio_interval[1],
            target
        ));
    }
    for n in &summary.not_measured {
        out.push_str(&format!(
            "| `{}` against `{}` | not measured: {} | | | | |\n",
            n.id, n.floor_id, n.why
        ));
    }
    out
}

/// A value with a readable unit.
fn show(value: f64, unit: Unit) -> String {
    match unit {
        Unit::CallsPerSecond => format!("{:.0} calls/s", value),
        Unit::Nanoseconds if value >= 1e6 => format!("{:.3} ms", value / 1e6),
        Unit::Nanoseconds if value >= 1e3 => format!("{:.3} µs", value / 1e3),
        Unit::Nanoseconds => format!("{:.1} ns", value),
        Unit::Seconds => format!("{:.1} s", value),
    }
}

/// The figures of `now` that regressed against `base`: the ratio moved the wrong way by
/// more than the rule's share, and the two intervals of the ratio do not overlap. Both
/// conditions, so that neither a tiny but certain change nor a large but noisy one fails.
fn regressions(base: &Summary, now: &Summary, rule: RegressionRule) -> Vec<String> {
    let before: BTreeMap<String, &Figure> = base.figures.iter().map(|f| (f.key(), f)).collect();
    let mut found = Vec::new();
    for f in &now.figures {
        let Some(b) = before.get(&f.key()) else {
            continue;
        };
        // Measured once: without an interval, noise and change cannot be told apart, so
        // the figure is reported and drawn, never gated.
        if f.unit == Unit::Seconds {
            continue;
        }
        let share = rule.wall_ratio_percent / 100.0;
        let (worse, separated) = if f.unit.higher_is_better() {
            (
                f.ratio < b.ratio * (1.0 - share),
                f.ratio_interval[1] < b.ratio_interval[0],
            )
        } else {
            (
                f.ratio > b.ratio * (1.0 + share),
                f.ratio_interval[0] > b.ratio_interval[1],
            )
        };
        if worse && separated {
            found.push(format!(
                "{}: ratio {:.3} (95% {:.3}..{:.3}), was {:.3} (95% {:.3}..{:.3})",
                f.key(),
                f.ratio,
                f.ratio_interval[0],
                f.ratio_interval[1],
                b.ratio,
                b.ratio_interval[0],
                b.ratio_interval[1]
            ));
        }
    }
    found
}

fn append_history(path: &Path, summary: &Summary) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(file, "{}", serde_json::to_string(summary)?)
        .with_context(|| format!("appending to {}", path.display()))
}

/// Every run of the history, oldest first. A line that does not parse is an error that names
/// it: a history silently shortened would draw a false trend.
fn read_history(path: &Path) -> Result<Vec<Summary>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .with_context(|| format!("{}:{}: not a run's summary", path.display(), i + 1))
        })
        .collect()
}

/// The ratio of every figure over the runs of the history, one line each, on a shared axis
/// of ratios (1.0, the floor, drawn across).
fn trend_svg(history: &[Summary]) -> String {
    use plotters::prelude::*;
    let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for (run, summary) in history.iter().enumerate() {
        for f in &summary.figures {
            series
                .entry(f.key())
                .or_default()
                .push((run as f64, f.ratio));
        }
    }
    let runs = history.len().max(2) as f64 - 1.0;
    // A logarithmic axis: ratios run from well under 1 to the thousands (a call against an
    // in-process call), and a doubling should look the same wherever it happens.
    let ratios = series.values().flatten().map(|&(_, r)| r);
    let top = ratios.clone().fold(1.0f64, f64::max) * 1.25;
    let bottom = ratios.fold(1.0f64, f64::min) * 0.8;
    let mut svg = String::new();
    {
        let height = 360 + 18 * series.len() as u32;
        let area = SVGBackend::with_string(&mut svg, (960, height)).into_drawing_area();
        let _ = area.fill(&WHITE);
        let (plot, legend) = area.split_vertically(360);
        let chart = ChartBuilder::on(&plot)
            .caption("ratio to floor, by run (logarithmic)", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..runs, (bottom..top).log_scale());
        let Ok(mut chart) = chart else {
            return svg_fallback();
        };
        let _ = chart
            .configure_mesh()
            .x_desc("run (oldest first)")
            .y_desc("ratio to floor")
            .draw();
        let _ = chart.draw_series(LineSeries::new([(0.0, 1.0), (runs, 1.0)], BLACK.mix(0.4)));
        for (i, (key, points)) in series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let _ = chart.draw_series(LineSeries::new(points.iter().copied(), color));
            let _ = chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())));
            let y = 4 + 18 * i as i32;
            let _ = legend.draw(&Rectangle::new([(60, y + 4), (80, y + 10)], color.filled()));
            let _ = legend.draw(&Text::new(
                key.clone(),
                (88, y),
                ("sans-serif", 13).into_font(),
            ));
        }
        let _ = area.present();
    }
    svg
}

fn svg_fallback() -> String {
    "<svg xmlns=\"http://www.w3.org/2000/svg\"><text x=\"10\" y=\"20\">no chart</text></svg>\n"
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(ratio: f64, interval: [f64; 2], unit: Unit) -> Figure {
        Figure {
            id: "invoke/sandbox/64B".into(),
            value: ratio,
            unit,
            floor_id: "invoke/socketpair/64B".into(),
            floor: 1.0,
            ratio,
            ratio_interval: interval,
            target: None,
            what: String::new(),
        }
    }

    fn run(f: Figure) -> Summary {
        Summary {
            finished: 0,
            commit: None,
            quick: false,
            figures: vec![f],
            not_measured: vec![],
        }
    }

    const RULE: RegressionRule = RegressionRule {
        wall_ratio_percent: 10.0,
    };

    #[test]
    fn no_criterion_folder_is_no_criterion_figure() {
        let missing = std::env::temp_dir().join(format!("sbx-no-criterion-{}", std::process::id()));
        assert!(
            read_criterion(&missing, SystemTime::UNIX_EPOCH)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_planted_regression_fails_the_comparison() {
        let base = run(figure(1.00, [0.98, 1.02], Unit::Nanoseconds));
        let slower = run(figure(1.30, [1.27, 1.33], Unit::Nanoseconds));
        assert_eq!(regressions(&base, &slower, RULE).len(), 1);
        let fewer_calls = run(figure(0.70, [0.68, 0.72], Unit::CallsPerSecond));
        let base_rate = run(figure(1.00, [0.98, 1.02], Unit::CallsPerSecond));
        assert_eq!(regressions(&base_rate, &fewer_calls, RULE).len(), 1);
    }

    #[test]
    fn noise_and_small_moves_do_not_fail_it() {
        let base = run(figure(1.00, [0.98, 1.02], Unit::Nanoseconds));
        // Large, but the intervals overlap: a noisy run.
        let noisy = run(figure(1.30, [0.95, 1.60], Unit::Nanoseconds));
        assert!(regressions(&base, &noisy, RULE).is_empty());
        // Certain, but within the share.
        let slight = run(figure(1.05, [1.04, 1.06], Unit::Nanoseconds));
        assert!(regressions(&base, &slight, RULE).is_empty());
        // Faster is never a regression.
        let faster = run(figure(0.50, [0.49, 0.51], Unit::Nanoseconds));
        assert!(regressions(&base, &faster, RULE).is_empty());
    }

    #[test]
    fn a_ratio_pairs_opposite_ends_of_the_intervals() {
        let spec = FigureSpec {
            id: "a".into(),
            floor: "b".into(),
            unit: Unit::Nanoseconds,
            target: None,
            needs: None,
            what: String::new(),
        };
        let m = |point, lower, upper| Median {
            point,
            lower,
            upper,
        };
        let f = pair(&spec, m(200.0, 190.0, 210.0), m(100.0, 95.0, 105.0));
        assert_eq!(f.ratio, 2.0);
        assert_eq!(f.ratio_interval, [190.0 / 105.0, 210.0 / 95.0]);
        let rate = pair(
            &FigureSpec {
                unit: Unit::CallsPerSecond,
                ..spec
            },
            m(200.0, 190.0, 210.0),
            m(100.0, 95.0, 105.0),
        );
        assert_eq!(rate.ratio, 0.5);
        assert!(rate.ratio_interval[0] < 0.5 && 0.5 < rate.ratio_interval[1]);
    }

    #[test]
    fn the_spec_parses_and_names_each_floor_once_per_figure() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let spec: BenchSpec =
            toml::from_str(&std::fs::read_to_string(root.join("bench.toml")).unwrap()).unwrap();
        let mut keys: Vec<String> = spec
            .figure
            .iter()
            .map(|f| format!("{} vs {}", f.id, f.floor))
            .collect();
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), n, "a figure is listed twice against one floor");
    }

    #[test]
    fn a_figure_that_did_not_run_is_listed_with_the_reason() {
        let spec: BenchSpec = toml::from_str(
            r#"
            suite = [{ package = "p", bench = "b" }]
            regression = { wall_ratio_percent = 10 }
            instructions = { packages = [], bench = "i", runner_version = "0", regression_percent = 2 }
            suite_wall = { id = "s", sut = "r", seconds_at_most = 45, what = "w" }
            [[figure]]
            id = "activation/sandbox_cold"
            floor = "activation/bwrap"
            unit = "ns"
            needs = "bwrap"
            what = "w"
            "#,
        )
        .unwrap();
        let mut medians = BTreeMap::new();
        medians.insert(
            "activation/sandbox_cold".to_string(),
            Median {
                point: 1.0,
                lower: 1.0,
                upper: 1.0,
            },
        );
        let s = summarise(&spec, &medians, true, None);
        assert!(s.figures.is_empty());
        assert_eq!(s.not_measured.len(), 1);
        assert!(s.not_measured[0].why.contains("activation/bwrap"));
        assert!(s.not_measured[0].why.contains("`bwrap`"));
    }

    #[test]
    fn the_table_has_a_row_per_figure_with_its_verdict() {
        let mut f = figure(1.2, [1.1, 1.3], Unit::Nanoseconds);
        f.target = Some(Target::AtMost(1.0));
        let table = markdown_table(&run(f));
        assert_eq!(table.lines().count(), 3);
        assert!(table.contains("`invoke/sandbox/64B`"));
        assert!(table.contains("≤ 1: missed"));
    }

    #[test]
    fn the_suite_is_held_to_its_budget_and_never_gated_on_one_run() {
        let suite = |seconds: f64| Figure {
            id: "conformance/reference".into(),
            value: seconds,
            unit: Unit::Seconds,
            floor_id: "budget".into(),
            floor: 45.0,
            ratio: seconds / 45.0,
            ratio_interval: [seconds / 45.0; 2],
            target: Some(Target::SecondsAtMost(45.0)),
            what: String::new(),
        };
        let table = markdown_table(&run(suite(88.0)));
        assert!(table.contains("88.0 s"), "{table}");
        assert!(table.contains("≤ 45 s: missed"), "{table}");
        assert!(markdown_table(&run(suite(44.0))).contains("≤ 45 s: met"));
        // Twice as slow, but measured once: reported, not a regression.
        assert!(regressions(&run(suite(44.0)), &run(suite(88.0)), RULE).is_empty());
    }

    #[test]
    fn a_filter_times_the_suite_only_when_it_matches_its_id() {
        let id = "conformance/reference";
        assert!(filter_matches(None, id).unwrap());
        assert!(filter_matches(Some("conformance"), id).unwrap());
        assert!(!filter_matches(Some("invoke/.*"), id).unwrap());
        assert!(filter_matches(Some("(unclosed"), id).is_err());
    }

    #[test]
    fn the_trend_draws_every_figure() {
        let a = run(figure(1.0, [0.9, 1.1], Unit::Nanoseconds));
        let b = run(figure(1.2, [1.1, 1.3], Unit::Nanoseconds));
        let svg = trend_svg(&[a, b]);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("invoke/sandbox/64B vs invoke/socketpair/64B"));
    }
}
