//! Manifest bytes into the manifest parser; the oracle is `sbx_package::fuzzing::fuzz_manifest`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sbx_package::fuzzing::fuzz_manifest(data));
