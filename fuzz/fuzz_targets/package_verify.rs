//! Packages built from the input (manifest, binary, a signature by one of three keys)
//! through verification; the oracle is `sbx_package::fuzzing::fuzz_package`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sbx_package::fuzzing::fuzz_package(data));
