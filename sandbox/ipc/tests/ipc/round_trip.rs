//! Encoding then decoding is the identity, for every kind; golden bytes pin the layout.

use sbx_ipc::{EncodeError, Frame, HEADER_LEN, MAX_FRAME_LEN, Message, MessageKind, decode};

use crate::samples;

/// Encodes the sample frame of `kind`, decodes it back, and checks that nothing was lost and
/// every byte was consumed.
fn round_trip(kind: MessageKind) {
    let frame = samples()
        .into_iter()
        .find(|frame| frame.message.kind() == kind)
        .expect("a sample per kind");
    let wire = frame.encode().expect("samples are small");
    assert_eq!(
        decode(&wire),
        Ok((frame.clone(), wire.len())),
        "{}",
        kind.name()
    );

    // Appending to a non-empty buffer writes the same bytes after what was there.
    let mut out = b"prefix".to_vec();
    frame.encode_into(&mut out).expect("samples are small");
    assert_eq!(out, [&b"prefix"[..], &wire].concat());
}

#[test]
fn confined_round_trips() {
    round_trip(MessageKind::Confined);
}

#[test]
fn loaded_round_trips() {
    round_trip(MessageKind::Loaded);
}

#[test]
fn init_round_trips() {
    round_trip(MessageKind::Init);
}

#[test]
fn invoke_round_trips() {
    round_trip(MessageKind::Invoke);
}

#[test]
fn result_round_trips() {
    round_trip(MessageKind::Result);
}

#[test]
fn error_round_trips() {
    round_trip(MessageKind::Error);
}

#[test]
fn host_call_round_trips() {
    round_trip(MessageKind::HostCall);
}

#[test]
fn host_reply_round_trips() {
    round_trip(MessageKind::HostReply);
}

#[test]
fn log_round_trips() {
    round_trip(MessageKind::Log);
}

#[test]
fn heartbeat_round_trips() {
    round_trip(MessageKind::Heartbeat);
}

#[test]
fn shutdown_round_trips() {
    round_trip(MessageKind::Shutdown);
}

#[test]
fn load_round_trips() {
    round_trip(MessageKind::Load);
}

#[test]
fn samples_cover_every_kind() {
    let kinds: Vec<_> = samples().iter().map(|frame| frame.message.kind()).collect();
    assert_eq!(kinds, MessageKind::ALL);
}

#[test]
fn kind_bytes_and_names_agree() {
    for kind in MessageKind::ALL {
        assert_eq!(MessageKind::try_from(kind.to_byte()), Ok(kind));
    }
    let frame = &samples()[3];
    assert_eq!(frame.message.name(), "Invoke");
}

/// The layout written out byte by byte, independently of the encoder and decoder, so that a
/// change that breaks both symmetrically is still caught.
#[test]
fn golden_bytes() {
    let cases: [(Frame, &[u8]); 3] = [
        (
            Frame {
                request_id: 0x0102,
                message: Message::Heartbeat,
            },
            &[12, 0, 0, 0, 1, 10, 0, 0, 0x02, 0x01, 0, 0, 0, 0, 0, 0],
        ),
        (
            Frame {
                request_id: 7,
                message: Message::Invoke {
                    method: "ab".into(),
                    input: vec![0xFF],
                },
            },
            &[
                23, 0, 0, 0, 1, 4, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, // header
                2, 0, 0, 0, b'a', b'b', // method
                1, 0, 0, 0, 0xFF, // input
            ],
        ),
        (
            Frame {
                request_id: u64::MAX,
                message: Message::Error {
                    code: -1,
                    message: String::new(),
                },
            },
            &[
                20, 0, 0, 0, 1, 6, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255, // header
                255, 255, 255, 255, // code
                0, 0, 0, 0, // message
            ],
        ),
    ];
    for (frame, bytes) in cases {
        assert_eq!(frame.encode().as_deref(), Ok(bytes), "{frame:?}");
        assert_eq!(decode(bytes), Ok((frame, bytes.len())));
    }
}

#[test]
fn decode_consumes_only_the_first_frame() {
    let frames = samples();
    let mut wire = Vec::new();
    for frame in &frames {
        frame.encode_into(&mut wire).expect("samples are small");
    }
    let mut rest = wire.as_slice();
    for frame in frames {
        let (decoded, used) = decode(rest).expect("valid frames");
        assert_eq!(decoded, frame);
        rest = &rest[used..];
    }
    assert!(rest.is_empty());
}

#[test]
fn largest_frame_round_trips() {
    // Body: 4-byte length prefix + payload; the frame is exactly MAX_FRAME_LEN.
    let frame = Frame {
        request_id: 1,
        message: Message::Result {
            output: vec![0xAB; MAX_FRAME_LEN - HEADER_LEN - 4],
        },
    };
    let wire = frame.encode().expect("exactly at the bound");
    assert_eq!(wire.len(), MAX_FRAME_LEN);
    assert_eq!(decode(&wire), Ok((frame, MAX_FRAME_LEN)));
}

#[test]
fn oversized_frame_is_refused_and_leaves_the_buffer_alone() {
    let frame = Frame {
        request_id: 1,
        message: Message::Invoke {
            method: "m".into(),
            input: vec![0; MAX_FRAME_LEN - HEADER_LEN - 8],
        },
    };
    let mut out = b"kept".to_vec();
    assert_eq!(
        frame.encode_into(&mut out),
        Err(EncodeError::TooLarge {
            len: MAX_FRAME_LEN + 1
        })
    );
    assert_eq!(out, b"kept");
    assert_eq!(
        frame.encode(),
        Err(EncodeError::TooLarge {
            len: MAX_FRAME_LEN + 1
        })
    );
}
