//! A service number and payload into the host-call decoder; the oracle is
//! `sbx_ipc::fuzzing::fuzz_host_call`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sbx_ipc::fuzzing::fuzz_host_call(data));
