//! Instruction counts of the host's CPU-bound policy paths (gungraun, on valgrind's
//! callgrind): parsing the example policy store, and deciding what a plugin that asks for
//! more than its rule allows is given.

use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::{Duration, SystemTime};

use gungraun::{library_benchmark, library_benchmark_group, main};
use sbx_host::Capability;
use sbx_host::plugin_policy::{Decision, PolicyStore};
use sbx_package::RequestedLimits;

const STORE: &str = include_str!("../../policy/plugins.example.toml");

fn store_text() -> &'static str {
    STORE
}

fn store() -> PolicyStore {
    PolicyStore::parse(STORE).expect("the example store parses")
}

#[library_benchmark]
#[bench::example(setup = store_text)]
fn policy_parse(text: &str) -> PolicyStore {
    black_box(PolicyStore::parse(black_box(text)).expect("parses"))
}

#[library_benchmark]
#[bench::excess(setup = store)]
fn policy_decide(store: PolicyStore) -> Decision {
    let requested = BTreeSet::from([
        Capability::Log,
        Capability::Storage,
        Capability::Net,
        Capability::Notify,
    ]);
    let asked = RequestedLimits {
        memory_mib: Some(4096),
        cpu_seconds: Some(5),
        ..RequestedLimits::default()
    };
    // A fixed instant: the decision depends on the time (exceptions end), the count must not.
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let conditions = sbx_host::plugin_policy::Conditions::at(now);
    black_box(store.decide(black_box("template-c"), &requested, &asked, &conditions))
}

library_benchmark_group!(
    name = policy;
    benchmarks = policy_parse, policy_decide
);

main!(library_benchmark_groups = policy);
