//! A broker configuration and a sequence of requests, runner frames and revocations,
//! driven through the host's side of a runner session; the oracle is `sbx_host::fuzzing::fuzz_host_session`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sbx_host::fuzzing::fuzz_host_session(data));
