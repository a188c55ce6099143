//! `FrameReader`: reassembly, eager length checks, poisoning and the memory bound.

use sbx_ipc::{DecodeError, Frame, FrameReader, MAX_FRAME_LEN, Message};

use crate::{raw, samples};

fn wire(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    for frame in frames {
        frame.encode_into(&mut out).expect("test frames are small");
    }
    out
}

fn drain(reader: &mut FrameReader) -> Vec<Frame> {
    let mut frames = Vec::new();
    while let Some(frame) = reader.next_frame().expect("valid stream") {
        frames.push(frame);
    }
    frames
}

#[test]
fn byte_by_byte() {
    let frames = samples();
    let mut reader = FrameReader::new();
    let mut received = Vec::new();
    for byte in wire(&frames) {
        reader.push(&[byte]).expect("valid stream");
        received.extend(drain(&mut reader));
    }
    assert_eq!(received, frames);
    assert_eq!(reader.buffered(), 0);
}

#[test]
fn all_at_once() {
    let frames = samples();
    let mut reader = FrameReader::new();
    reader.push(&wire(&frames)).expect("valid stream");
    assert_eq!(drain(&mut reader), frames);
    assert_eq!(reader.buffered(), 0);
}

#[test]
fn partial_frame_stays_buffered() {
    let bytes = wire(&samples()[..1]);
    let mut reader = FrameReader::new();
    reader
        .push(&bytes[..bytes.len() - 1])
        .expect("valid prefix");
    assert_eq!(reader.next_frame(), Ok(None));
    assert_eq!(reader.buffered(), bytes.len() - 1);
    reader
        .push(&bytes[bytes.len() - 1..])
        .expect("valid stream");
    assert_eq!(drain(&mut reader), samples()[..1]);
}

#[test]
fn oversized_length_is_refused_by_push_from_its_prefix() {
    let mut reader = FrameReader::new();
    reader.push(&[0xFF, 0xFF]).expect("prefix not complete yet");
    let error = DecodeError::TooLarge { len: u32::MAX };
    assert_eq!(reader.push(&[0xFF, 0xFF]), Err(error.clone()));
    assert_eq!(reader.buffered(), 0, "the buffer is dropped");
    assert_eq!(reader.next_frame(), Err(error));
}

#[test]
fn bad_length_behind_valid_frames_is_refused_on_push() {
    // The second frame's prefix is checked as soon as it is buffered, before the first frame
    // is even drained.
    let mut bytes = wire(&samples()[..1]);
    bytes.extend_from_slice(&3u32.to_le_bytes());
    let mut reader = FrameReader::new();
    assert_eq!(reader.push(&bytes), Err(DecodeError::TooShort { len: 3 }));
}

#[test]
fn poisoned_reader_repeats_its_error() {
    let mut reader = FrameReader::new();
    reader.push(&raw(2, 10, 0, 0, &[])).expect("length is fine");
    let error = DecodeError::UnsupportedVersion { version: 2 };
    assert_eq!(reader.next_frame(), Err(error.clone()));
    // Valid bytes do not resynchronise it.
    assert_eq!(reader.push(&wire(&samples())), Err(error.clone()));
    assert_eq!(reader.next_frame(), Err(error));
    assert_eq!(reader.buffered(), 0);
}

#[test]
fn undrained_backlog_is_refused() {
    let frame = Frame {
        request_id: 0,
        message: Message::Init {
            config: vec![0; 1000],
        },
    };
    let bytes = wire(&[frame]);
    let mut reader = FrameReader::new();
    let mut pushed = 0;
    let error = loop {
        match reader.push(&bytes) {
            Ok(()) => pushed += bytes.len(),
            Err(error) => break error,
        }
    };
    assert!(pushed > MAX_FRAME_LEN && pushed <= MAX_FRAME_LEN + bytes.len());
    assert_eq!(error, DecodeError::Backlog { buffered: pushed });
}

#[test]
fn many_tiny_frames_in_one_chunk() {
    let frames: Vec<Frame> = (0..50_000)
        .map(|request_id| Frame {
            request_id,
            message: Message::Heartbeat,
        })
        .collect();
    let mut reader = FrameReader::new();
    reader.push(&wire(&frames)).expect("valid stream");
    assert_eq!(drain(&mut reader), frames);
}

#[test]
fn largest_frame_in_small_chunks_stays_within_the_bound() {
    let frame = Frame {
        request_id: 9,
        message: Message::Result {
            output: vec![7; MAX_FRAME_LEN - 20],
        },
    };
    let bytes = wire(&[frame.clone(), frame.clone()]);
    let mut reader = FrameReader::new();
    let mut received = Vec::new();
    for chunk in bytes.chunks(4093) {
        reader.push(chunk).expect("valid stream");
        assert!(reader.buffered() <= MAX_FRAME_LEN + chunk.len());
        received.extend(drain(&mut reader));
    }
    assert_eq!(received, [frame.clone(), frame]);
}
