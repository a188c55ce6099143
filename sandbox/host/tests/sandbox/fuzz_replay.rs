//! Replays the saved inputs of the host-side fuzz targets (`fuzz/corpus/<target>/` and
//! `fuzz/regressions/<target>/`) on the stable toolchain, so a fixed crash stays fixed.

use std::path::Path;

use sbx_host::fuzzing::{fuzz_host_session, fuzz_policy};
use sbx_ipc::fuzzing::replay;

#[test]
fn host_side_fuzz_inputs_replay() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let sessions = replay(&fuzz, "host_session", fuzz_host_session);
    let policies = replay(&fuzz, "policy", fuzz_policy);
    assert!(sessions > 0 && policies > 0, "the seed corpora are missing");
}
