//! Reassembly of frames from the chunks a stream socket delivers.

use std::fmt;

use crate::codec::frame_total;
use crate::{DecodeError, Frame, MAX_FRAME_LEN, decode};

/// Reassembles frames from a byte stream (a `SOCK_STREAM` channel), whatever the chunking.
///
/// Use it as: read what the socket has, [`push`](Self::push) it, then call
/// [`next_frame`](Self::next_frame) until it returns `Ok(None)`.
///
/// **Memory bound.** The internal buffer never holds more than [`MAX_FRAME_LEN`] bytes plus one
/// pushed chunk: a declared length out of bounds is refused as soon as its 4-byte prefix is
/// buffered (by `push`, for every frame whose prefix is in the buffer, not only the first), and
/// a push while more than [`MAX_FRAME_LEN`] bytes are still undrained is refused with
/// [`DecodeError::Backlog`]. Consumed bytes are dropped from the front of the buffer only when
/// they outweigh the bytes that remain (or would break the bound), so a stream of tiny frames
/// costs amortised constant work per byte rather than a shift of the buffer per frame.
///
/// **Errors are final.** After any error the reader is poisoned: it drops its buffer, and every
/// later call returns the same error. A peer that spoke garbage once is not resynchronised,
/// because a frame boundary found after garbage could be one the peer forged; frames buffered
/// before the fault are not delivered either. The channel is to be closed.
#[derive(Default)]
pub struct FrameReader {
    /// Received bytes; those before `start` are consumed.
    buf: Vec<u8>,
    /// Offset in `buf` of the first unconsumed byte.
    start: usize,
    /// Offset in `buf` of the next frame whose length prefix has not been checked yet.
    checked: usize,
    /// The first error, returned again by every later call.
    poisoned: Option<DecodeError>,
}

impl FrameReader {
    /// A reader with an empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes received from the stream.
    ///
    /// # Errors
    ///
    /// [`DecodeError::TooShort`] or [`DecodeError::TooLarge`] as soon as a buffered length
    /// prefix is out of bounds; [`DecodeError::Backlog`] if more than [`MAX_FRAME_LEN`] bytes
    /// were left undrained; the earlier error if the reader is poisoned.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), DecodeError> {
        if let Some(error) = &self.poisoned {
            return Err(error.clone());
        }
        let buffered = self.buffered();
        if buffered > MAX_FRAME_LEN {
            return self.poison(DecodeError::Backlog { buffered });
        }
        // Compact when the consumed prefix is at least half the buffer (amortised: each byte
        // is moved at most about once), or when keeping it would break the memory bound.
        if self.start > 0 && (self.start >= buffered || self.buf.len() > MAX_FRAME_LEN) {
            self.discard_consumed();
        }
        self.buf.extend_from_slice(bytes);
        self.check_prefixes()
    }

    /// Decodes the next complete frame, if one is buffered.
    ///
    /// # Errors
    ///
    /// Any [`DecodeError`] other than [`DecodeError::Incomplete`] (which is `Ok(None)` here),
    /// or the earlier error if the reader is poisoned.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, DecodeError> {
        if let Some(error) = &self.poisoned {
            return Err(error.clone());
        }
        let pending = self.buf.get(self.start..).unwrap_or_default();
        match decode(pending) {
            Ok((frame, used)) => {
                self.start = self.start.saturating_add(used);
                if self.start >= self.buf.len() {
                    // Everything consumed: emptying the buffer moves nothing.
                    self.discard_consumed();
                }
                Ok(Some(frame))
            }
            Err(DecodeError::Incomplete { .. }) => Ok(None),
            Err(error) => self.poison(error),
        }
    }

    /// Number of received bytes not yet returned as frames (0 once poisoned).
    pub fn buffered(&self) -> usize {
        self.buf.len().saturating_sub(self.start)
    }

    /// Walks the length prefixes of all buffered frames not yet checked, so an out-of-bounds
    /// length is refused before any of the bytes it announces are awaited. Each prefix is
    /// checked once, so the walk costs O(frames) over the life of the reader.
    fn check_prefixes(&mut self) -> Result<(), DecodeError> {
        while let Some(prefix) = self
            .buf
            .get(self.checked..)
            .and_then(<[u8]>::first_chunk::<4>)
        {
            match frame_total(u32::from_le_bytes(*prefix)) {
                Ok(total) => self.checked = self.checked.saturating_add(total),
                Err(error) => return self.poison(error),
            }
        }
        Ok(())
    }

    fn discard_consumed(&mut self) {
        let consumed = self.start.min(self.buf.len());
        self.buf.drain(..consumed);
        self.checked = self.checked.saturating_sub(consumed);
        self.start = 0;
    }

    fn poison<T>(&mut self, error: DecodeError) -> Result<T, DecodeError> {
        self.buf = Vec::new();
        self.start = 0;
        self.checked = 0;
        self.poisoned = Some(error.clone());
        Err(error)
    }
}

/// Shows the state, not the buffer: it can hold a megabyte of untrusted bytes.
impl fmt::Debug for FrameReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameReader")
            .field("buffered", &self.buffered())
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}
