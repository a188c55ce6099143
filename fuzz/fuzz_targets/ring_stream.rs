//! Frame sequences through the low-latency mode's ring, in generated steps, some of them a
//! hostile peer's published positions; the oracle is `sbx_ipc::fuzzing::fuzz_ring`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sbx_ipc::fuzzing::fuzz_ring(data));
