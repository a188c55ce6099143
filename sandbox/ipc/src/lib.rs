//! Wire format of the channel between the host and a sandboxed runner.
//!
//! The byte layout, the message table, the bounds and the order in which the decoder checks
//! them are specified in `PROTOCOL.md` next to this crate's `Cargo.toml`; this crate is its only
//! implementation, and a test checks that the message table there matches [`MessageKind`].
//!
//! **Architecture invariant:** this crate has no OS dependency (no libc, no file system, no
//! sockets, no processes) and no `unsafe`. It is the code a hostile runner talks to first, so it
//! must be small enough to fuzz exhaustively and to read in one sitting. Moving bytes to and from
//! a socket is the caller's job: feed them to [`FrameReader`] and send what [`Frame::encode`]
//! returns.
//!
//! - [`decode`] reads one frame from the start of a buffer. It is total: every byte string gives
//!   a [`Frame`] or a typed [`DecodeError`], it never panics, and it never allocates more than
//!   the frame's declared length, itself bounded by [`MAX_FRAME_LEN`].
//! - [`FrameReader`] reassembles frames from the arbitrary chunks a stream socket delivers.
//! - [`host_call`] gives a `HostCall` payload its meaning: the host service and its
//!   arguments, decoded by a total function like the frames themselves.
//! - [`ring`] is the position arithmetic of the low-latency mode's shared-memory ring: total
//!   over whatever positions the peer publishes.
//! - [`fuzzing`] holds the oracles that the fuzz targets and the corpus replay tests share.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod codec;
mod error;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod host_call;
mod message;
mod reader;
pub mod ring;

pub use codec::decode;
pub use error::{DecodeError, EncodeError};
pub use message::{Frame, LogLevel, Message, MessageKind};
pub use reader::FrameReader;

/// Largest frame on the wire, length prefix included (1 MiB).
///
/// The bound exists so that neither side ever buffers or allocates more than this for one
/// frame, whatever length a peer declares. Bulk data that does not fit must be split by the
/// layer above.
pub const MAX_FRAME_LEN: usize = 1 << 20;

/// Largest input or output sent inline in a frame when a payload window exists: anything
/// larger goes through the window ([`Message::InvokeShared`], [`Message::ResultShared`]),
/// where it costs two copies instead of the socket's four, and is not bounded by a frame.
pub const INLINE_MAX: usize = 64 * 1024;

/// Length of the fixed frame header: length prefix, version, kind, reserved and request id.
pub const HEADER_LEN: usize = 16;

/// The only protocol version this crate speaks.
///
/// Host and runner are built from the same tree, so there is no negotiation: a frame with any
/// other version is refused rather than guessed at.
pub const PROTOCOL_VERSION: u8 = 1;
