//! Generated frame sequences fed to `FrameReader` in generated chunks; the oracle is
//! `sbx_ipc::fuzzing::fuzz_stream`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sbx_ipc::fuzzing::fuzz_stream(data));
