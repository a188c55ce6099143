//! Replays the fuzz corpora and regressions, and keeps the committed seed corpora in sync with
//! the generator below.

use std::path::{Path, PathBuf};

use sbx_ipc::fuzzing::{fuzz_frame_bytes, fuzz_host_call, fuzz_ring, fuzz_stream};
use sbx_ipc::host_call::HostRequest;
use sbx_ipc::{DecodeError, Frame, HEADER_LEN, LogLevel, Message, decode};

/// A fuzzing oracle: panics if its input breaks a property.
type Oracle = fn(&[u8]);

/// The cargo-fuzz targets and the oracle each one runs.
const TARGETS: [(&str, Oracle); 4] = [
    ("frame_decode", fuzz_frame_bytes),
    ("stream_reassembly", fuzz_stream),
    ("ring_stream", fuzz_ring),
    ("host_call_decode", fuzz_host_call),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

#[test]
fn corpus_replay() {
    let replayed: usize = TARGETS
        .iter()
        .map(|(target, oracle)| sbx_ipc::fuzzing::replay(&fuzz_dir(), target, *oracle))
        .sum();
    println!("corpus_replay: replayed {replayed} inputs");
}

/// Every cargo-fuzz target, and the test that replays its corpus and regressions; a target
/// added to `fuzz/Cargo.toml` without a replay fails here.
const REPLAYED_BY: [(&str, &str); 10] = [
    ("frame_decode", "sandbox/ipc/tests/ipc/corpus.rs"),
    ("stream_reassembly", "sandbox/ipc/tests/ipc/corpus.rs"),
    ("ring_stream", "sandbox/ipc/tests/ipc/corpus.rs"),
    ("host_call_decode", "sandbox/ipc/tests/ipc/corpus.rs"),
    ("host_session", "sandbox/host/tests/sandbox/fuzz_replay.rs"),
    ("policy", "sandbox/host/tests/sandbox/fuzz_replay.rs"),
    ("manifest", "sandbox/package/src/tests.rs"),
    ("package_verify", "sandbox/package/src/tests.rs"),
    ("elf_hardening", "sandbox/package/src/tests.rs"),
    ("adapter_protocol", "harness/src/fuzzing.rs"),
];

#[test]
fn every_fuzz_target_is_replayed() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let targets: Vec<&str> = manifest
        .lines()
        .filter_map(|line| line.strip_prefix("name = \""))
        .filter_map(|rest| rest.strip_suffix('"'))
        .filter(|name| *name != "sbx-fuzz")
        .collect();
    let listed: Vec<&str> = REPLAYED_BY.iter().map(|(t, _)| *t).collect();
    assert_eq!(targets, listed, "fuzz/Cargo.toml and REPLAYED_BY disagree");
    let root = fuzz_dir().join("..");
    for (target, test) in REPLAYED_BY {
        let text = std::fs::read_to_string(root.join(test)).expect(test);
        assert!(
            text.contains(&format!("\"{target}\"")),
            "{test} does not replay {target}"
        );
    }
}

/// What decoding a `frame_decode` seed must give: bytes consumed, or the error.
type Expect = Result<usize, DecodeError>;

fn encode(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    for frame in frames {
        frame.encode_into(&mut out).expect("seeds are small");
    }
    out
}

fn frame(request_id: u64, message: Message) -> Frame {
    Frame {
        request_id,
        message,
    }
}

/// Seeds of `frame_decode`: valid frames of several kinds, and the failures worth starting
/// from (a truncated frame, an oversized length, bad UTF-8).
fn frame_decode_seeds() -> Vec<(&'static str, Vec<u8>, Expect)> {
    let invoke = encode(&[frame(
        7,
        Message::Invoke {
            method: "echo".into(),
            input: b"hello".to_vec(),
        },
    )]);
    let mut bad_utf8 = encode(&[frame(
        0,
        Message::Log {
            level: LogLevel::Info,
            message: "ab".into(),
        },
    )]);
    if let Some(last) = bad_utf8.last_mut() {
        *last = 0xFF;
    }
    let mut oversized = vec![0xFF; 4];
    oversized.extend_from_slice(&[1, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let seeds = vec![
        ("heartbeat", encode(&[frame(1, Message::Heartbeat)])),
        ("invoke", invoke.clone()),
        (
            "confined",
            encode(&[frame(
                0,
                Message::Confined {
                    report: br#"{"no_new_privs":true,"seccomp":"strict"}"#.to_vec(),
                },
            )]),
        ),
        (
            "error",
            encode(&[frame(
                3,
                Message::Error {
                    code: -2,
                    message: "no such method: é".into(),
                },
            )]),
        ),
        (
            "host-call",
            encode(&[frame(
                4,
                Message::HostCall {
                    service: 2,
                    payload: b"ping".to_vec(),
                },
            )]),
        ),
        (
            "log",
            encode(&[frame(
                0,
                Message::Log {
                    level: LogLevel::Info,
                    message: "ready".into(),
                },
            )]),
        ),
        (
            "two-frames",
            encode(&[
                frame(0, Message::Loaded { abi_version: 1 }),
                frame(9, Message::Shutdown),
            ]),
        ),
        ("truncated", invoke[..invoke.len() - 3].to_vec()),
        ("oversized-len", oversized),
        ("bad-utf8", bad_utf8),
    ];
    seeds
        .into_iter()
        .map(|(name, bytes)| {
            let expect = match name {
                "truncated" => Err(DecodeError::Incomplete {
                    needed: invoke.len(),
                }),
                "oversized-len" => Err(DecodeError::TooLarge { len: u32::MAX }),
                "bad-utf8" => Err(DecodeError::InvalidUtf8 {
                    field: "Log.message",
                }),
                "two-frames" => Ok(HEADER_LEN + 4),
                _ => Ok(bytes.len()),
            };
            (name, bytes, expect)
        })
        .collect()
}

/// Seeds of `stream_reassembly`, in the layout `fuzzing::fuzz_stream` reads: frame count, then
/// per frame a kind index (0 = Confined .. 10 = Shutdown), a request id byte and the fields
/// (length byte + bytes), then one byte per chunk size (`b + 1` bytes).
fn stream_seeds() -> Vec<(&'static str, Vec<u8>, usize)> {
    let mut mixed = vec![6];
    mixed.extend_from_slice(&[3, 7, 4]); // Invoke, id 7, method "echo"
    mixed.extend_from_slice(b"echo");
    mixed.extend_from_slice(&[5]); // input "hello"
    mixed.extend_from_slice(b"hello");
    mixed.extend_from_slice(&[4, 7, 3]); // Result, id 7, output "abc"
    mixed.extend_from_slice(b"abc");
    mixed.extend_from_slice(&[5, 8, 0xFE, 0xFF, 0xFF, 0xFF, 6]); // Error, id 8, code -2
    mixed.extend_from_slice("héllo".as_bytes());
    mixed.extend_from_slice(&[8, 0, 2, 5]); // Log, id 0, Info, "ready"
    mixed.extend_from_slice(b"ready");
    mixed.extend_from_slice(&[9, 1, 10, 2]); // Heartbeat id 1, Shutdown id 2
    mixed.extend_from_slice(&[0, 2, 6, 14, 30]); // chunks of 1, 3, 7, 15, 31 bytes, then the rest

    let mut host_calls = vec![4];
    host_calls.extend_from_slice(&[0, 0, 21]); // Confined, id 0
    host_calls.extend_from_slice(br#"{"no_new_privs":true}"#);
    host_calls.extend_from_slice(&[1, 0, 1, 0, 0, 0]); // Loaded, abi 1
    host_calls.extend_from_slice(&[6, 3, 2, 0, 4]); // HostCall, id 3, service 2, "ping"
    host_calls.extend_from_slice(b"ping");
    host_calls.extend_from_slice(&[7, 3, 0, 0, 0, 0, 4]); // HostReply, id 3, status 0, "pong"
    host_calls.extend_from_slice(b"pong");
    host_calls.extend_from_slice(&[0; 64]); // the first 64 bytes one by one

    // Init, id 9, a 64 KiB config (size byte 0xF0, u16 0x1000 * 16, padded), then chunks of
    // 4 KiB, 24 KiB and 1 byte.
    let large = vec![1, 2, 9, 0xF0, 0x00, 0x10, 0xF0, 0xF5, 0];

    vec![
        ("mixed-small-chunks", mixed, 6),
        ("host-calls-bytewise", host_calls, 4),
        ("large-frame", large, 1),
    ]
}

/// Seeds of `ring_stream`, in the layout `fuzzing::fuzz_ring` reads: the ring's size byte,
/// a stream seed's frames (without its chunk sizes), then the steps.
fn ring_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let streams = stream_seeds();
    // The frames of `mixed-small-chunks`: its last five bytes are chunk sizes.
    let mixed = &streams[0].1;
    let frames = &mixed[..mixed.len() - 5];
    let with = |size: u8, steps: &[u8]| {
        let mut bytes = vec![size];
        bytes.extend_from_slice(frames);
        bytes.extend_from_slice(steps);
        bytes
    };
    // Step bytes: 4 * k + kind moves up to 2^k bytes; kind 0 puts, 1 takes, 2 and 3 publish
    // the four bytes after them as the write or the read position.
    let put = |k: u8| 4 * k;
    let take = |k: u8| 4 * k + 1;
    vec![
        // A 16-byte ring: every frame wraps around its end, moved a few bytes at a time.
        (
            "honest-wrapping",
            with(0, &[put(2), take(1), put(3), take(4), put(0), take(2)]),
        ),
        // A 64 KiB ring and no steps: the rest goes through in whole rings.
        ("honest-whole", with(12, &[])),
        // The peer publishes a write position a byte more than a ring ahead.
        (
            "written-past-ring",
            with(0, &[put(3), 2, 17, 0, 0, 0, take(4)]),
        ),
        // The peer publishes a read position ahead of what was written.
        ("read-ahead", with(2, &[put(2), 3, 9, 0, 0, 0, put(4)])),
    ]
}

/// Seeds of `host_call_decode`: the service number (u16 LE), then the payload.
fn host_call_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let with_service = |request: HostRequest| {
        let mut bytes = (request.service() as u16).to_le_bytes().to_vec();
        bytes.extend_from_slice(&request.encode());
        bytes
    };
    vec![
        (
            "storage-put",
            with_service(HostRequest::StoragePut {
                key: b"counter".to_vec(),
                value: b"41".to_vec(),
            }),
        ),
        (
            "net-request",
            with_service(HostRequest::NetRequest {
                dest: b"127.0.0.1:8080".to_vec(),
                request: b"GET / HTTP/1.0\r\n\r\n".to_vec(),
                out_cap: 4096,
            }),
        ),
        ("clock", with_service(HostRequest::ClockNow)),
        // A key length of u32::MAX with four bytes behind it.
        (
            "huge-length",
            vec![4, 0, 0xFF, 0xFF, 0xFF, 0xFF, b'a', b'b', b'c', b'd'],
        ),
    ]
}

/// Every seed in one list: target, file name, bytes.
fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let frames = frame_decode_seeds()
        .into_iter()
        .map(|(name, bytes, _)| ("frame_decode", format!("seed-{name}"), bytes));
    let streams = stream_seeds()
        .into_iter()
        .map(|(name, bytes, _)| ("stream_reassembly", format!("seed-{name}"), bytes));
    let host_calls = host_call_seeds()
        .into_iter()
        .map(|(name, bytes)| ("host_call_decode", format!("seed-{name}"), bytes));
    let rings = ring_seeds()
        .into_iter()
        .map(|(name, bytes)| ("ring_stream", format!("seed-{name}"), bytes));
    frames
        .chain(streams)
        .chain(host_calls)
        .chain(rings)
        .collect()
}

#[test]
fn frame_decode_seeds_decode_as_named() {
    for (name, bytes, expect) in frame_decode_seeds() {
        assert!(bytes.len() <= 300, "{name} is not small");
        assert_eq!(decode(&bytes).map(|(_, used)| used), expect, "{name}");
    }
}

#[test]
fn stream_seeds_hold_their_frames() {
    for (name, bytes, frames) in stream_seeds() {
        // The count byte is what the generator reads first.
        assert_eq!(
            bytes.first().copied().map(usize::from),
            Some(frames),
            "{name}"
        );
        fuzz_stream(&bytes);
    }
}

/// The committed seeds under `fuzz/corpus/` are the ones generated above. Run with
/// `SBX_WRITE_SEEDS=1` to (re)write them after changing a seed or the generator's layout.
/// Files the fuzzer adds next to them are left alone.
#[test]
fn seed_corpus_is_up_to_date() {
    let write = std::env::var_os("SBX_WRITE_SEEDS").is_some();
    for (target, name, bytes) in seeds() {
        let path = fuzz_dir().join("corpus").join(target).join(&name);
        if write {
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("create corpus dir");
            std::fs::write(&path, &bytes).expect("write seed");
        }
        let committed = std::fs::read(&path).unwrap_or_else(|error| {
            panic!("{}: {error}; run with SBX_WRITE_SEEDS=1", path.display())
        });
        assert_eq!(
            committed,
            bytes,
            "{} is stale; run with SBX_WRITE_SEEDS=1",
            path.display()
        );
    }
}
