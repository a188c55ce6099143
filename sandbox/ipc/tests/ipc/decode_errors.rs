//! Every `DecodeError` variant, table-driven through one `check` helper.

use sbx_ipc::{DecodeError, Frame, HEADER_LEN, MAX_FRAME_LEN, Message, decode};

use crate::{field, raw, raw_with_len};

/// Decodes `input` and compares the outcome with `expected`.
fn check(input: &[u8], expected: Result<(Frame, usize), DecodeError>) {
    assert_eq!(decode(input), expected, "input: {input:02x?}");
}

fn err<T>(error: DecodeError) -> Result<T, DecodeError> {
    Err(error)
}

const MAX_LEN: u32 = (MAX_FRAME_LEN - 4) as u32;

#[test]
fn incomplete() {
    use DecodeError::Incomplete;
    let heartbeat = raw(1, 10, 0, 0, &[]);
    let invoke = raw(1, 4, 0, 0, &[field(b"m"), field(b"")].concat());
    let cases: &[(&[u8], usize)] = &[
        (&[], HEADER_LEN),
        (&[12, 0, 0], HEADER_LEN),
        (&[12, 0, 0, 0], HEADER_LEN),
        (&heartbeat[..15], HEADER_LEN),
        (&invoke[..4], invoke.len()),
        (&invoke[..HEADER_LEN], invoke.len()),
        (&invoke[..invoke.len() - 1], invoke.len()),
        // The largest legal length waits for its bytes rather than being refused.
        (&MAX_LEN.to_le_bytes(), MAX_FRAME_LEN),
    ];
    for &(input, needed) in cases {
        check(input, err(Incomplete { needed }));
    }
}

#[test]
fn too_short() {
    for len in [0u32, 1, 11] {
        check(&len.to_le_bytes(), err(DecodeError::TooShort { len }));
        check(
            &raw_with_len(len, 1, 10, 0, 0, &[]),
            err(DecodeError::TooShort { len }),
        );
    }
}

#[test]
fn too_large_is_refused_from_the_prefix_alone() {
    for len in [MAX_LEN + 1, 0x8000_0000, u32::MAX] {
        check(&len.to_le_bytes(), err(DecodeError::TooLarge { len }));
        check(
            &raw_with_len(len, 1, 10, 0, 0, &[]),
            err(DecodeError::TooLarge { len }),
        );
    }
}

#[test]
fn header_fields() {
    let cases: Vec<(Vec<u8>, DecodeError)> = vec![
        (
            raw(0, 10, 0, 0, &[]),
            DecodeError::UnsupportedVersion { version: 0 },
        ),
        (
            raw(2, 10, 0, 0, &[]),
            DecodeError::UnsupportedVersion { version: 2 },
        ),
        (raw(1, 0, 0, 0, &[]), DecodeError::UnknownKind { kind: 0 }),
        (raw(1, 15, 0, 0, &[]), DecodeError::UnknownKind { kind: 15 }),
        (
            raw(1, 255, 0, 0, &[]),
            DecodeError::UnknownKind { kind: 255 },
        ),
        (
            raw(1, 10, 1, 0, &[]),
            DecodeError::ReservedNotZero { value: 1 },
        ),
        (
            raw(1, 10, 0x100, 0, &[]),
            DecodeError::ReservedNotZero { value: 0x100 },
        ),
        // Order: version, then kind, then reserved.
        (
            raw(9, 99, 9, 0, &[]),
            DecodeError::UnsupportedVersion { version: 9 },
        ),
        (raw(1, 99, 9, 0, &[]), DecodeError::UnknownKind { kind: 99 }),
    ];
    for (input, expected) in cases {
        check(&input, err(expected));
    }
}

#[test]
fn header_is_checked_before_the_body_arrives() {
    let bad = raw_with_len(1000, 7, 10, 0, 0, &[]);
    check(&bad, err(DecodeError::UnsupportedVersion { version: 7 }));
}

#[test]
fn truncated() {
    let truncated = |field| err(DecodeError::Truncated { field });
    let cases: Vec<(Vec<u8>, &'static str)> = vec![
        (raw(1, 1, 0, 0, &[]), "Confined.report"),
        (raw(1, 1, 0, 0, &[5, 0, 0]), "Confined.report"),
        // Inner length larger than the rest of the frame: refused before any allocation.
        (raw(1, 1, 0, 0, &[5, 0, 0, 0, b'a']), "Confined.report"),
        (raw(1, 1, 0, 0, &u32::MAX.to_le_bytes()), "Confined.report"),
        (raw(1, 2, 0, 0, &[1, 0, 0]), "Loaded.abi_version"),
        (raw(1, 3, 0, 0, &[1, 0, 0, 0]), "Init.config"),
        (raw(1, 4, 0, 0, &[]), "Invoke.method"),
        (raw(1, 4, 0, 0, &field(b"m")), "Invoke.input"),
        (raw(1, 5, 0, 0, &[0, 1]), "Result.output"),
        (raw(1, 6, 0, 0, &[0, 0]), "Error.code"),
        (raw(1, 6, 0, 0, &[0, 0, 0, 0]), "Error.message"),
        (raw(1, 7, 0, 0, &[0]), "HostCall.service"),
        (raw(1, 7, 0, 0, &[0, 0, 9, 0, 0, 0]), "HostCall.payload"),
        (raw(1, 8, 0, 0, &[0, 0, 0]), "HostReply.status"),
        (raw(1, 8, 0, 0, &[0, 0, 0, 0]), "HostReply.payload"),
        (raw(1, 9, 0, 0, &[]), "Log.level"),
        (raw(1, 9, 0, 0, &[2, 1, 0, 0, 0]), "Log.message"),
    ];
    for (input, field) in cases {
        check(&input, truncated(field));
    }
}

#[test]
fn invalid_utf8() {
    let cases: Vec<(Vec<u8>, &'static str)> = vec![
        (
            raw(1, 4, 0, 0, &[field(&[0xFF]), field(b"")].concat()),
            "Invoke.method",
        ),
        (
            raw(1, 6, 0, 0, &[&[0, 0, 0, 0][..], &field(&[0xC3])].concat()),
            "Error.message",
        ),
        (
            raw(1, 9, 0, 0, &[&[0][..], &field(b"\xED\xA0\x80")].concat()),
            "Log.message",
        ),
    ];
    for (input, field) in cases {
        check(&input, err(DecodeError::InvalidUtf8 { field }));
    }
}

#[test]
fn invalid_log_level() {
    for level in [4, 5, 255] {
        let input = raw(1, 9, 0, 0, &[&[level][..], &field(b"x")].concat());
        check(&input, err(DecodeError::InvalidLogLevel { level }));
    }
}

#[test]
fn trailing_bytes() {
    let cases: Vec<(Vec<u8>, usize)> = vec![
        (raw(1, 10, 0, 0, &[0]), 1),
        (raw(1, 11, 0, 0, &[0; 7]), 7),
        (raw(1, 2, 0, 0, &[1, 0, 0, 0, 0]), 1),
        (raw(1, 3, 0, 0, &[field(b"ab"), vec![0, 0]].concat()), 2),
    ];
    for (input, count) in cases {
        check(&input, err(DecodeError::TrailingBytes { count }));
    }
}

#[test]
fn valid_frames_with_extra_bytes_after_them() {
    let mut input = raw(1, 2, 0, 5, &[7, 0, 0, 0]);
    let len = input.len();
    input.extend_from_slice(b"next frame");
    let frame = Frame {
        request_id: 5,
        message: Message::Loaded { abi_version: 7 },
    };
    check(&input, Ok((frame, len)));
}
