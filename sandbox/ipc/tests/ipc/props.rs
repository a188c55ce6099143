//! Properties over generated frames, chunkings and raw bytes.

use proptest::collection::vec;
use proptest::prelude::*;
use sbx_ipc::{DecodeError, Frame, FrameReader, LogLevel, Message, decode};

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..300)
}

fn text() -> impl Strategy<Value = String> {
    // Any chars, so multi-byte UTF-8 is covered.
    vec(any::<char>(), 0..40).prop_map(String::from_iter)
}

fn log_level() -> impl Strategy<Value = LogLevel> {
    prop::sample::select(LogLevel::ALL.to_vec())
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        bytes().prop_map(|report| Message::Confined { report }),
        any::<u32>().prop_map(|abi_version| Message::Loaded { abi_version }),
        bytes().prop_map(|config| Message::Init { config }),
        (text(), bytes()).prop_map(|(method, input)| Message::Invoke { method, input }),
        bytes().prop_map(|output| Message::Result { output }),
        (any::<i32>(), text()).prop_map(|(code, message)| Message::Error { code, message }),
        (any::<u16>(), bytes())
            .prop_map(|(service, payload)| Message::HostCall { service, payload }),
        (any::<i32>(), bytes())
            .prop_map(|(status, payload)| Message::HostReply { status, payload }),
        (log_level(), text()).prop_map(|(level, message)| Message::Log { level, message }),
        Just(Message::Heartbeat),
        Just(Message::Shutdown),
    ]
}

fn frame() -> impl Strategy<Value = Frame> {
    (any::<u64>(), message()).prop_map(|(request_id, message)| Frame {
        request_id,
        message,
    })
}

/// Splits `bytes` at the given cut points (taken modulo the length, so any cuts are valid).
fn split<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts
        .iter()
        .map(|cut| cut % (bytes.len() + 1))
        .chain([0, bytes.len()])
        .collect();
    cuts.sort_unstable();
    cuts.windows(2).map(|w| &bytes[w[0]..w[1]]).collect()
}

proptest! {
    #[test]
    fn any_frame_round_trips(frame in frame()) {
        let wire = frame.encode().expect("generated frames are small");
        prop_assert_eq!(decode(&wire), Ok((frame, wire.len())));
    }

    #[test]
    fn any_chunking_of_any_sequence_gives_the_same_frames(
        frames in vec(frame(), 0..12),
        cuts in vec(any::<usize>(), 0..40),
    ) {
        let mut wire = Vec::new();
        for frame in &frames {
            frame.encode_into(&mut wire).expect("generated frames are small");
        }
        let mut reader = FrameReader::new();
        let mut received = Vec::new();
        for chunk in split(&wire, &cuts) {
            reader.push(chunk).expect("valid stream");
            while let Some(frame) = reader.next_frame().expect("valid stream") {
                received.push(frame);
            }
        }
        prop_assert_eq!(received, frames);
        prop_assert_eq!(reader.buffered(), 0);
    }

    #[test]
    fn random_bytes_never_panic_decode(data in vec(any::<u8>(), 0..512)) {
        let _ = decode(&data);
        sbx_ipc::fuzzing::fuzz_frame_bytes(&data);
    }

    /// Bytes that start like a frame, so the body decoder is reached, not only the header.
    #[test]
    fn random_bodies_never_panic_decode(
        kind in 0u8..13,
        body in vec(any::<u8>(), 0..64),
    ) {
        let mut data = u32::try_from(12 + body.len()).expect("small").to_le_bytes().to_vec();
        data.extend_from_slice(&[1, kind, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        data.extend_from_slice(&body);
        sbx_ipc::fuzzing::fuzz_frame_bytes(&data);
    }

    #[test]
    fn random_bytes_never_panic_the_reader(
        data in vec(any::<u8>(), 0..1024),
        cuts in vec(any::<usize>(), 0..20),
    ) {
        let mut reader = FrameReader::new();
        let mut first_error: Option<DecodeError> = None;
        for chunk in split(&data, &cuts) {
            let pushed = reader.push(chunk);
            if let Some(error) = &first_error {
                prop_assert_eq!(pushed.as_ref(), Err(error));
            }
            loop {
                match reader.next_frame() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(error) => {
                        if let Some(first) = &first_error {
                            prop_assert_eq!(&error, first);
                        }
                        first_error = Some(error);
                        break;
                    }
                }
            }
        }
    }

    #[test]
    fn stream_oracle_holds_on_random_inputs(data in vec(any::<u8>(), 0..600)) {
        sbx_ipc::fuzzing::fuzz_stream(&data);
    }

    #[test]
    fn ring_oracle_holds_on_random_inputs(data in vec(any::<u8>(), 0..600)) {
        sbx_ipc::fuzzing::fuzz_ring(&data);
    }
}
