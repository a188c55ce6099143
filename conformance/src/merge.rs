//! One run from the shards of a run split over machines (`--shard I/N` on each, then
//! `cargo xtask conformance merge`): the shards' cases side by side, the requirements and
//! the certification judged again from all of them, as one whole run judges them.
//!
//! Shards are refused, never merged into a partial result presented as whole, when they are
//! of different harness versions (or another than the merging one), result schemas, levels,
//! filters or sandboxes (name, role, adapter, features), when one is not a shard, two are
//! the same shard or one is missing, when one stopped early (`--fail-fast`), when two hold
//! the same case, and when together they miss a case of the suite. The waivers are this
//! harness's expectations files', on the cases as on the requirements. Shards of different
//! sandboxes (a CI job per sandbox and shard) become one run of every sandbox.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sbx_harness::model::{CaseResult, Execution, FileDigest, RunResult, SutInfo, SutResult};

use crate::catalog::Requirement;
use crate::harms::HarmMap;
use crate::run::{FAIL_FAST_SKIP, aggregate, apply_known, certification, select_cases};
use crate::suite::SuiteCase;
use crate::suts::expectations;

/// Why shards cannot be one run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum MergeError {
    /// No shard given.
    #[error("no shard to merge")]
    NoShard,
    /// A run that was not split.
    #[error("run {index} is not a shard (it was not run with --shard I/N)")]
    NotAShard {
        /// Its place among the shards given, from 1.
        index: usize,
    },
    /// Shards of runs that differ in `what`.
    #[error("the shards are of different runs: {what} {first:?} and {other:?}")]
    Different {
        /// What differs.
        what: &'static str,
        /// The first shard's.
        first: String,
        /// Another's.
        other: String,
    },
    /// The same shard twice, or shards of splits into different numbers.
    #[error("shard {shard} given twice")]
    SameShard {
        /// The shard (`I/N`).
        shard: String,
    },
    /// A case in two shards.
    /// A sandbox that could not run on some shards' machines and ran on the others': its
    /// cases there are not a run of it, and its failures elsewhere are not to be hidden.
    #[error("{sut} could not run on the machine of some shards and ran on the others'")]
    RanOnSome {
        /// The sandbox.
        sut: String,
    },
    #[error("case {case} of {sut} is in two shards")]
    Overlap {
        /// The sandbox.
        sut: String,
        /// The case.
        case: String,
    },
    /// Shards of the split not given.
    #[error("shard(s) {shards} not given")]
    MissingShards {
        /// The shards (`I/N`, comma-separated).
        shards: String,
    },
    /// Cases of the suite no shard holds, although every shard was given.
    #[error("{sut}: {} case(s) of the suite are in no shard (the first: {})", .cases.len(), .cases.first().map_or("", String::as_str))]
    Missing {
        /// The sandbox.
        sut: String,
        /// The cases missing.
        cases: Vec<String>,
    },
    /// A case no shard should hold (another suite).
    #[error("{sut}: case {case} is not in this suite")]
    Foreign {
        /// The sandbox.
        sut: String,
        /// The case.
        case: String,
    },
    /// A sandbox's expectations file could not be read.
    #[error("{0}")]
    Expectations(String),
    /// Shards of another version of the harness than the one merging them, whose catalog
    /// and harm map judge the merged run.
    #[error("the shards were run by harness {shards}; this one is {merging}")]
    OtherHarness {
        /// The shards' version.
        shards: String,
        /// This harness's.
        merging: String,
    },
    /// A sandbox in shards of two different sets of sandboxes.
    #[error("{sut} is in shards of two different sets of sandboxes")]
    SandboxInTwoGroups {
        /// The sandbox.
        sut: String,
    },
    /// Shards of another source than the checkout merging them, or of a source not known
    /// exactly (none recorded, or a checkout with changes).
    #[error("the shards ran source {shards}, this checkout is {merging}{}", if *.unknown { " (a source with changes, or none, is not known exactly: commit, and run the shards again)" } else { "" })]
    OtherSource {
        /// The shards' source.
        shards: String,
        /// This checkout's.
        merging: String,
        /// One of them is not known exactly.
        unknown: bool,
    },
    /// A shard of a `--fail-fast` run that stopped: its skipped cases never ran.
    #[error("shard {shard} stopped early (--fail-fast): case {case} of {sut} never ran")]
    Stopped {
        /// The shard (`I/N`).
        shard: String,
        /// The sandbox.
        sut: String,
        /// A case it skipped.
        case: String,
    },
}

/// What the shards are judged against: the suite this harness runs.
pub struct Suite<'a> {
    /// The requirement catalog.
    pub catalog: &'a [Requirement],
    /// The suite's cases.
    pub cases: &'a [SuiteCase],
    /// Which harm breaks which requirement.
    pub harms: &'a HarmMap,
    /// Where each sandbox's expectations file is.
    pub expectations_dir: &'a Path,
    /// The merging checkout's source (its commit, `-dirty` with changes).
    pub source: Option<&'a str>,
}

/// The mark of a source with changes beyond its commit.
pub const DIRTY: &str = "-dirty";

/// The one run that `shards` are the parts of. Shards of different sandboxes (a CI job
/// matrix of sandbox × shard) are merged sandbox group by sandbox group, then set side by
/// side: one run of every sandbox, as `--matrix` makes.
pub fn merge(shards: &[RunResult], suite: &Suite<'_>) -> Result<RunResult, MergeError> {
    if shards.is_empty() {
        return Err(MergeError::NoShard);
    }
    // Grouped by the sandboxes' names; within a group, everything else must agree.
    let mut groups: Vec<(Vec<&str>, Vec<RunResult>)> = Vec::new();
    for shard in shards {
        let names: Vec<&str> = shard.suts.iter().map(|s| s.sut.name.as_str()).collect();
        match groups.iter_mut().find(|(n, _)| *n == names) {
            Some((_, group)) => group.push(shard.clone()),
            None => groups.push((names, vec![shard.clone()])),
        }
    }
    let mut runs = groups
        .iter()
        .map(|(_, group)| merge_shards(group, suite))
        .collect::<Result<Vec<_>, _>>()?;
    let mut whole = runs.remove(0);
    let mut names: BTreeSet<String> = whole.suts.iter().map(|s| s.sut.name.clone()).collect();
    for run in runs {
        same_suite(&whole, &run)?;
        for sut in run.suts {
            if !names.insert(sut.sut.name.clone()) {
                return Err(MergeError::SandboxInTwoGroups { sut: sut.sut.name });
            }
            whole.suts.push(sut);
        }
        whole.executions.extend(run.executions);
    }
    Ok(whole)
}

/// `Ok` when `a` and `b`, the `what` of two shards, are the same.
fn same(what: &'static str, a: String, b: String) -> Result<(), MergeError> {
    if a == b {
        Ok(())
    } else {
        Err(MergeError::Different {
            what,
            first: a,
            other: b,
        })
    }
}

/// `Ok` when `first` and `other` ran one suite: one result schema, harness version and
/// source (shards of two commits are two suites, whatever their version says), level and
/// filter.
fn same_suite(first: &RunResult, other: &RunResult) -> Result<(), MergeError> {
    same(
        "result schema",
        first.schema_version.to_string(),
        other.schema_version.to_string(),
    )?;
    same(
        "harness version",
        first.tool_version.clone(),
        other.tool_version.clone(),
    )?;
    same(
        "harness source",
        format!("{:?}", first.source),
        format!("{:?}", other.source),
    )?;
    same("level", first.level.to_string(), other.level.to_string())?;
    same(
        "filter",
        format!("{:?}", first.filter),
        format!("{:?}", other.filter),
    )
}

/// The one run that `shards`, each of the same sandboxes, are the parts of.
fn merge_shards(shards: &[RunResult], suite: &Suite<'_>) -> Result<RunResult, MergeError> {
    let first = shards.first().ok_or(MergeError::NoShard)?;
    let mut seen_shards = BTreeSet::new();
    let mut split_into = None;
    for (index, shard) in shards.iter().enumerate() {
        same_suite(first, shard)?;
        // The same sandboxes: name, role, adapter (its name and version) and features. Not
        // their binaries' hashes: each machine built its own.
        let sandboxes = |run: &RunResult| {
            run.suts
                .iter()
                .map(|s| {
                    let sut = &s.sut;
                    format!(
                        "{} {} {} {:?}",
                        sut.name, sut.role, sut.adapter, sut.features
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        same("sandboxes", sandboxes(first), sandboxes(shard))?;
        let (i, n) = shard
            .shard
            .as_deref()
            .and_then(parse_shard)
            .ok_or(MergeError::NotAShard { index: index + 1 })?;
        if *split_into.get_or_insert(n) != n {
            return Err(MergeError::Different {
                what: "split",
                first: format!("into {}", split_into.unwrap_or(n)),
                other: format!("into {n}"),
            });
        }
        if !seen_shards.insert(i) {
            return Err(MergeError::SameShard {
                shard: format!("{i}/{n}"),
            });
        }
        for sut in &shard.suts {
            if let Some(case) = sut.cases.iter().find(|c| c.reason == FAIL_FAST_SKIP) {
                return Err(MergeError::Stopped {
                    shard: format!("{i}/{n}"),
                    sut: sut.sut.name.clone(),
                    case: case.case.clone(),
                });
            }
        }
    }
    if first.tool_version != env!("CARGO_PKG_VERSION") {
        return Err(MergeError::OtherHarness {
            shards: first.tool_version.clone(),
            merging: env!("CARGO_PKG_VERSION").into(),
        });
    }
    // The merge judges with this checkout's catalog, harm map and waivers: the shards must
    // have run this very source, and a source with changes is no one source.
    let known = |source: Option<&str>| source.filter(|s| !s.ends_with(DIRTY)).map(str::to_owned);
    match (known(first.source.as_deref()), known(suite.source)) {
        (Some(shards), Some(merging)) if shards == merging => {}
        (shards, merging) => {
            return Err(MergeError::OtherSource {
                shards: first.source.clone().unwrap_or_else(|| "unknown".into()),
                merging: suite.source.unwrap_or("unknown").into(),
                unknown: shards.is_none() || merging.is_none(),
            });
        }
    }
    let n = split_into.unwrap_or(1);
    let missing_shards: Vec<String> = (1..=n)
        .filter(|i| !seen_shards.contains(i))
        .map(|i| format!("{i}/{n}"))
        .collect();
    // A shard missing is a run missing a part, whatever its cases (a filter that selects
    // none, a run of no sandbox).
    if !missing_shards.is_empty() {
        return Err(MergeError::MissingShards {
            shards: missing_shards.join(", "),
        });
    }
    let expected: BTreeSet<&str> =
        select_cases(suite.cases, suite.catalog, first.filter.as_deref(), None)
            .into_iter()
            .map(|c| c.case.id.as_str())
            .collect();
    let suts = (0..first.suts.len())
        .map(|k| {
            let parts: Vec<&SutResult> = shards.iter().map(|s| &s.suts[k]).collect();
            merge_sut(&parts, &expected, suite, first.filter.is_some())
        })
        .collect::<Result<_, _>>()?;
    Ok(RunResult {
        schema_version: first.schema_version,
        tool_version: first.tool_version.clone(),
        level: first.level,
        filter: first.filter.clone(),
        shard: None,
        source: first.source.clone(),
        // Every machine's run, in shard order.
        executions: {
            let mut executions: Vec<Execution> = shards
                .iter()
                .flat_map(|s| s.executions.iter().cloned())
                .collect();
            executions.sort_by_key(|e| e.shard.as_deref().and_then(parse_shard));
            executions
        },
        suts,
    })
}

fn parse_shard(text: &str) -> Option<(usize, usize)> {
    let (i, n) = text.split_once('/')?;
    let (i, n) = (i.parse().ok()?, n.parse().ok()?);
    (1..=n).contains(&i).then_some((i, n))
}

fn merge_sut(
    parts: &[&SutResult],
    expected: &BTreeSet<&str>,
    suite: &Suite<'_>,
    filtered: bool,
) -> Result<SutResult, MergeError> {
    let sut = &parts[0].sut;
    let mut cases: BTreeMap<String, CaseResult> = BTreeMap::new();
    for part in parts {
        for case in &part.cases {
            if !expected.contains(case.case.as_str()) {
                return Err(MergeError::Foreign {
                    sut: sut.name.clone(),
                    case: case.case.clone(),
                });
            }
            if cases.insert(case.case.clone(), case.clone()).is_some() {
                return Err(MergeError::Overlap {
                    sut: sut.name.clone(),
                    case: case.case.clone(),
                });
            }
        }
    }
    let absent: Vec<String> = expected
        .iter()
        .filter(|c| !cases.contains_key(**c))
        .map(|c| (*c).to_owned())
        .collect();
    if !absent.is_empty() {
        return Err(MergeError::Missing {
            sut: sut.name.clone(),
            cases: absent,
        });
    }
    let known = expectations(suite.expectations_dir, &sut.name)
        .map_err(|e| MergeError::Expectations(e.to_string()))?;
    // The waivers of this harness's expectations files, on the cases as on the
    // requirements: a shard's machine may have had others.
    let cases: Vec<CaseResult> = cases
        .into_values()
        .map(|mut case| {
            case.waived = None;
            case.notes.retain(|n| !n.starts_with("stale expectation"));
            apply_known(&mut case, &known);
            case
        })
        .collect();
    let requirements = aggregate(suite.catalog, suite.cases, &cases, &known, suite.harms);
    // Each shard ran the protocol self-test: a failure in any withholds the certificate.
    let self_test = parts
        .iter()
        .find(|p| p.self_test.iter().any(|c| !c.passed))
        .unwrap_or(&parts[0])
        .self_test
        .clone();
    // Every shard's machine could not run the sandbox: nor could the whole. Some could and
    // some not: no one run of it, refused rather than certified or hidden.
    let unavailable = parts.iter().find_map(|p| p.unavailable.clone());
    if unavailable.is_some() && parts.iter().any(|p| p.unavailable.is_none()) {
        return Err(MergeError::RanOnSome {
            sut: sut.name.clone(),
        });
    }
    let (certified_level, held_back_by) =
        certification(&requirements, (filtered, unavailable.is_some()), &self_test);
    // Every build the shards ran, each once.
    let binaries: BTreeSet<FileDigest> = parts
        .iter()
        .flat_map(|p| p.sut.binaries.iter().cloned())
        .collect();
    Ok(SutResult {
        sut: SutInfo {
            binaries: binaries.into_iter().collect(),
            ..sut.clone()
        },
        self_test,
        held_back_by,
        certified_level,
        unavailable,
        requirements,
        cases,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{catalog, harms, suite};
    use sbx_harness::model::Verdict;

    /// The suite's cases split into `n` shards as `--shard I/N` splits them, each case
    /// passing, of one sandbox.
    fn shards(n: usize) -> Vec<RunResult> {
        let settings = suite::settings(suite::CASES).unwrap();
        let cases = suite::cases(&settings);
        (1..=n)
            .map(|i| {
                let ids: Vec<String> = cases
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| k % n == i - 1)
                    .map(|(_, c)| c.case.id.clone())
                    .collect();
                let cases: Vec<CaseResult> = ids
                    .iter()
                    .map(|id| {
                        serde_json::from_value(serde_json::json!({
                            "case": id, "verdict": "pass", "reason": "no harm observed",
                            "harm": [], "outcome": {"kind": "unknown"}, "expected": null,
                            "expectation_met": null, "protocol_errors": [], "notes": [],
                            "measured": {"wall_ms": 1, "cpu_ms": 1, "peak_rss_kib": 1,
                                         "stdout_bytes": 0, "stderr_bytes": 0},
                            "waived": null
                        }))
                        .unwrap()
                    })
                    .collect();
                serde_json::from_value(serde_json::json!({
                    "schema_version": sbx_harness::model::RESULT_SCHEMA_VERSION,
                    "tool_version": env!("CARGO_PKG_VERSION"), "level": 3, "filter": null,
                    "shard": format!("{i}/{n}"), "source": "c0ffee",
                    "executions": [{
                        "shard": format!("{i}/{n}"), "sandboxes": ["reference"],
                        "harness": [{"path": "/x", "sha256": format!("{i:064}")}],
                        "started": "2026-01-01T00:00:00Z",
                        "ended": "2026-01-01T00:01:00Z",
                        "host": {"kernel": format!("6.{i}"), "architecture": "x86_64",
                                 "landlock_abi": 7, "cgroup": "v2", "user_namespaces": true,
                                 "root": true}
                    }],
                    "suts": [{
                        "sut": {"name": "reference", "role": "candidate", "adapter": "a",
                                "features": [],
                                "binaries": [{"path": "/a", "sha256": format!("{i:064}")}]},
                        "self_test": [], "certified_level": 0, "held_back_by": [],
                        "requirements": [],
                        "cases": cases
                    }]
                }))
                .unwrap()
            })
            .collect()
    }

    fn merged(shards: &[RunResult]) -> Result<RunResult, MergeError> {
        let catalog = catalog::parse(catalog::CATALOG).unwrap();
        let settings = suite::settings(suite::CASES).unwrap();
        let cases = suite::cases(&settings);
        let harms = harms::HarmMap::parse(harms::HARMS, &catalog).unwrap();
        // The committed expectations files, the reference's among them.
        let expectations = Path::new(env!("CARGO_MANIFEST_DIR")).join("expectations");
        merge(
            shards,
            &Suite {
                catalog: &catalog,
                cases: &cases,
                harms: &harms,
                expectations_dir: &expectations,
                source: Some("c0ffee"),
            },
        )
    }

    #[test]
    fn every_shard_makes_the_whole_run_judged_again() {
        let run = merged(&shards(3)).unwrap();
        let sut = &run.suts[0];
        assert_eq!(run.shard, None);
        assert!(sut.requirements.iter().all(|r| r.verdict == Verdict::Pass));
        assert_eq!(sut.certified_level, 3);
        assert!(sut.held_back_by.is_empty());
        // Each machine's facts are kept, in shard order, and each build's hashes.
        let kernels: Vec<&str> = run
            .executions
            .iter()
            .map(|e| e.host.kernel.as_str())
            .collect();
        assert_eq!(kernels, ["6.1", "6.2", "6.3"]);
        assert_eq!(sut.sut.binaries.len(), 3);
        assert_eq!(run.source.as_deref(), Some("c0ffee"));
        // In any order.
        let mut reversed = shards(3);
        reversed.reverse();
        assert_eq!(merged(&reversed).unwrap(), run);
    }

    #[test]
    fn a_sandbox_not_run_on_every_shard_is_not_one_run() {
        let mut some = shards(3);
        some[1].suts[0].unavailable = Some("no bwrap here".into());
        assert_eq!(
            merged(&some),
            Err(MergeError::RanOnSome {
                sut: "reference".into()
            })
        );
        let mut none_ran = shards(3);
        for shard in &mut none_ran {
            shard.suts[0].unavailable = Some("no bwrap here".into());
        }
        let run = merged(&none_ran).unwrap();
        assert_eq!(run.suts[0].unavailable.as_deref(), Some("no bwrap here"));
        assert_eq!(run.suts[0].certified_level, 0);
    }

    #[test]
    fn shards_of_a_job_matrix_of_sandboxes_become_one_run_of_all() {
        let control = |mut run: RunResult| {
            run.suts[0].sut.name = "none".into();
            run.executions[0].sandboxes = vec!["none".into()];
            run.suts[0].sut.role = sbx_harness::model::Role::Control;
            run
        };
        let mut jobs = shards(3);
        jobs.extend(shards(3).into_iter().map(control));
        // In any order: a job matrix's artifacts come as they come.
        jobs.swap(1, 4);
        let run = merged(&jobs).unwrap();
        let names: Vec<&str> = run.suts.iter().map(|s| s.sut.name.as_str()).collect();
        assert_eq!(names, ["reference", "none"]);
        assert_eq!(run.executions.len(), 6);
        assert_eq!(run.suts[0].certified_level, 3);
        // A sandbox in two sets of sandboxes is two runs of it: refused.
        let mut both = shards(3);
        for (i, mut pair) in shards(3).into_iter().map(control).enumerate() {
            pair.suts.push(shards(3)[i].suts[0].clone());
            both.push(pair);
        }
        assert_eq!(
            merged(&both),
            Err(MergeError::SandboxInTwoGroups {
                sut: "reference".into()
            })
        );
    }

    #[test]
    fn shards_that_are_not_one_run_are_refused_each_for_its_reason() {
        let three = shards(3);
        assert_eq!(merged(&[]), Err(MergeError::NoShard));
        assert!(matches!(
            merged(&[three[0].clone(), three[2].clone()]),
            Err(MergeError::MissingShards { ref shards }) if shards == "2/3"
        ));
        let mut no_sandbox = vec![three[0].clone()];
        no_sandbox[0].suts.clear();
        assert!(matches!(
            merged(&no_sandbox),
            Err(MergeError::MissingShards { .. })
        ));
        let mut other_adapter = three.clone();
        other_adapter[2].suts[0].sut.adapter = "b".into();
        assert!(matches!(
            merged(&other_adapter),
            Err(MergeError::Different {
                what: "sandboxes",
                ..
            })
        ));
        let mut stopped = three.clone();
        stopped[1].suts[0].cases[0].verdict = Verdict::Skipped;
        stopped[1].suts[0].cases[0].reason = FAIL_FAST_SKIP.into();
        assert!(matches!(merged(&stopped), Err(MergeError::Stopped { .. })));
        assert!(matches!(
            merged(&[three[0].clone(), three[0].clone(), three[1].clone()]),
            Err(MergeError::SameShard { ref shard }) if shard == "1/3"
        ));
        let mut other_version = three.clone();
        other_version[1].tool_version = "0.0.1".into();
        assert!(matches!(
            merged(&other_version),
            Err(MergeError::Different {
                what: "harness version",
                ..
            })
        ));
        let mut other_source = three.clone();
        other_source[2].source = Some("decaf".into());
        assert!(matches!(
            merged(&other_source),
            Err(MergeError::Different {
                what: "harness source",
                ..
            })
        ));
        let mut dirty = three.clone();
        for shard in &mut dirty {
            shard.source = Some(format!("c0ffee{DIRTY}"));
        }
        assert!(matches!(
            merged(&dirty),
            Err(MergeError::OtherSource { unknown: true, .. })
        ));
        let mut elsewhere = three.clone();
        for shard in &mut elsewhere {
            shard.source = Some("decaf".into());
        }
        assert!(matches!(
            merged(&elsewhere),
            Err(MergeError::OtherSource { unknown: false, .. })
        ));
        let mut other_split = three.clone();
        other_split[2] = shards(2)[1].clone();
        assert!(matches!(
            merged(&other_split),
            Err(MergeError::Different { what: "split", .. })
        ));
        let mut whole = three.clone();
        whole[0].shard = None;
        assert_eq!(merged(&whole), Err(MergeError::NotAShard { index: 1 }));
        let mut overlapping = three.clone();
        let stray = overlapping[0].suts[0].cases[0].clone();
        overlapping[1].suts[0].cases.push(stray);
        assert!(matches!(
            merged(&overlapping),
            Err(MergeError::Overlap { .. })
        ));
        let mut foreign = three;
        foreign[0].suts[0].cases[0].case = "not_a_case".into();
        assert!(matches!(merged(&foreign), Err(MergeError::Foreign { .. })));
    }
}
