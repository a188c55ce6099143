//! Adapter protocol lines through the line reader and both parsers; the oracle is `sbx_harness::fuzzing::fuzz_adapter_protocol`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sbx_harness::fuzzing::fuzz_adapter_protocol(data));
