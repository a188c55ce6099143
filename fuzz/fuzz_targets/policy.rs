//! The operator's policy files: the plugin policy store with its decisions, and the
//! seccomp policy; the oracle is `sbx_host::fuzzing::fuzz_policy`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sbx_host::fuzzing::fuzz_policy(data));
