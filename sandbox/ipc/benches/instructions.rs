//! Instruction counts of the wire format's CPU-bound paths (gungraun, on valgrind's
//! callgrind): encoding and decoding an invoke's frame, reassembling it from a stream, and
//! decoding a host call. Counts do not depend on the machine's load, so `cargo xtask bench
//! --instructions` gates on them against `xtask/instructions.json`.

use std::hint::black_box;

use gungraun::{library_benchmark, library_benchmark_group, main};
use sbx_ipc::host_call::HostRequest;
use sbx_ipc::{Frame, FrameReader, Message};

fn invoke(size: usize) -> Frame {
    Frame {
        request_id: 7,
        message: Message::Invoke {
            method: "echo".into(),
            input: vec![0x5a; size],
        },
    }
}

fn invoke_bytes(size: usize) -> Vec<u8> {
    invoke(size).encode().expect("a frame within the bound")
}

fn storage_put() -> (u16, Vec<u8>) {
    let request = HostRequest::StoragePut {
        key: b"counter".to_vec(),
        value: vec![1; 64],
    };
    (request.service() as u16, request.encode())
}

#[library_benchmark]
#[bench::b64(args = (64), setup = invoke)]
#[bench::kib4(args = (4096), setup = invoke)]
fn frame_encode(frame: Frame) -> Vec<u8> {
    black_box(black_box(&frame).encode().expect("encodes"))
}

#[library_benchmark]
#[bench::b64(args = (64), setup = invoke_bytes)]
#[bench::kib4(args = (4096), setup = invoke_bytes)]
fn frame_decode(bytes: Vec<u8>) -> Frame {
    black_box(sbx_ipc::decode(black_box(&bytes)).expect("decodes").0)
}

#[library_benchmark]
#[bench::kib4(args = (4096), setup = invoke_bytes)]
// A frame delivered in 100-byte chunks, as a stream socket may: push, then take frames.
fn frame_reassemble(bytes: Vec<u8>) -> usize {
    let mut reader = FrameReader::new();
    let mut frames = 0;
    for chunk in black_box(&bytes).chunks(100) {
        reader.push(chunk).expect("in bounds");
        while reader.next_frame().expect("valid").is_some() {
            frames += 1;
        }
    }
    black_box(frames)
}

#[library_benchmark]
#[bench::storage_put(setup = storage_put)]
fn host_call_decode(call: (u16, Vec<u8>)) -> HostRequest {
    black_box(HostRequest::decode(call.0, black_box(&call.1)).expect("decodes"))
}

library_benchmark_group!(
    name = wire;
    benchmarks = frame_encode, frame_decode, frame_reassemble, host_call_decode
);

main!(library_benchmark_groups = wire);
