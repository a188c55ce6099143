//! What the harness's integration tests share: a bench and a case with the suite's defaults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sbx_harness::case::{AttackFact, Bench, Bounds, Case, Expected, NeighbourMethods};

/// A bench under `scratch`, with the case guard of this build and `echo` as the neighbour.
pub fn bench(scratch: &Path) -> Bench {
    let suite = suite_file();
    Bench {
        guard: PathBuf::from(env!("CARGO_BIN_EXE_sbx-case-guard")),
        scratch_base: scratch.to_path_buf(),
        guard_args: Vec::new(),
        neighbour: sbx_adversarial_plugins::path("echo"),
        neighbour_methods: NeighbourMethods {
            echo: suite.harness.neighbour_echo,
            thread_echo: suite.harness.neighbour_thread_echo,
        },
        attack_input: suite.harness.attack_input,
        gained_marker: suite.harness.gained_marker,
        slack: Duration::from_secs(3),
        bounds: suite.bounds,
    }
}

/// What the harness's tests take from `conformance/cases.toml`.
#[derive(serde::Deserialize)]
pub struct SuiteFile {
    pub harness: SuiteHarness,
    pub bounds: Bounds,
}

/// Its `[harness]` table, as far as the tests need it.
#[derive(serde::Deserialize)]
pub struct SuiteHarness {
    pub neighbour_echo: String,
    pub neighbour_thread_echo: String,
    pub attack_input: BTreeMap<String, AttackFact>,
    pub gained_marker: String,
}

/// The suite's settings, from `conformance/cases.toml`.
pub fn suite_file() -> SuiteFile {
    toml::from_str(include_str!("../../../conformance/cases.toml"))
        .expect("conformance/cases.toml has [harness] and [bounds]")
}

/// The hostile plugin `plugin` as a case of its own name, with the default policy, no
/// option and the reference expectation `expected`.
pub fn hostile_case(plugin: &str, expected: Expected) -> Case {
    Case {
        id: plugin.into(),
        plugin: sbx_adversarial_plugins::path(plugin),
        method: "attack".into(),
        hostile: true,
        input: b"conformance".to_vec(),
        policy: sbx_harness::selftest::default_policy(),
        settle: Duration::from_millis(50),
        settle_ends_when_gone: false,
        pause: None,
        pause_during_call: None,
        linger_after_unload: Duration::ZERO,
        needs: Vec::new(),
        package: None,
        swap_in: None,
        update_installed: None,
        revoke_during_call: None,
        kill_host_during_call: None,
        audit: None,
        figures_at_least: Default::default(),
        channel_attack: false,
        neighbour_threads: false,
        allowlist_listener_prefix: false,
        allowlisted_service: None,
        reload: false,
        may_exit: false,
        expected: Some(expected),
        refused_syscall: None,
        refusal_cause: None,
        expected_output: None,
        expected_logs: None,
        exception_ends_s: None,
        faults_before_call: None,
        inert: None,
    }
}
