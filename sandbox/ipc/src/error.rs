//! Typed errors of the codec.

use thiserror::Error;

/// Why a byte string is not (yet) a valid frame.
///
/// Every variant carries the offending value or field, so a log line says what the peer sent
/// without dumping the frame. [`DecodeError::Incomplete`] is the only variant that is not a
/// protocol violation: it means "wait for more bytes".
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The buffer ends before the header or before the end of the declared frame.
    ///
    /// `needed` is the total number of bytes (from the start of the frame) required to make
    /// progress: the whole declared frame once the length prefix is known, and
    /// [`HEADER_LEN`](crate::HEADER_LEN), the smallest possible frame, before that.
    #[error("incomplete frame: {needed} bytes needed")]
    Incomplete {
        /// Bytes required, counted from the start of the frame.
        needed: usize,
    },
    /// The length prefix is smaller than the rest of the header.
    #[error("frame length {len} is shorter than the header")]
    TooShort {
        /// The declared length.
        len: u32,
    },
    /// The length prefix makes the frame longer than [`MAX_FRAME_LEN`](crate::MAX_FRAME_LEN).
    #[error("frame length {len} exceeds the maximum frame size")]
    TooLarge {
        /// The declared length.
        len: u32,
    },
    /// The version byte is not [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION).
    #[error("unsupported protocol version {version}")]
    UnsupportedVersion {
        /// The version byte received.
        version: u8,
    },
    /// The kind byte names no [`MessageKind`](crate::MessageKind).
    #[error("unknown message kind {kind}")]
    UnknownKind {
        /// The kind byte received.
        kind: u8,
    },
    /// The reserved header field is not zero.
    ///
    /// Refusing it now keeps the field usable for a later protocol version.
    #[error("reserved header field is {value}, not 0")]
    ReservedNotZero {
        /// The reserved field received.
        value: u16,
    },
    /// A field, or the length of a variable-size field, runs past the end of the frame.
    #[error("field {field} runs past the end of the frame")]
    Truncated {
        /// The field, as `Message.field`.
        field: &'static str,
    },
    /// A string field is not valid UTF-8.
    #[error("field {field} is not valid UTF-8")]
    InvalidUtf8 {
        /// The field, as `Message.field`.
        field: &'static str,
    },
    /// The level byte of a [`Message::Log`](crate::Message::Log) names no
    /// [`LogLevel`](crate::LogLevel).
    #[error("invalid log level {level}")]
    InvalidLogLevel {
        /// The level byte received.
        level: u8,
    },
    /// The body is longer than its message: the frame would not re-encode to the same bytes.
    #[error("{count} trailing bytes after the message body")]
    TrailingBytes {
        /// Bytes left over.
        count: usize,
    },
    /// [`FrameReader::push`](crate::FrameReader::push) was called while more than
    /// [`MAX_FRAME_LEN`](crate::MAX_FRAME_LEN) bytes were still buffered.
    ///
    /// This is a bug of the caller, not of the peer: frames must be drained with
    /// [`FrameReader::next_frame`](crate::FrameReader::next_frame) between pushes. Refusing
    /// the chunk is what keeps the reader's memory bounded.
    #[error("{buffered} bytes buffered and not drained before the next push")]
    Backlog {
        /// Unconsumed bytes in the reader when the push was refused.
        buffered: usize,
    },
}

/// Why a frame cannot be encoded.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// The encoded frame would exceed [`MAX_FRAME_LEN`](crate::MAX_FRAME_LEN), so the peer
    /// would refuse it.
    #[error("encoded frame would be {len} bytes, more than the maximum frame size")]
    TooLarge {
        /// Length the encoded frame would have, length prefix included (saturated on
        /// overflow).
        len: usize,
    },
}
