//! Plugin binaries into the hardening reader (program headers, dynamic entries, symbols,
//! notes); the oracle is `sbx_package::fuzzing::fuzz_hardening`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sbx_package::fuzzing::fuzz_hardening(data));
