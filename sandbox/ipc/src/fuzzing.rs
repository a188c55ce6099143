//! Fuzzing oracles shared by the cargo-fuzz targets in `fuzz/` and the corpus replay tests.
//!
//! Each entry takes raw fuzzer bytes and panics if, and only if, the codec breaks a property;
//! the targets are one-line wrappers, so a crash found by the fuzzer replays as a plain
//! `cargo test` once its input is saved under `fuzz/regressions/<target>/`. The structured
//! input of [`fuzz_stream`] comes from a small byte-driven generator written here, so the crate
//! needs no fuzzing dependency.

use crate::ring::{RingMemory, RingReader, RingWriter};
use crate::{
    DecodeError, Frame, FrameReader, HEADER_LEN, LogLevel, MAX_FRAME_LEN, Message, MessageKind,
    decode,
};

/// Oracle for raw bytes: [`decode`] must not panic, a decoded frame must re-encode to exactly
/// the bytes it was read from and decode again to itself, and a [`FrameReader`] fed the same
/// bytes must agree with [`decode`] and stay poisoned after an error.
pub fn fuzz_frame_bytes(data: &[u8]) {
    let decoded = decode(data);
    if let Ok((frame, used)) = &decoded {
        let wire = frame.encode().expect("a decoded frame re-encodes");
        // The decoder accepts one encoding per frame, so re-encoding gives back the input.
        assert_eq!(
            Some(wire.as_slice()),
            data.get(..*used),
            "non-canonical frame"
        );
        assert_eq!(decode(&wire), Ok((frame.clone(), wire.len())));
    }

    let mut reader = FrameReader::new();
    let pushed = reader.push(data);
    if let Err(error @ (DecodeError::TooShort { .. } | DecodeError::TooLarge { .. })) = &decoded {
        // A bad first length prefix is refused by `push` already, with the same error.
        assert_eq!(pushed.as_ref(), Err(error));
    }
    let first = reader.next_frame();
    match (&pushed, &decoded) {
        (Err(error), _) => assert_eq!(first.as_ref(), Err(error)),
        (Ok(()), Ok((frame, _))) => assert_eq!(first.as_ref(), Ok(&Some(frame.clone()))),
        (Ok(()), Err(DecodeError::Incomplete { .. })) => assert_eq!(first, Ok(None)),
        (Ok(()), Err(error)) => assert_eq!(first.as_ref(), Err(error)),
    }
    if let Err(error) = &first {
        assert_eq!(
            reader.next_frame().as_ref(),
            Err(error),
            "reader not poisoned"
        );
        assert_eq!(
            reader.push(data).as_ref(),
            Err(error),
            "reader not poisoned"
        );
    }
    // Decode the frames after the first too; each consumes at least a header, so this ends.
    while let Ok(Some(_)) = reader.next_frame() {}
}

/// Oracle for stream reassembly: builds a frame sequence and chunk sizes from `data`, encodes
/// the frames back to back, and checks that both [`decode`] (frame after frame) and a
/// [`FrameReader`] fed the bytes in those chunks give back the same frames in order, with the
/// reader within its memory bound and empty at the end.
pub fn fuzz_stream(data: &[u8]) {
    let case = StreamCase::generate(data);
    let wire = encode_all(&case.frames);

    let mut rest = wire.as_slice();
    for frame in &case.frames {
        let (decoded, used) = decode(rest).expect("an encoded frame decodes");
        assert_eq!(&decoded, frame);
        rest = rest.get(used..).expect("decode consumes at most its input");
    }
    assert!(rest.is_empty(), "decode left {} bytes", rest.len());

    let mut reader = FrameReader::new();
    let mut received = Vec::with_capacity(case.frames.len());
    let mut rest = wire.as_slice();
    let mut chunk_lens = case.chunk_lens.iter().copied();
    while !rest.is_empty() {
        // Once the chunk sizes run out, the rest arrives in one chunk.
        let len = chunk_lens.next().unwrap_or(rest.len()).min(rest.len());
        let (chunk, tail) = rest.split_at(len);
        reader.push(chunk).expect("a valid stream is accepted");
        assert!(
            reader.buffered() <= MAX_FRAME_LEN + chunk.len(),
            "memory bound broken"
        );
        while let Some(frame) = reader.next_frame().expect("a valid stream decodes") {
            received.push(frame);
        }
        rest = tail;
    }
    assert_eq!(received, case.frames);
    assert_eq!(reader.buffered(), 0);
    assert_eq!(reader.next_frame(), Ok(None));
}

/// The frames back to back, as a stream carries them.
fn encode_all(frames: &[Frame]) -> Vec<u8> {
    let mut wire = Vec::new();
    for frame in frames {
        frame
            .encode_into(&mut wire)
            .expect("the generator keeps frames within MAX_FRAME_LEN");
    }
    wire
}

/// Most frames one stream case holds.
const MAX_FRAMES: u8 = 16;

/// Payload bytes one stream case may ask for in total: room for two maximal frames, so the
/// bound is exercised while one execution stays fast.
const CASE_BUDGET: usize = 2 * MAX_FRAME_LEN;

/// Size of the length prefix of a `bytes` or `str` field.
const FIELD_LEN_PREFIX: usize = 4;

/// A frame sequence and the chunk sizes to deliver it in.
#[derive(Debug)]
struct StreamCase {
    frames: Vec<Frame>,
    chunk_lens: Vec<usize>,
    /// The bytes after the frames, as they are ([`fuzz_ring`] reads them as its steps).
    steps: Vec<u8>,
}

impl StreamCase {
    /// Layout of `data`: one byte for the frame count, then each frame (kind byte, request id,
    /// fields), then one byte per chunk size. Every input, even an empty one, is a case.
    fn generate(data: &[u8]) -> Self {
        let mut choices = Choices { data };
        let count = choices.byte() % (MAX_FRAMES + 1);
        let mut budget = CASE_BUDGET;
        let frames = (0..count).map(|_| choices.frame(&mut budget)).collect();
        let chunk_lens = choices.data.iter().map(|&b| chunk_len(b)).collect();
        StreamCase {
            frames,
            chunk_lens,
            steps: choices.data.to_vec(),
        }
    }
}

/// Chunk size from one byte: mostly small (1..=240) so that every frame boundary and header
/// byte gets split, sometimes 4 KiB to 64 KiB so that large frames are not fed bytewise.
fn chunk_len(choice: u8) -> usize {
    match choice {
        0..0xF0 => usize::from(choice) + 1,
        _ => usize::from(choice - 0xEF) * 4096,
    }
}

/// Fuzzer bytes read as a sequence of choices; once they run out every choice is 0.
struct Choices<'a> {
    data: &'a [u8],
}

impl<'a> Choices<'a> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&first, rest)) => {
                self.data = rest;
                first
            }
            None => 0,
        }
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        std::array::from_fn(|_| self.byte())
    }

    fn take(&mut self, len: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(len.min(self.data.len()));
        self.data = rest;
        head
    }

    /// Usually one byte, so that inputs stay short; a full u64 when the top bit is set.
    fn request_id(&mut self) -> u64 {
        match self.byte() {
            small @ 0..0x80 => u64::from(small),
            _ => u64::from_le_bytes(self.array()),
        }
    }

    /// The contents of a `bytes` field within `room`, which it debits (the caller has already
    /// reserved the length prefix). Sizes are mostly small; a choice byte of 0xF0 or more asks
    /// for up to 1 MiB, clamped to the room, so maximal frames are reachable. Bytes the input
    /// lacks are padded, so a large field needs no large input.
    fn blob(&mut self, room: &mut usize) -> Vec<u8> {
        let wanted = match self.byte() {
            small @ 0..0xF0 => usize::from(small),
            _ => usize::from(u16::from_le_bytes(self.array())) * 16,
        };
        let len = wanted.min(*room);
        *room -= len;
        let mut bytes = self.take(len).to_vec();
        bytes.resize(len, b'z');
        bytes
    }

    /// A `str` field: the longest valid UTF-8 prefix of a blob, so multi-byte characters come
    /// through when the input holds them.
    fn text(&mut self, room: &mut usize) -> String {
        match String::from_utf8(self.blob(room)) {
            Ok(text) => text,
            Err(error) => {
                let valid = error.utf8_error().valid_up_to();
                let mut bytes = error.into_bytes();
                bytes.truncate(valid);
                String::from_utf8(bytes).unwrap_or_default()
            }
        }
    }

    /// One frame whose body fits both the case budget and [`MAX_FRAME_LEN`].
    fn frame(&mut self, budget: &mut usize) -> Frame {
        let kind = MessageKind::ALL[usize::from(self.byte()) % MessageKind::ALL.len()];
        let request_id = self.request_id();
        let start = (*budget).min(MAX_FRAME_LEN - HEADER_LEN);
        // Reserve the fixed-size fields and every length prefix before sizing the variable
        // fields: a prefix costs its 4 bytes even when the room is used up.
        let overhead = match kind {
            MessageKind::Confined | MessageKind::Init | MessageKind::Result => FIELD_LEN_PREFIX,
            MessageKind::Loaded => 4,
            MessageKind::Invoke => 2 * FIELD_LEN_PREFIX,
            MessageKind::Error | MessageKind::HostReply => 4 + FIELD_LEN_PREFIX,
            MessageKind::HostCall => 2 + FIELD_LEN_PREFIX,
            MessageKind::Log => 1 + FIELD_LEN_PREFIX,
            MessageKind::Heartbeat | MessageKind::Shutdown | MessageKind::Load => 0,
            MessageKind::InvokeShared => FIELD_LEN_PREFIX + 4,
            MessageKind::ResultShared => 4,
        };
        let mut room = start.saturating_sub(overhead);
        let message = match kind {
            MessageKind::Confined => Message::Confined {
                report: self.blob(&mut room),
            },
            MessageKind::Loaded => Message::Loaded {
                abi_version: u32::from_le_bytes(self.array()),
            },
            MessageKind::Init => Message::Init {
                config: self.blob(&mut room),
            },
            MessageKind::Invoke => Message::Invoke {
                method: self.text(&mut room),
                input: self.blob(&mut room),
            },
            MessageKind::Result => Message::Result {
                output: self.blob(&mut room),
            },
            MessageKind::Error => Message::Error {
                code: i32::from_le_bytes(self.array()),
                message: self.text(&mut room),
            },
            MessageKind::HostCall => Message::HostCall {
                service: u16::from_le_bytes(self.array()),
                payload: self.blob(&mut room),
            },
            MessageKind::HostReply => Message::HostReply {
                status: i32::from_le_bytes(self.array()),
                payload: self.blob(&mut room),
            },
            MessageKind::Log => Message::Log {
                level: LogLevel::ALL[usize::from(self.byte()) % LogLevel::ALL.len()],
                message: self.text(&mut room),
            },
            MessageKind::Heartbeat => Message::Heartbeat,
            MessageKind::Shutdown => Message::Shutdown,
            MessageKind::Load => Message::Load,
            MessageKind::InvokeShared => Message::InvokeShared {
                method: self.text(&mut room),
                input_len: u32::from_le_bytes(self.array()),
            },
            MessageKind::ResultShared => Message::ResultShared {
                output_len: u32::from_le_bytes(self.array()),
            },
        };
        *budget = budget.saturating_sub(start.saturating_sub(room));
        Frame {
            request_id,
            message,
        }
    }
}

/// Oracle for host-call payloads: the first two bytes are the service number, the rest the
/// payload. [`HostRequest::decode`](crate::host_call::HostRequest::decode) must not panic, and
/// a decoded request must re-encode to exactly the payload it came from.
pub fn fuzz_host_call(data: &[u8]) {
    use crate::host_call::HostRequest;
    let Some((head, payload)) = data.split_first_chunk::<2>() else {
        return;
    };
    let service = u16::from_le_bytes(*head);
    if let Ok(request) = HostRequest::decode(service, payload) {
        assert_eq!(request.service() as u16, service);
        assert_eq!(request.encode(), payload, "non-canonical host call");
    }
}

/// Oracle for the ring of the low-latency mode: a frame sequence (as [`fuzz_stream`]'s) goes
/// through a [`RingWriter`] and a [`RingReader`] over a simulated ring of 16 bytes to 64 KiB,
/// in steps the input chooses, some of which are a hostile peer publishing a position of its
/// choice. While the peer is honest, the frames arrive whole and in order; once it lies, every
/// read takes at most a ring from inside the ring or is a [`RingError`](crate::ring::RingError), every write stays
/// inside the ring, and the reassembly stays within its memory bound.
///
/// Layout of `data`: one byte for the ring's size (16 << b % 13), the frames as
/// [`fuzz_stream`] reads them, then one byte per step: `b % 4` is put, take, a published write
/// position or a published read position (the next four bytes), and `1 << (b / 4 % 17)` the
/// most bytes a put or take moves.
pub fn fuzz_ring(data: &[u8]) {
    let Some((&size, data)) = data.split_first() else {
        return;
    };
    let capacity = 16u32 << (size % 13);
    let case = StreamCase::generate(data);
    let wire = encode_all(&case.frames);
    let ring = SimulatedRing::new(capacity);
    let mut writer = RingWriter::new(capacity).expect("a power of two");
    let mut reader = RingReader::new(capacity).expect("a power of two");
    let mut frames = FrameReader::new();
    let mut received = Vec::new();
    let mut sent = 0;
    let mut honest = true;
    let mut steps = case.steps.iter().copied();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        // Once the steps run out, the rest goes through in whole rings.
        let (kind, most) = match steps.next() {
            Some(b) => (b % 4, 1usize << (b / 4 % 17)),
            None if honest && (sent < wire.len() || reader.has_news(&ring)) => (4, 1 << 16),
            None => break,
        };
        match kind {
            0 => {
                let rest = &wire[sent..];
                match writer.put(&ring, &rest[..most.min(rest.len())]) {
                    Ok(n) => sent += n,
                    Err(_) => {
                        assert!(!honest, "an honest reader is never a breach");
                        break;
                    }
                }
            }
            1 | 4 => {
                if kind == 4 {
                    let rest = &wire[sent..];
                    sent += writer
                        .put(&ring, &rest[..most.min(rest.len())])
                        .expect("an honest reader is never a breach");
                }
                match reader.take(&ring, &mut buf[..most]) {
                    Ok(n) => {
                        assert!(n <= capacity as usize, "took more than a ring");
                        if frames.push(&buf[..n]).is_err() {
                            assert!(!honest, "an honest stream reassembles");
                            break;
                        }
                        assert!(
                            frames.buffered() <= MAX_FRAME_LEN + n,
                            "memory bound broken"
                        );
                        while let Ok(Some(frame)) = frames.next_frame() {
                            received.push(frame);
                        }
                    }
                    Err(_) => {
                        assert!(!honest, "an honest writer is never a breach");
                        break;
                    }
                }
            }
            2 => {
                honest = false;
                ring.written
                    .set(u32::from_le_bytes(std::array::from_fn(|_| {
                        steps.next().unwrap_or(0)
                    })));
            }
            _ => {
                honest = false;
                ring.read.set(u32::from_le_bytes(std::array::from_fn(|_| {
                    steps.next().unwrap_or(0)
                })));
            }
        }
    }
    if honest {
        assert_eq!(
            received, case.frames,
            "frames lost or reordered in the ring"
        );
    } else {
        assert!(
            received.len() <= case.frames.len() + wire.len(),
            "more frames than bytes"
        );
    }
}

/// A ring in ordinary memory for [`fuzz_ring`] and the ring's tests: the peer's lies are
/// plain stores.
pub(crate) struct SimulatedRing {
    pub(crate) written: std::cell::Cell<u32>,
    pub(crate) read: std::cell::Cell<u32>,
    data: std::cell::RefCell<Vec<u8>>,
}

impl SimulatedRing {
    pub(crate) fn new(capacity: u32) -> SimulatedRing {
        SimulatedRing {
            written: std::cell::Cell::new(0),
            read: std::cell::Cell::new(0),
            data: std::cell::RefCell::new(vec![0; capacity as usize]),
        }
    }
}

impl RingMemory for SimulatedRing {
    fn written(&self) -> u32 {
        self.written.get()
    }
    fn read(&self) -> u32 {
        self.read.get()
    }
    fn publish_written(&self, position: u32) {
        self.written.set(position);
    }
    fn publish_read(&self, position: u32) {
        self.read.set(position);
    }
    // Slice indexing panics outside the ring: the oracle's check that spans stay inside.
    fn copy_out(&self, offset: usize, dst: &mut [u8]) {
        dst.copy_from_slice(&self.data.borrow()[offset..offset + dst.len()]);
    }
    fn copy_in(&self, offset: usize, src: &[u8]) {
        self.data.borrow_mut()[offset..offset + src.len()].copy_from_slice(src);
    }
}

/// Replays every saved input of cargo-fuzz target `target` through `oracle`: the corpus
/// (`<fuzz_dir>/corpus/<target>/`) and the crashes ever found (`<fuzz_dir>/regressions/
/// <target>/`), in name order, skipping dot files. Each input is named on stderr before it
/// runs, so a panic points at the file. Returns how many were replayed; a missing directory
/// holds none.
pub fn replay(fuzz_dir: &std::path::Path, target: &str, oracle: fn(&[u8])) -> usize {
    let mut replayed = 0;
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir.join(kind).join(target)) else {
            continue;
        };
        let mut files: Vec<std::path::PathBuf> = entries
            .map(|entry| entry.expect("readable directory entry").path())
            .filter(|path| path.is_file())
            .filter(|path| {
                !path
                    .file_name()
                    .is_some_and(|name| name.to_string_lossy().starts_with('.'))
            })
            .collect();
        files.sort();
        for path in files {
            let data = std::fs::read(&path).expect("readable input");
            eprintln!("replaying {}", path.display());
            oracle(&data);
            replayed += 1;
        }
    }
    replayed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random inputs (xorshift), so the test needs no dependency.
    fn inputs(count: usize, len: usize) -> Vec<Vec<u8>> {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        (0..count)
            .map(|_| {
                (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        state.to_le_bytes()[0]
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn generator_reaches_every_kind_and_level() {
        let mut kinds = Vec::new();
        let mut levels = Vec::new();
        for input in inputs(200, 256) {
            for frame in StreamCase::generate(&input).frames {
                if let Message::Log { level, .. } = frame.message {
                    levels.push(level);
                }
                kinds.push(frame.message.kind());
            }
        }
        for kind in MessageKind::ALL {
            assert!(kinds.contains(&kind), "{kind:?} never generated");
        }
        for level in LogLevel::ALL {
            assert!(levels.contains(&level), "{level:?} never generated");
        }
    }

    #[test]
    fn generator_reaches_the_largest_frame() {
        // One Confined frame (kind 0), request id 0, size choice 0xFF with a u16 of 0xFFFF.
        let case = StreamCase::generate(&[1, 0, 0, 0xFF, 0xFF, 0xFF]);
        let [frame] = case.frames.as_slice() else {
            panic!("expected one frame, got {:?}", case.frames.len());
        };
        assert_eq!(frame.encode().map(|wire| wire.len()), Ok(MAX_FRAME_LEN));
    }

    #[test]
    fn generator_keeps_every_case_encodable() {
        // Asking for the largest fields everywhere must still respect both budgets; Invoke has
        // two variable fields, so the second one's length prefix must still fit.
        let greedy = [
            &[MAX_FRAMES][..],
            &[3, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF].repeat(64),
        ]
        .concat();
        let case = StreamCase::generate(&greedy);
        let total: usize = case
            .frames
            .iter()
            .map(|frame| frame.encode().map(|wire| wire.len()).unwrap_or(usize::MAX))
            .sum();
        // Past the budget a frame still has its header and, at most, 8 bytes of fixed fields.
        assert!(total <= CASE_BUDGET + usize::from(MAX_FRAMES) * (HEADER_LEN + 8));
        fuzz_stream(&greedy);
    }

    #[test]
    fn oracles_accept_seeded_inputs() {
        for input in inputs(200, 300) {
            fuzz_frame_bytes(&input);
            fuzz_stream(&input);
        }
    }
}
