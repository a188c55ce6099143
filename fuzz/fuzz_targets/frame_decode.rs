//! Raw bytes into the frame decoder; the oracle is `sbx_ipc::fuzzing::fuzz_frame_bytes`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sbx_ipc::fuzzing::fuzz_frame_bytes(data));
