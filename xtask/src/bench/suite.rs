//! The conformance suite's wall time as a figure of `cargo xtask bench`: the whole suite
//! against the reference sandbox, held to the suite's budget (`xtask/bench.toml`,
//! `[suite_wall]`), which stands as its floor. No run of other work is its floor: the
//! no-isolation control runs the same cases several times longer (hung plugins wait out the
//! harness's own deadlines there), so a ratio to it would say nothing of the sandbox.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Deserialize;

use super::{Figure, NotMeasured, Target, Unit};

/// `[suite_wall]` of `xtask/bench.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteWallSpec {
    /// The figure's id.
    pub id: String,
    /// The sandbox the figure runs the suite against.
    sut: String,
    /// The suite's budget, in seconds of wall time: the figure's floor and target.
    seconds_at_most: f64,
    what: String,
}

/// Why the figure was not measured, in a run that skips it.
pub fn skipped(spec: &SuiteWallSpec, why: &str) -> NotMeasured {
    NotMeasured {
        id: spec.id.clone(),
        floor_id: BUDGET.into(),
        why: why.to_owned(),
    }
}

/// The floor's id: the budget.
const BUDGET: &str = "budget";

/// Runs the whole suite against the figure's sandbox once and times it. The binaries are
/// built first, so that the time holds no build.
pub fn measure(root: &Path, spec: &SuiteWallSpec) -> Result<Figure> {
    crate::build_suite_binaries()?;
    let value = time_suite(root, &spec.sut)?;
    let floor = spec.seconds_at_most;
    let ratio = value / floor;
    Ok(Figure {
        id: spec.id.clone(),
        value,
        unit: Unit::Seconds,
        floor_id: BUDGET.into(),
        floor,
        ratio,
        // One run: no interval to tell the noise by (see `regressions`).
        ratio_interval: [ratio, ratio],
        target: Some(Target::SecondsAtMost(spec.seconds_at_most)),
        what: spec.what.clone(),
    })
}

/// The wall time of one whole run of the suite against `sut`, in seconds. Its verdicts do
/// not matter here; that it ran every case does.
fn time_suite(root: &Path, sut: &str) -> Result<f64> {
    let out = root.join("target/bench/suite").join(sut);
    let results = out.join("results.json");
    let _ = std::fs::remove_file(&results);
    eprintln!("xtask: the conformance suite against {sut}, timed");
    let started = Instant::now();
    Command::new(std::env::current_exe()?)
        .args(["conformance", "--sut", sut, "--out"])
        .arg(&out)
        .current_dir(root)
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("running the suite against {sut}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let run = crate::read_run(&results)
        .with_context(|| format!("the suite against {sut} did not run to its end"))?;
    let cases = run.suts.first().map_or(0, |s| s.cases.len());
    if cases == 0 {
        anyhow::bail!("the suite against {sut} ran no case: its time would mean nothing");
    }
    Ok(seconds)
}
