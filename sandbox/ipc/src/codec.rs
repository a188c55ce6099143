//! Encoding and decoding of single frames (layout in `PROTOCOL.md`).
//!
//! The decoder is written without indexing, unchecked arithmetic or `unwrap`: every read goes
//! through `split_first_chunk` / `split_at_checked`, so a malformed frame can only produce a
//! [`DecodeError`], never a panic. Every inner length is compared with the bytes that remain
//! before anything is allocated, so the allocations of one frame add up to at most its body.

use crate::{
    DecodeError, EncodeError, Frame, HEADER_LEN, LogLevel, MAX_FRAME_LEN, Message, MessageKind,
    PROTOCOL_VERSION,
};

/// Size of the length prefix, which counts every byte after itself.
const LEN_PREFIX: usize = 4;

/// Size of the length prefix of a `bytes` or `str` body field.
const FIELD_LEN_PREFIX: usize = 4;

/// Smallest valid length prefix: the rest of the header, empty body.
const MIN_LEN: u32 = (HEADER_LEN - LEN_PREFIX) as u32;

/// Checks a declared length prefix and returns the total frame size it implies.
///
/// Shared with [`crate::FrameReader`] so that both refuse a bad length the moment its four
/// bytes are known, without waiting for (or buffering) the bytes it announces.
pub(crate) fn frame_total(len: u32) -> Result<usize, DecodeError> {
    if len < MIN_LEN {
        return Err(DecodeError::TooShort { len });
    }
    usize::try_from(len)
        .ok()
        .and_then(|len| len.checked_add(LEN_PREFIX))
        .filter(|&total| total <= MAX_FRAME_LEN)
        .ok_or(DecodeError::TooLarge { len })
}

/// Decodes one frame from the start of `buf`.
///
/// Returns the frame and the number of bytes it took; bytes after it are left alone, so a
/// caller holding several frames calls this again on the rest. Checks run in the order given in
/// `PROTOCOL.md`: the length bounds first (as soon as the 4-byte prefix is there), then the
/// header fields (as soon as the 16-byte header is there), then the completeness of the frame,
/// then the body.
///
/// # Errors
///
/// [`DecodeError::Incomplete`] if `buf` holds less than the header or the declared frame (not a
/// protocol violation: read more bytes), any other [`DecodeError`] if the bytes are not a valid
/// frame.
pub fn decode(buf: &[u8]) -> Result<(Frame, usize), DecodeError> {
    let Some(prefix) = buf.first_chunk::<LEN_PREFIX>() else {
        return Err(DecodeError::Incomplete { needed: HEADER_LEN });
    };
    let total = frame_total(u32::from_le_bytes(*prefix))?;

    let Some(header) = buf.first_chunk::<HEADER_LEN>() else {
        return Err(DecodeError::Incomplete { needed: total });
    };
    let [_, _, _, _, version, kind, r0, r1, id @ ..] = *header;
    // Version first: another version may lay out the rest of the header differently.
    if version != PROTOCOL_VERSION {
        return Err(DecodeError::UnsupportedVersion { version });
    }
    let kind = MessageKind::try_from(kind)?;
    let reserved = u16::from_le_bytes([r0, r1]);
    if reserved != 0 {
        return Err(DecodeError::ReservedNotZero { value: reserved });
    }
    let request_id = u64::from_le_bytes(id);

    let Some(body) = buf.get(HEADER_LEN..total) else {
        return Err(DecodeError::Incomplete { needed: total });
    };
    let mut body = Body { rest: body };
    let message = match kind {
        MessageKind::Confined => Message::Confined {
            report: body.bytes("Confined.report")?,
        },
        MessageKind::Loaded => Message::Loaded {
            abi_version: body.u32("Loaded.abi_version")?,
        },
        MessageKind::Init => Message::Init {
            config: body.bytes("Init.config")?,
        },
        MessageKind::Invoke => Message::Invoke {
            method: body.string("Invoke.method")?,
            input: body.bytes("Invoke.input")?,
        },
        MessageKind::Result => Message::Result {
            output: body.bytes("Result.output")?,
        },
        MessageKind::Error => Message::Error {
            code: body.i32("Error.code")?,
            message: body.string("Error.message")?,
        },
        MessageKind::HostCall => Message::HostCall {
            service: body.u16("HostCall.service")?,
            payload: body.bytes("HostCall.payload")?,
        },
        MessageKind::HostReply => Message::HostReply {
            status: body.i32("HostReply.status")?,
            payload: body.bytes("HostReply.payload")?,
        },
        MessageKind::Log => Message::Log {
            level: LogLevel::try_from(body.u8("Log.level")?)?,
            message: body.string("Log.message")?,
        },
        MessageKind::Heartbeat => Message::Heartbeat,
        MessageKind::Shutdown => Message::Shutdown,
        MessageKind::Load => Message::Load,
        MessageKind::InvokeShared => Message::InvokeShared {
            method: body.string("InvokeShared.method")?,
            input_len: body.u32("InvokeShared.input_len")?,
        },
        MessageKind::ResultShared => Message::ResultShared {
            output_len: body.u32("ResultShared.output_len")?,
        },
    };
    body.finish()?;
    Ok((
        Frame {
            request_id,
            message,
        },
        total,
    ))
}

/// Cursor over the body of one frame; `rest` never extends past the frame's end.
struct Body<'a> {
    rest: &'a [u8],
}

impl<'a> Body<'a> {
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let (head, rest) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or(DecodeError::Truncated { field })?;
        self.rest = rest;
        Ok(*head)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        self.array(field).map(u8::from_le_bytes)
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        self.array(field).map(u16::from_le_bytes)
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        self.array(field).map(u32::from_le_bytes)
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        self.array(field).map(i32::from_le_bytes)
    }

    /// A length-prefixed field, borrowed: the length is checked against what remains of the
    /// frame before the caller allocates anything.
    fn slice(&mut self, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.u32(field)?;
        #[cfg(feature = "planted-bug")]
        if usize::try_from(len).is_ok_and(|len| len == self.rest.len() + 1) {
            // The fuzzing self-test's planted bug, the classic off-by-one: a length one past
            // the end of the frame is trusted, and the slice panics.
            return Ok(&self.rest[..len as usize]);
        }
        let (head, rest) = usize::try_from(len)
            .ok()
            .and_then(|len| self.rest.split_at_checked(len))
            .ok_or(DecodeError::Truncated { field })?;
        self.rest = rest;
        Ok(head)
    }

    fn bytes(&mut self, field: &'static str) -> Result<Vec<u8>, DecodeError> {
        self.slice(field).map(<[u8]>::to_vec)
    }

    fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let raw = self.slice(field)?;
        // Validate before copying, so invalid input costs no allocation.
        std::str::from_utf8(raw)
            .map(str::to_owned)
            .map_err(|_| DecodeError::InvalidUtf8 { field })
    }

    /// Refuses leftover bytes: with them the frame would not re-encode to the same bytes, and
    /// they could smuggle data past a reader that trusts the typed message.
    fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                count: self.rest.len(),
            })
        }
    }
}

impl Frame {
    /// Encodes the frame into a new buffer of exactly its encoded length.
    ///
    /// # Errors
    ///
    /// [`EncodeError::TooLarge`] if the frame would exceed [`MAX_FRAME_LEN`].
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// The frame's encoded length, length prefix included (saturated on overflow): a sender
    /// can refuse a frame above [`MAX_FRAME_LEN`] before it commits to sending it.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.message.body_len())
    }

    /// Appends the encoded frame to `out`, so a sender can batch frames in one buffer.
    ///
    /// The size is computed and checked before anything is written: an oversized frame is
    /// refused without copying its payload, and `out` is left unchanged on error.
    ///
    /// # Errors
    ///
    /// [`EncodeError::TooLarge`] if the frame would exceed [`MAX_FRAME_LEN`].
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let total = self.encoded_len();
        if total > MAX_FRAME_LEN {
            return Err(EncodeError::TooLarge { len: total });
        }
        let start = out.len();
        out.reserve(total);
        let written = self.write(out, total);
        if written.is_err() {
            out.truncate(start);
        }
        written
    }

    fn write(&self, out: &mut Vec<u8>, total: usize) -> Result<(), EncodeError> {
        put_len(out, total.saturating_sub(LEN_PREFIX))?;
        out.push(PROTOCOL_VERSION);
        out.push(self.message.kind().to_byte());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&self.request_id.to_le_bytes());
        match &self.message {
            Message::Confined { report: bytes }
            | Message::Init { config: bytes }
            | Message::Result { output: bytes } => put_bytes(out, bytes),
            Message::Loaded { abi_version } => {
                out.extend_from_slice(&abi_version.to_le_bytes());
                Ok(())
            }
            Message::Invoke { method, input } => {
                put_bytes(out, method.as_bytes())?;
                put_bytes(out, input)
            }
            Message::Error { code, message } => {
                out.extend_from_slice(&code.to_le_bytes());
                put_bytes(out, message.as_bytes())
            }
            Message::HostCall { service, payload } => {
                out.extend_from_slice(&service.to_le_bytes());
                put_bytes(out, payload)
            }
            Message::HostReply { status, payload } => {
                out.extend_from_slice(&status.to_le_bytes());
                put_bytes(out, payload)
            }
            Message::Log { level, message } => {
                out.push(level.to_byte());
                put_bytes(out, message.as_bytes())
            }
            Message::Heartbeat | Message::Shutdown | Message::Load => Ok(()),
            Message::InvokeShared { method, input_len } => {
                put_bytes(out, method.as_bytes())?;
                out.extend_from_slice(&input_len.to_le_bytes());
                Ok(())
            }
            Message::ResultShared { output_len } => {
                out.extend_from_slice(&output_len.to_le_bytes());
                Ok(())
            }
        }
    }
}

impl Message {
    /// Encoded body length, saturating so that an absurd size still compares as too large.
    fn body_len(&self) -> usize {
        let field = |len: usize| FIELD_LEN_PREFIX.saturating_add(len);
        match self {
            Message::Confined { report: bytes }
            | Message::Init { config: bytes }
            | Message::Result { output: bytes } => field(bytes.len()),
            Message::Loaded { .. } => 4,
            Message::Invoke { method, input } => {
                field(method.len()).saturating_add(field(input.len()))
            }
            Message::Error { message, .. } => 4usize.saturating_add(field(message.len())),
            Message::HostCall { payload, .. } => 2usize.saturating_add(field(payload.len())),
            Message::HostReply { payload, .. } => 4usize.saturating_add(field(payload.len())),
            Message::Log { message, .. } => 1usize.saturating_add(field(message.len())),
            Message::Heartbeat | Message::Shutdown | Message::Load => 0,
            Message::InvokeShared { method, .. } => field(method.len()).saturating_add(4),
            Message::ResultShared { .. } => 4,
        }
    }
}

/// Writes a u32 length; the caller has bounded the frame by [`MAX_FRAME_LEN`], so the error
/// path is unreachable, but it is typed rather than a silent truncating cast.
fn put_len(out: &mut Vec<u8>, len: usize) -> Result<(), EncodeError> {
    let len = u32::try_from(len).map_err(|_| EncodeError::TooLarge { len })?;
    out.extend_from_slice(&len.to_le_bytes());
    Ok(())
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), EncodeError> {
    put_len(out, bytes.len())?;
    out.extend_from_slice(bytes);
    Ok(())
}
