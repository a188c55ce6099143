//! A run: every selected case against every selected sandbox, and the aggregation of
//! case verdicts into requirement verdicts and a certification level.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;
use sbx_harness::case::{Bench, Sut, run_case};
use sbx_harness::model::{
    CaseResult, Execution, FileDigest, Outcome, RESULT_SCHEMA_VERSION, RequirementResult,
    RunResult, SutInfo, SutResult, Verdict,
};
use sbx_harness::outer::Outer;

use crate::catalog::Requirement;
use crate::harms::HarmMap;
use crate::suite::{Settings, SuiteCase};
use crate::suts::{Known, expectations};

/// What to run and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// Certification level whose MUSTs decide the exit status.
    pub level: u8,
    /// Only cases whose id, or one of whose requirement ids, contains one of these
    /// comma-separated words.
    pub filter: Option<String>,
    /// Parallel cases.
    pub jobs: usize,
    /// Shard `(i, n)`, 1-based: every n-th case starting at the i-th.
    pub shard: Option<(usize, usize)>,
    /// Stop at the first case that fails or errs: the cases not yet started are skipped.
    /// A mutant caught by its first failure need not wait for the rest of the suite.
    pub fail_fast: bool,
    /// The case guard binary.
    pub guard: PathBuf,
    /// Where expectations files live.
    pub expectations_dir: PathBuf,
    /// The harness's source (its checkout's commit), for the results.
    pub source: Option<String>,
}

/// Runs the suite against each sandbox in turn.
pub fn run(
    catalog: &[Requirement],
    settings: &Settings,
    cases: &[SuiteCase],
    suts: &[Sut],
    options: &Options,
    harms: &HarmMap,
) -> Result<RunResult, crate::suts::SutError> {
    let started = crate::host::now();
    let surfaces = crate::surface::probe_all();
    for (surface, probe) in &surfaces {
        if !probe.present {
            eprintln!(
                "conformance: this system has no {}: attacks that need it are inert here ({})",
                surface.as_str(),
                probe.evidence
            );
        }
    }
    // Why each case is inert here, if it is: the same for every sandbox.
    let cases: Vec<SuiteCase> = cases
        .iter()
        .cloned()
        .map(|mut c| {
            c.case.inert = c
                .spec
                .inert_unless
                .and_then(|need| surfaces.get(&need))
                .filter(|probe| !probe.present)
                .map(|probe| probe.evidence.clone());
            c
        })
        .collect();
    let selected: Vec<&SuiteCase> = select(&cases, catalog, options);
    let mut digests = Digests::default();
    let mut results = Vec::new();
    for sut in suts {
        let known = expectations(&options.expectations_dir, &sut.name)?;
        results.push(run_sut(
            settings,
            &selected,
            &cases,
            (sut, digests.of(sut_files(sut))),
            options,
            &Judge {
                catalog,
                harms,
                known: &known,
            },
        ));
    }
    let shard = options.shard.map(|(i, n)| format!("{i}/{n}"));
    Ok(RunResult {
        schema_version: RESULT_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        level: options.level,
        filter: options.filter.clone(),
        shard: shard.clone(),
        source: options.source.clone(),
        executions: vec![Execution {
            shard,
            sandboxes: suts.iter().map(|s| s.name.clone()).collect(),
            harness: digests.of(harness_files(options)),
            started,
            ended: crate::host::now(),
            host: crate::host::facts(),
        }],
        suts: results,
    })
}

/// The cases of `options.filter`: a case runs when its name, or the id of a requirement it
/// attacks or the catalog lists it under, contains one of the filter's words.
fn select<'a>(
    cases: &'a [SuiteCase],
    catalog: &[Requirement],
    options: &Options,
) -> Vec<&'a SuiteCase> {
    select_cases(cases, catalog, options.filter.as_deref(), options.shard)
}

/// [`select`]'s cases of `filter` and `shard` (what a shard's merge checks it holds).
pub(crate) fn select_cases<'a>(
    cases: &'a [SuiteCase],
    catalog: &[Requirement],
    filter: Option<&str>,
    shard: Option<(usize, usize)>,
) -> Vec<&'a SuiteCase> {
    let listed_under = |case: &str, word: &str| {
        catalog
            .iter()
            .any(|r| r.id.contains(word) && r.listed_cases().any(|c| c == case))
    };
    cases
        .iter()
        .filter(|c| match filter {
            None => true,
            Some(f) => f.split(',').filter(|w| !w.is_empty()).any(|w| {
                c.case.id.contains(w)
                    || c.spec.attacks.iter().any(|a| a.contains(w))
                    || listed_under(&c.case.id, w)
            }),
        })
        .enumerate()
        .filter(|(i, _)| shard.is_none_or(|(k, n)| i % n == k - 1))
        .map(|(_, c)| c)
        .collect()
}

/// What a sandbox's case results are judged by.
struct Judge<'a> {
    catalog: &'a [Requirement],
    harms: &'a HarmMap,
    /// The sandbox's known failures and waivers.
    known: &'a [Known],
}

fn run_sut(
    settings: &Settings,
    selected: &[&SuiteCase],
    all: &[SuiteCase],
    (sut, binaries): (&Sut, Vec<FileDigest>),
    options: &Options,
    judge: &Judge<'_>,
) -> SutResult {
    let Judge {
        catalog,
        harms,
        known,
    } = *judge;
    let run_name = format!("sbx-conformance-{}", std::process::id());
    let outer = Outer::detect(&run_name);
    let scratch_base = std::env::temp_dir().join(&run_name);
    let _ = std::fs::create_dir_all(&scratch_base);
    let _ = std::fs::set_permissions(&scratch_base, std::fs::Permissions::from_mode(0o755));
    let bench = Bench {
        guard: options.guard.clone(),
        scratch_base: scratch_base.clone(),
        guard_args: Vec::new(),
        neighbour: settings.neighbour.clone(),
        neighbour_methods: settings.neighbour_methods.clone(),
        attack_input: settings.attack_input.clone(),
        gained_marker: settings.gained_marker.clone(),
        slack: settings.slack,
        bounds: settings.bounds,
    };
    // The self-test's handshake names the adapter: one start of it, not two.
    let self_test = sbx_harness::selftest::run(
        &bench.guard,
        &sut.command,
        &bench.neighbour,
        &bench.neighbour_methods.echo,
    );
    let info = SutInfo {
        name: sut.name.clone(),
        role: sut.role,
        adapter: self_test
            .hello
            .as_ref()
            .map(|h| format!("{} {}", h.name, h.version))
            .unwrap_or_default(),
        features: self_test
            .hello
            .as_ref()
            .map(|h| h.features.clone())
            .unwrap_or_default(),
        binaries,
    };
    let unavailable = self_test.hello.as_ref().and_then(|h| h.unavailable.clone());
    let self_test = self_test.checks;
    if let Some(reason) = &unavailable {
        eprintln!("conformance: {} cannot run here: {reason}", sut.name);
    }
    eprintln!(
        "conformance: {} ({}) — {} cases, {} jobs; outer limits: {}",
        sut.name,
        if info.adapter.is_empty() {
            "no handshake"
        } else {
            &info.adapter
        },
        selected.len(),
        options.jobs,
        outer.describe()
    );
    let done = AtomicUsize::new(0);
    let total = selected.len();
    // Set by the first case that fails or errs, under `fail_fast`.
    let stopped = AtomicBool::new(false);
    let one = |c: &SuiteCase| -> CaseResult {
        if stopped.load(Ordering::Relaxed) {
            done.fetch_add(1, Ordering::Relaxed);
            return skipped(c, FAIL_FAST_SKIP);
        }
        let key = format!("{}-{}", sut.name, c.case.id);
        let mut bench = bench.clone();
        bench.guard_args = outer.case_args(&key);
        let mut result = if let Some(reason) = &unavailable {
            skipped(c, &format!("{} cannot run here: {reason}", sut.name))
        } else if needs_process_bound(c) && !outer.bounds_processes() {
            skipped(
                c,
                "no cgroup can bound this case's processes here; running it could exhaust the machine",
            )
        } else {
            run_case(&bench, sut, &c.case)
        };
        outer.cleanup(&key);
        apply_known(&mut result, known);
        if options.fail_fast && ends_a_fail_fast_run(&result) {
            stopped.store(true, Ordering::Relaxed);
        }
        progress(
            done.fetch_add(1, Ordering::Relaxed) + 1,
            total,
            &sut.name,
            &result,
        );
        result
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.jobs.max(1))
        .build();
    let mut results: Vec<CaseResult> = match pool {
        Ok(pool) => pool.install(|| {
            selected
                .par_iter()
                .filter(|c| !c.exclusive)
                .map(|c| one(c))
                .collect()
        }),
        Err(_) => selected
            .iter()
            .filter(|c| !c.exclusive)
            .map(|c| one(c))
            .collect(),
    };
    results.extend(selected.iter().filter(|c| c.exclusive).map(|c| one(c)));
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
    results.sort_by(|a, b| a.case.cmp(&b.case));
    outer.cleanup_run();
    let _ = std::fs::remove_dir_all(&scratch_base);
    let requirements = aggregate(catalog, all, &results, known, harms);
    mark_also_seen(catalog, all, &mut results, harms);
    let partial =
        options.filter.is_some() || options.shard.is_some() || stopped.load(Ordering::Relaxed);
    let (certified_level, held_back_by) =
        certification(&requirements, (partial, unavailable.is_some()), &self_test);
    SutResult {
        sut: info,
        self_test,
        held_back_by,
        certified_level,
        unavailable,
        requirements,
        cases: results,
    }
}

/// The files the harness runs: the program running the suite and its case guard.
fn harness_files(options: &Options) -> Vec<PathBuf> {
    std::env::current_exe()
        .into_iter()
        .chain(std::iter::once(options.guard.clone()))
        .collect()
}

/// The files `sut` runs: its adapter's executable, then its other binaries.
fn sut_files(sut: &Sut) -> Vec<PathBuf> {
    sut.command
        .first()
        .and_then(|program| crate::host::executable(program))
        .into_iter()
        .chain(sut.binaries.iter().map(PathBuf::from))
        .collect()
}

/// The sha256 of the files a run certifies, each read once however many sandboxes of the
/// run share it (a matrix runs one adapter and one runner for all of its references).
#[derive(Default)]
struct Digests(BTreeMap<PathBuf, Option<FileDigest>>);

impl Digests {
    /// The digests of `paths`, in order; one that cannot be read is left out, and said.
    fn of(&mut self, paths: Vec<PathBuf>) -> Vec<FileDigest> {
        paths
            .into_iter()
            .filter_map(|path| {
                self.0
                    .entry(path)
                    .or_insert_with_key(|path| match crate::host::digest(path) {
                        Ok(digest) => Some(digest),
                        Err(e) => {
                            eprintln!("conformance: cannot hash {}: {e}", path.display());
                            None
                        }
                    })
                    .clone()
            })
            .collect()
    }
}

/// Whether `result` stops a `--fail-fast` run: a case that failed or erred, unless the
/// sandbox's expectations file waives it (a known failure is no news).
fn ends_a_fail_fast_run(result: &CaseResult) -> bool {
    result.waived.is_none() && matches!(result.verdict, Verdict::Fail | Verdict::Error)
}

/// Cases whose harm, unconfined, is an unbounded number of processes.
fn needs_process_bound(c: &SuiteCase) -> bool {
    c.spec.name.contains("fork_bomb")
        || c.spec.name.contains("thread_bomb")
        || c.spec.name.contains("zombie")
}

/// The reason of a case a `--fail-fast` run skipped once a case failed: such a run is
/// partial, and so is a shard of one.
pub const FAIL_FAST_SKIP: &str = "not run: an earlier case failed (--fail-fast)";

fn skipped(c: &SuiteCase, why: &str) -> CaseResult {
    CaseResult {
        case: c.case.id.clone(),
        verdict: Verdict::Skipped,
        reason: why.into(),
        harm: Vec::new(),
        outcome: Outcome::Unknown,
        expected: None,
        expectation_met: None,
        protocol_errors: Vec::new(),
        notes: Vec::new(),
        audit: Vec::new(),
        measured: Default::default(),
        waived: None,
        inert: c.case.inert.clone(),
        also_seen: Vec::new(),
        unserved: false,
    }
}

pub(crate) fn apply_known(result: &mut CaseResult, known: &[Known]) {
    if let Some(k) = known
        .iter()
        .find(|k| k.case.as_deref() == Some(result.case.as_str()))
    {
        if k.verdict == result.verdict {
            result.waived = Some(k.why.clone());
        } else {
            result.notes.push(format!(
                "stale expectation: expected {}, got {}",
                k.verdict.as_str(),
                result.verdict.as_str()
            ));
        }
    }
}

fn progress(done: usize, total: usize, sut: &str, last: &CaseResult) {
    let mut err = std::io::stderr().lock();
    if std::io::stderr().is_terminal() {
        let _ = write!(
            err,
            "\r\x1b[2K[{sut}] {done}/{total} {} {}",
            last.case,
            last.verdict.as_str()
        );
    } else if done.is_multiple_of(25) || done == total {
        let _ = writeln!(err, "[{sut}] {done}/{total} cases");
    }
    let _ = err.flush();
}

/// The requirements each case attacks: those its plugin's metadata names, and those that
/// list the case among their own.
fn attacked_by_case<'a>(
    catalog: &'a [Requirement],
    all: &'a [SuiteCase],
) -> BTreeMap<&'a str, Vec<&'a str>> {
    let mut map: BTreeMap<&str, Vec<&str>> = all
        .iter()
        .map(|c| (c.case.id.as_str(), c.spec.attacks.to_vec()))
        .collect();
    for req in catalog {
        for case in &req.cases {
            map.entry(case.as_str()).or_default().push(req.id.as_str());
        }
    }
    map
}

/// Requirement verdicts from case results, each requirement judged by the harm that bears
/// on it (`harms.toml`): a case attacking it decides by the harm that breaks it, so a
/// cross-cutting harm (a descriptor of the host in every plugin) does not fail every
/// requirement whose case saw it; that harm fails, wherever it is seen, the requirements it
/// breaks. A failed case with no harm (a reaction other than the reference's) fails what it
/// attacks. The worst verdict decides; no case is a gap.
pub fn aggregate(
    catalog: &[Requirement],
    all: &[SuiteCase],
    results: &[CaseResult],
    known: &[Known],
    harms: &HarmMap,
) -> Vec<RequirementResult> {
    let by_case: BTreeMap<&str, &CaseResult> =
        results.iter().map(|r| (r.case.as_str(), r)).collect();
    let attacked = attacked_by_case(catalog, all);
    let attacks_of = |case: &str| attacked.get(case).map(Vec::as_slice).unwrap_or(&[]);
    catalog
        .iter()
        .map(|req| {
            let id = req.id.as_str();
            let mut case_ids: Vec<String> = attacked
                .iter()
                .filter(|(_, reqs)| reqs.contains(&id))
                .map(|(case, _)| (*case).to_owned())
                .chain(req.observed_in.iter().cloned())
                .collect();
            case_ids.sort();
            case_ids.dedup();
            let gap = case_ids.is_empty();
            // Each case of the requirement, judged for it.
            let mut verdicts: Vec<(Verdict, String)> = case_ids
                .iter()
                .filter_map(|case| by_case.get(case.as_str()).copied())
                .map(|r| {
                    let attacks_it = attacks_of(&r.case).contains(&id);
                    // A benign plugin not served breaks what its case stands for, whatever
                    // other harm the case saw.
                    let breaks_it = (attacks_it
                        && (r.harm.is_empty() || r.expectation_met == Some(false) || r.unserved))
                        || r.harm
                            .iter()
                            .any(|h| harms.bears_on(h.kind, attacks_of(&r.case), id));
                    let v = if r.verdict == Verdict::Fail && !breaks_it {
                        Verdict::Pass
                    } else {
                        r.verdict
                    };
                    (v, r.case.clone())
                })
                .collect();
            let ran = verdicts.len();
            // Harm that breaks it, seen in cases that attack something else.
            for r in results.iter().filter(|r| !case_ids.contains(&r.case)) {
                let kinds: BTreeSet<&str> = r
                    .harm
                    .iter()
                    .filter(|h| harms.named(h.kind).any(|n| n == id))
                    .map(|h| h.kind.as_str())
                    .collect();
                if !kinds.is_empty() {
                    verdicts.push((
                        Verdict::Fail,
                        format!(
                            "{} ({})",
                            r.case,
                            kinds.into_iter().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            }
            let (verdict, reason) = if gap {
                (
                    Verdict::Fail,
                    "gap: no case tests this requirement".to_string(),
                )
            } else if verdicts.is_empty() {
                (
                    Verdict::Skipped,
                    "none of its cases was selected".to_string(),
                )
            } else {
                let worst = [
                    Verdict::Fail,
                    Verdict::Error,
                    Verdict::NotApplicable,
                    Verdict::Skipped,
                    Verdict::Pass,
                ]
                .into_iter()
                .find(|v| verdicts.iter().any(|(r, _)| r == v))
                .unwrap_or(Verdict::Pass);
                let culprits: Vec<&str> = verdicts
                    .iter()
                    .filter(|(v, _)| *v == worst)
                    .map(|(_, case)| case.as_str())
                    .collect();
                // A cross-cutting harm may be seen in every case: name a few.
                const SHOWN: usize = 6;
                let more = culprits.len().saturating_sub(SHOWN);
                let reason = if worst == Verdict::Pass {
                    format!("{ran} case(s) passed")
                } else if more > 0 {
                    format!(
                        "{}: {} and {more} more",
                        worst.as_str(),
                        culprits[..SHOWN].join(", ")
                    )
                } else {
                    format!("{}: {}", worst.as_str(), culprits.join(", "))
                };
                (worst, reason)
            };
            let waived = known
                .iter()
                .find(|k| k.requirement.as_deref() == Some(id) && k.verdict == verdict)
                .map(|k| k.why.clone());
            RequirementResult {
                id: req.id.clone(),
                title: req.title.clone(),
                rfc: req.rfc.clone(),
                level: req.level,
                verdict,
                gap,
                cases: case_ids,
                reason,
                waived,
            }
        })
        .collect()
}

/// Notes on each case the harm that bears on none of the requirements it attacks, with
/// the requirements that harm breaks: the case still fails, and the reader sees why its
/// own requirements did not.
fn mark_also_seen(
    catalog: &[Requirement],
    all: &[SuiteCase],
    results: &mut [CaseResult],
    harms: &HarmMap,
) {
    let attacked = attacked_by_case(catalog, all);
    for r in results {
        let attacks = attacked
            .get(r.case.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let mut seen: Vec<String> = r
            .harm
            .iter()
            .filter(|h| !harms.bears_on_attacked(h.kind, attacks))
            .map(|h| {
                format!(
                    "{} (breaks {})",
                    h.kind.as_str(),
                    harms.named(h.kind).collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        seen.dedup();
        r.also_seen = seen;
    }
}

/// The level a sandbox's `requirements` certify and the MUSTs that keep the next level out of
/// reach. A partial run (a filter, a shard, a stopped run) and a sandbox that could not run
/// here certify nothing and name none; a sandbox that failed a check of the protocol
/// self-test certifies nothing.
pub(crate) fn certification(
    requirements: &[RequirementResult],
    (partial, unavailable): (bool, bool),
    self_test: &[sbx_harness::selftest::Check],
) -> (u8, Vec<String>) {
    if partial || unavailable {
        return (0, Vec::new());
    }
    let level = if self_test.iter().all(|c| c.passed) {
        certified(requirements)
    } else {
        0
    };
    let held_back_by = sbx_harness::model::failing_musts(requirements, level + 1)
        .into_iter()
        .map(|r| r.id.clone())
        .collect();
    (level, held_back_by)
}

/// The highest level whose every MUST passed. Waivers do not count.
pub fn certified(requirements: &[RequirementResult]) -> u8 {
    let mut level = 0;
    for l in 1..=3u8 {
        let ok = requirements
            .iter()
            .filter(|r| r.rfc == "MUST" && r.level <= l)
            .all(|r| r.verdict == Verdict::Pass);
        if ok {
            level = l;
        } else {
            break;
        }
    }
    level
}

/// A candidate a run does not certify at the level asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uncertified<'r> {
    /// The sandbox.
    pub sut: &'r str,
    /// Its MUST requirements of that level or below that did not pass.
    pub failing_musts: usize,
    /// The protocol self-test checks its adapter failed (each withholds certification).
    pub failed_self_test: usize,
}

/// The candidates of a run that are not certified at `level` (what decides the exit status
/// of `cargo xtask conformance`; controls and mutants are expected to fail).
pub fn uncertified(run: &RunResult, level: u8) -> Vec<Uncertified<'_>> {
    run.suts
        .iter()
        .filter(|s| s.sut.role == sbx_harness::model::Role::Candidate && s.unavailable.is_none())
        .map(|s| Uncertified {
            sut: &s.sut.name,
            failing_musts: s.failing_musts(level).len(),
            failed_self_test: s.self_test.iter().filter(|c| !c.passed).count(),
        })
        .filter(|u| u.failing_musts > 0 || u.failed_self_test > 0)
        .collect()
}

/// The candidates of a run that could not run here, with why: not failed, not certified.
/// A run in which every candidate is so certifies nothing at all.
pub fn unavailable(run: &RunResult) -> Vec<(&str, &str)> {
    run.suts
        .iter()
        .filter(|s| s.sut.role == sbx_harness::model::Role::Candidate)
        .filter_map(|s| Some((s.sut.name.as_str(), s.unavailable.as_deref()?)))
        .collect()
}

/// Where results go by default.
pub fn default_output(root: &Path) -> PathBuf {
    root.join("target/conformance")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{catalog, harms, suite};
    use sbx_harness::model::{Harm, HarmKind, Role};

    /// A run of one sandbox in `role` with one requirement of `rfc` and `level` judged
    /// `verdict`, and a self-test check that `self_test` held or not.
    fn one_sut(role: Role, rfc: &str, level: u8, verdict: Verdict, self_test: bool) -> RunResult {
        RunResult {
            schema_version: RESULT_SCHEMA_VERSION,
            tool_version: String::new(),
            level: 3,
            filter: None,
            shard: None,
            source: None,
            executions: Vec::new(),
            suts: vec![SutResult {
                sut: SutInfo {
                    name: "s".into(),
                    role,
                    ..SutInfo::default()
                },
                held_back_by: Vec::new(),
                self_test: vec![sbx_harness::selftest::Check {
                    name: "c".into(),
                    passed: self_test,
                    detail: String::new(),
                }],
                certified_level: 0,
                unavailable: None,
                requirements: vec![RequirementResult {
                    id: "X-001".into(),
                    title: String::new(),
                    rfc: rfc.into(),
                    level,
                    verdict,
                    gap: false,
                    cases: Vec::new(),
                    reason: String::new(),
                    waived: None,
                }],
                cases: Vec::new(),
            }],
        }
    }

    #[test]
    fn a_candidate_is_uncertified_by_a_failing_must_of_its_level_or_a_failed_self_test() {
        let pass = one_sut(Role::Candidate, "MUST", 2, Verdict::Pass, true);
        assert_eq!(uncertified(&pass, 3), []);
        let must = one_sut(Role::Candidate, "MUST", 2, Verdict::Fail, true);
        assert_eq!(
            uncertified(&must, 3),
            [Uncertified {
                sut: "s",
                failing_musts: 1,
                failed_self_test: 0
            }]
        );
        // Above the level asked, a SHOULD, or a control's failure: certified all the same.
        assert_eq!(uncertified(&must, 1), []);
        let should = one_sut(Role::Candidate, "SHOULD", 1, Verdict::Fail, true);
        assert_eq!(uncertified(&should, 3), []);
        let control = one_sut(Role::Control, "MUST", 1, Verdict::Fail, false);
        assert_eq!(uncertified(&control, 3), []);
        // An adapter that fails the protocol's self-test certifies nothing.
        let self_test = one_sut(Role::Candidate, "MUST", 1, Verdict::Pass, false);
        assert_eq!(uncertified(&self_test, 3)[0].failed_self_test, 1);
    }

    #[test]
    fn a_sandbox_that_cannot_run_here_is_neither_failed_nor_certified() {
        let mut cannot = one_sut(Role::Candidate, "MUST", 1, Verdict::Skipped, true);
        cannot.suts[0].unavailable = Some("crun needs root".into());
        assert_eq!(uncertified(&cannot, 3), []);
        assert_eq!(unavailable(&cannot), [("s", "crun needs root")]);
        let pass = one_sut(Role::Candidate, "MUST", 1, Verdict::Pass, true);
        let (requirements, checks) = (&pass.suts[0].requirements, &pass.suts[0].self_test);
        assert_eq!(certification(requirements, (false, false), checks).0, 3);
        assert_eq!(
            certification(requirements, (false, true), checks),
            (0, Vec::new())
        );
        // A control that cannot run is not a candidate's absence.
        let mut control = one_sut(Role::Control, "MUST", 1, Verdict::Skipped, true);
        control.suts[0].unavailable = Some("no".into());
        assert_eq!(unavailable(&control), []);
    }

    fn failed(case: &str, kinds: &[HarmKind]) -> CaseResult {
        CaseResult {
            case: case.into(),
            verdict: Verdict::Fail,
            reason: "harm".into(),
            harm: kinds
                .iter()
                .map(|k| Harm {
                    kind: *k,
                    detail: "seen".into(),
                })
                .collect(),
            outcome: Outcome::Unknown,
            expected: None,
            expectation_met: None,
            protocol_errors: Vec::new(),
            notes: Vec::new(),
            audit: Vec::new(),
            measured: Default::default(),
            waived: None,
            inert: None,
            also_seen: Vec::new(),
            unserved: false,
        }
    }

    fn verdicts(results: &mut [CaseResult]) -> BTreeMap<String, Verdict> {
        let catalog = catalog::parse(catalog::CATALOG).unwrap();
        let settings = suite::settings(suite::CASES).unwrap();
        let all = suite::cases(&settings);
        let map = harms::HarmMap::parse(harms::HARMS, &catalog).unwrap();
        let reqs = aggregate(&catalog, &all, results, &[], &map);
        mark_also_seen(&catalog, &all, results, &map);
        reqs.into_iter().map(|r| (r.id, r.verdict)).collect()
    }

    /// A sandbox that contains the read but hands the plugin a descriptor of the host fails
    /// descriptor hygiene, not the requirement of the read; the case still fails, and says
    /// why its own requirement did not.
    #[test]
    fn a_leaked_descriptor_fails_descriptor_hygiene_and_nothing_else() {
        let mut results = vec![failed("fs_read_absolute", &[HarmKind::DescriptorLeaked])];
        let v = verdicts(&mut results);
        assert_eq!(v["FS-001"], Verdict::Pass);
        assert_eq!(v["FS-005"], Verdict::Fail);
        assert_eq!(v["LEAK-005"], Verdict::Fail);
        let failing: Vec<_> = v.iter().filter(|(_, v)| **v == Verdict::Fail).collect();
        assert_eq!(failing.len(), 2 + gaps(), "{failing:?}");
        assert_eq!(results[0].verdict, Verdict::Fail);
        assert_eq!(
            results[0].also_seen,
            vec!["descriptor_leaked (breaks FS-005, LEAK-005)".to_string()]
        );
    }

    /// A sandbox that leaks nothing but lets the file be read fails the requirement of the
    /// read and nothing else.
    #[test]
    fn a_read_secret_fails_the_requirement_of_the_read_and_nothing_else() {
        let mut results = vec![failed("fs_read_absolute", &[HarmKind::SecretInOutput])];
        let v = verdicts(&mut results);
        assert_eq!(v["FS-001"], Verdict::Fail);
        let failing: Vec<_> = v.iter().filter(|(_, v)| **v == Verdict::Fail).collect();
        assert_eq!(failing.len(), 1 + gaps(), "{failing:?}");
        assert!(results[0].also_seen.is_empty());
    }

    /// A case in which a requirement is only observed fails it by the harm named for it, not
    /// by its own attack: a CPU spin left unbounded fails the CPU limits, not the report of
    /// how the plugin ended; an end reported as a bare SIGKILL fails that report.
    #[test]
    fn a_case_a_requirement_is_observed_in_fails_it_only_by_its_own_harm() {
        for (kind, fails, passes) in [
            (HarmKind::ResourceExhausted, "RES-003", "AUDIT-007"),
            (HarmKind::EndUnexplained, "AUDIT-007", "RES-003"),
        ] {
            let v = verdicts(&mut [failed("res_cpu_spin_ignore_signals", &[kind])]);
            assert_eq!(
                (v[fails], v[passes]),
                (Verdict::Fail, Verdict::Pass),
                "{kind:?}"
            );
        }
    }

    /// A failed case with no harm (a reaction other than the reference's) still fails what
    /// it attacks.
    #[test]
    fn a_wrong_reaction_fails_what_the_case_attacks() {
        let mut results = vec![failed("fs_read_absolute", &[])];
        results[0].expectation_met = Some(false);
        assert_eq!(verdicts(&mut results)["FS-001"], Verdict::Fail);
    }

    /// A benign plugin that was not served fails the requirement its case stands for, even
    /// when the case also saw harm that bears on another requirement (its refused load
    /// reported without a cause): the harm does not hide that it was not served.
    #[test]
    fn a_benign_plugin_not_served_fails_its_requirement_whatever_else_was_seen() {
        let mut results = vec![failed("echo_strict", &[HarmKind::EndUnexplained])];
        assert_eq!(verdicts(&mut results)["LOAD-006"], Verdict::Pass);
        results[0].unserved = true;
        let v = verdicts(&mut results);
        assert_eq!(v["LOAD-006"], Verdict::Fail);
        assert_eq!(v["AUDIT-007"], Verdict::Fail);
    }

    /// Requirements no case tests fail as gaps whatever the results.
    fn gaps() -> usize {
        let catalog = catalog::parse(catalog::CATALOG).unwrap();
        let settings = suite::settings(suite::CASES).unwrap();
        let all = suite::cases(&settings);
        let map = harms::HarmMap::parse(harms::HARMS, &catalog).unwrap();
        aggregate(&catalog, &all, &[], &[], &map)
            .iter()
            .filter(|r| r.gap)
            .count()
    }

    #[test]
    fn a_fail_fast_run_stops_at_a_failure_or_an_error_that_is_not_waived() {
        let spec = crate::suite::cases(&crate::suite::settings(crate::suite::CASES).unwrap())
            .into_iter()
            .next()
            .expect("a case");
        let with = |verdict: Verdict, waived: Option<&str>| CaseResult {
            verdict,
            waived: waived.map(str::to_owned),
            ..skipped(&spec, "")
        };
        assert!(ends_a_fail_fast_run(&with(Verdict::Fail, None)));
        assert!(ends_a_fail_fast_run(&with(Verdict::Error, None)));
        assert!(!ends_a_fail_fast_run(&with(Verdict::Fail, Some("known"))));
        for verdict in [Verdict::Pass, Verdict::NotApplicable, Verdict::Skipped] {
            assert!(!ends_a_fail_fast_run(&with(verdict, None)), "{verdict:?}");
        }
    }
}
