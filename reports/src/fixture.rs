//! A run to render and compare in tests: one sandbox, a case of every verdict.

use sbx_harness::model::{
    CaseResult, CgroupVersion, Execution, FileDigest, Harm, HarmKind, HostFacts, Measured, Outcome,
    RequirementResult, Role, RunResult, SutInfo, SutResult, Verdict,
};
use sbx_harness::protocol::Termination;

fn case(name: &str, verdict: Verdict, waived: Option<&str>) -> CaseResult {
    CaseResult {
        case: name.into(),
        verdict,
        reason: format!("why {name}\n# on two lines"),
        harm: if verdict == Verdict::Fail {
            vec![Harm {
                kind: HarmKind::SecretInOutput,
                detail: "read \"secret\"\n---\n... \u{1b}[31m<b>&".into(),
            }]
        } else {
            Vec::new()
        },
        outcome: Outcome::Killed {
            termination: Termination {
                reason: "signal".into(),
                detail: "SIGSEGV: ok 99 - forged".into(),
            },
        },
        expected: Some("killed".into()),
        expectation_met: Some(true),
        protocol_errors: Vec::new(),
        notes: Vec::new(),
        audit: Vec::new(),
        measured: Measured::default(),
        waived: waived.map(str::to_owned),
        inert: None,
        also_seen: Vec::new(),
        unserved: false,
    }
}

/// A run of one sandbox with a case of every verdict, a waived failure among them.
pub fn run(failing: bool) -> RunResult {
    let mut cases = vec![
        case("fs_read_etc", Verdict::Pass, None),
        case("net_raw", Verdict::NotApplicable, None),
        case("res_cpu #1", Verdict::Fail, Some("no cgroup # here")),
    ];
    if failing {
        cases.push(case("ipc_garbage", Verdict::Fail, None));
        cases.push(case("load_odd", Verdict::Error, None));
    }
    let requirement = |id: &str, cases: &[&str]| RequirementResult {
        id: id.into(),
        title: format!("{id} holds <always>"),
        rfc: "MUST".into(),
        level: 1,
        verdict: Verdict::Pass,
        gap: false,
        cases: cases.iter().map(|c| (*c).to_owned()).collect(),
        reason: String::new(),
        waived: None,
    };
    RunResult {
        schema_version: sbx_harness::model::RESULT_SCHEMA_VERSION,
        tool_version: "0.1.0".into(),
        level: 3,
        filter: None,
        shard: None,
        source: Some("0123456789abcdef0123456789abcdef01234567".into()),
        executions: vec![Execution {
            shard: None,
            sandboxes: vec!["reference".into()],
            harness: vec![FileDigest {
                path: "/opt/sbx/xtask".into(),
                sha256: "cd".repeat(32),
            }],
            started: "2026-12-01T10:00:00Z".into(),
            ended: "2026-12-01T10:00:42Z".into(),
            host: HostFacts {
                kernel: "6.18.0".into(),
                architecture: "x86_64".into(),
                landlock_abi: Some(7),
                cgroup: CgroupVersion::Hybrid,
                user_namespaces: true,
                root: true,
            },
        }],
        suts: vec![SutResult {
            sut: SutInfo {
                name: "reference".into(),
                role: Role::Candidate,
                adapter: "sbx reference sandbox 0.1.0".into(),
                features: Vec::new(),
                binaries: vec![FileDigest {
                    path: "/opt/sbx/sbx-adapter".into(),
                    sha256: "ab".repeat(32),
                }],
            },
            self_test: Vec::new(),
            held_back_by: Vec::new(),
            certified_level: 3,
            unavailable: None,
            requirements: vec![
                requirement("FS-001", &["fs_read_etc", "res_cpu #1"]),
                requirement("IPC-001", &["ipc_garbage", "load_odd"]),
            ],
            cases,
        }],
    }
}
