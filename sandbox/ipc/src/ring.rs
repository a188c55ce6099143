//! The ring of the low-latency mode: a byte stream through memory that both processes map,
//! one ring per direction (`PROTOCOL.md`, "The ring"). Frames go through it exactly as they
//! go through the socket, reassembled by a [`FrameReader`](crate::FrameReader); this module
//! is the position arithmetic in between.
//!
//! Each side keeps its own position (bytes it ever read, or ever wrote, wrapping at 2^32) and
//! publishes it; the peer's published position is read fresh each time and believed only as
//! far as it is possible: a writer more than a ring ahead of its reader, or a reader ahead of
//! its writer, is a [`RingError`]. So whatever a hostile peer writes into the shared memory,
//! a read takes at most a ring's worth of bytes from inside the ring, and a write overwrites
//! nothing the reader has not yet been offered. The memory itself is behind [`RingMemory`],
//! so the fuzz target (`ring_stream`) drives this very code against a simulated peer.

/// Bytes of data in each direction's ring of the low-latency mode.
pub const RING_CAPACITY: u32 = 64 * 1024;

/// One direction's ring as one side sees it: the two published positions and the data.
///
/// The positions are loads and stores the peer may race with: an implementation over shared
/// memory uses atomics for them and copies the data without ever forming a reference to it.
pub trait RingMemory {
    /// The position the writer published.
    fn written(&self) -> u32;
    /// The position the reader published.
    fn read(&self) -> u32;
    /// Publishes the writer's position, after the bytes before it are in place.
    fn publish_written(&self, position: u32);
    /// Publishes the reader's position, after the bytes before it were copied out.
    fn publish_read(&self, position: u32);
    /// Copies `dst.len()` bytes out of the data from `offset`; the span lies inside it.
    fn copy_out(&self, offset: usize, dst: &mut [u8]);
    /// Copies `src` into the data from `offset`; the span lies inside it.
    fn copy_in(&self, offset: usize, src: &[u8]);
}

/// A position the peer published that no honest peer could have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RingError {
    /// The writer claims more unread bytes than the ring holds.
    #[error(
        "the peer published write position {published}, more than a ring of {capacity} bytes past the read position {read}"
    )]
    WrittenPastRing {
        /// The write position the peer published.
        published: u32,
        /// This side's read position.
        read: u32,
        /// Bytes in the ring.
        capacity: u32,
    },
    /// The reader claims to have read bytes not yet written, or more than a ring behind.
    #[error(
        "the peer published read position {published}, which no read of the {written} bytes written reaches in a ring of {capacity}"
    )]
    ReadOutsideRing {
        /// The read position the peer published.
        published: u32,
        /// This side's write position.
        written: u32,
        /// Bytes in the ring.
        capacity: u32,
    },
    /// A ring whose size is not a power of two.
    #[error("a ring of {capacity} bytes: not a power of two")]
    Capacity {
        /// The size asked for.
        capacity: u32,
    },
}

/// The reading side of one direction: takes what the writer published.
#[derive(Debug, Clone)]
pub struct RingReader {
    position: u32,
    capacity: u32,
}

impl RingReader {
    /// A reader at the start of a ring of `capacity` bytes (a power of two).
    pub fn new(capacity: u32) -> Result<RingReader, RingError> {
        check_capacity(capacity)?;
        Ok(RingReader {
            position: 0,
            capacity,
        })
    }

    /// The bytes ever taken, wrapping at 2^32.
    pub fn position(&self) -> u32 {
        self.position
    }

    /// Whether the writer has published bytes not yet taken (or a position that is a breach,
    /// which [`RingReader::take`] then reports): what a waiting reader polls.
    pub fn has_news(&self, memory: &impl RingMemory) -> bool {
        memory.written() != self.position
    }

    /// Copies up to `dst.len()` of the bytes the writer has published into `dst`, publishes
    /// the new read position and returns how many; 0 when there are none yet.
    pub fn take(&mut self, memory: &impl RingMemory, dst: &mut [u8]) -> Result<usize, RingError> {
        let published = memory.written();
        let unread = published.wrapping_sub(self.position);
        if unread > self.capacity {
            return Err(RingError::WrittenPastRing {
                published,
                read: self.position,
                capacity: self.capacity,
            });
        }
        let len = dst.len().min(unread as usize);
        if len == 0 {
            return Ok(0);
        }
        let (first, second) = spans(self.position, len, self.capacity);
        let (head, tail) = dst[..len].split_at_mut(first.1);
        memory.copy_out(first.0, head);
        memory.copy_out(second.0, tail);
        // len <= unread <= capacity, a u32.
        self.position = self.position.wrapping_add(len as u32);
        memory.publish_read(self.position);
        Ok(len)
    }
}

/// The writing side of one direction: puts bytes where the reader has made room.
#[derive(Debug, Clone)]
pub struct RingWriter {
    position: u32,
    capacity: u32,
}

impl RingWriter {
    /// A writer at the start of a ring of `capacity` bytes (a power of two).
    pub fn new(capacity: u32) -> Result<RingWriter, RingError> {
        check_capacity(capacity)?;
        Ok(RingWriter {
            position: 0,
            capacity,
        })
    }

    /// The bytes ever put, wrapping at 2^32.
    pub fn position(&self) -> u32 {
        self.position
    }

    /// Whether the reader has published a position other than `seen`: what a writer waiting
    /// for room polls.
    pub fn reader_moved(memory: &impl RingMemory, seen: u32) -> bool {
        memory.read() != seen
    }

    /// Copies as much of `src` as the ring has room for, publishes the new write position and
    /// returns how many bytes went in; 0 when the ring is full.
    pub fn put(&mut self, memory: &impl RingMemory, src: &[u8]) -> Result<usize, RingError> {
        let published = memory.read();
        let unread = self.position.wrapping_sub(published);
        if unread > self.capacity {
            return Err(RingError::ReadOutsideRing {
                published,
                written: self.position,
                capacity: self.capacity,
            });
        }
        let len = src.len().min((self.capacity - unread) as usize);
        if len == 0 {
            return Ok(0);
        }
        let (first, second) = spans(self.position, len, self.capacity);
        let (head, tail) = src[..len].split_at(first.1);
        memory.copy_in(first.0, head);
        memory.copy_in(second.0, tail);
        // len <= capacity - unread, a u32.
        self.position = self.position.wrapping_add(len as u32);
        memory.publish_written(self.position);
        Ok(len)
    }
}

fn check_capacity(capacity: u32) -> Result<(), RingError> {
    if capacity.is_power_of_two() {
        Ok(())
    } else {
        Err(RingError::Capacity { capacity })
    }
}

/// The one or two spans (offset, length) of the data that `len` bytes from `position` occupy:
/// up to the end of the ring, then from its start. `len` is at most `capacity`.
fn spans(position: u32, len: usize, capacity: u32) -> ((usize, usize), (usize, usize)) {
    let offset = (position & (capacity - 1)) as usize;
    let first = len.min(capacity as usize - offset);
    ((offset, first), (0, len - first))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::SimulatedRing as Plain;

    #[test]
    fn bytes_wrap_around_the_end_and_arrive_in_order() {
        let ring = Plain::new(8);
        let mut writer = RingWriter::new(8).unwrap();
        let mut reader = RingReader::new(8).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 3];
        for chunk in [&b"abcde"[..], b"fgh", b"ijklm"] {
            let mut rest = chunk;
            while !rest.is_empty() {
                let n = writer.put(&ring, rest).unwrap();
                rest = &rest[n..];
                let taken = reader.take(&ring, &mut buf).unwrap();
                got.extend_from_slice(&buf[..taken]);
            }
        }
        while reader.has_news(&ring) {
            let taken = reader.take(&ring, &mut buf).unwrap();
            got.extend_from_slice(&buf[..taken]);
        }
        assert_eq!(got, b"abcdefghijklm");
        assert_eq!(writer.position(), 13);
        assert_eq!(reader.position(), 13);
    }

    #[test]
    fn a_full_ring_takes_nothing_more_until_read() {
        let ring = Plain::new(4);
        let mut writer = RingWriter::new(4).unwrap();
        assert_eq!(writer.put(&ring, b"abcdef").unwrap(), 4);
        assert_eq!(writer.put(&ring, b"ef").unwrap(), 0);
        let mut reader = RingReader::new(4).unwrap();
        let mut one = [0u8; 1];
        assert_eq!(reader.take(&ring, &mut one).unwrap(), 1);
        assert_eq!(writer.put(&ring, b"ef").unwrap(), 1);
    }

    #[test]
    fn positions_wrap_at_two_to_the_32() {
        let ring = Plain::new(4);
        let start = u32::MAX - 1;
        ring.written.set(start);
        ring.read.set(start);
        let mut writer = RingWriter {
            position: start,
            capacity: 4,
        };
        let mut reader = RingReader {
            position: start,
            capacity: 4,
        };
        assert_eq!(writer.put(&ring, b"wxyz").unwrap(), 4);
        let mut buf = [0u8; 4];
        assert_eq!(reader.take(&ring, &mut buf).unwrap(), 4);
        assert_eq!(&buf, b"wxyz");
        assert_eq!(reader.position(), 2);
    }

    #[test]
    fn a_writer_more_than_a_ring_ahead_is_a_breach() {
        let ring = Plain::new(8);
        ring.written.set(9);
        let mut reader = RingReader::new(8).unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(
            reader.take(&ring, &mut buf),
            Err(RingError::WrittenPastRing {
                published: 9,
                read: 0,
                capacity: 8
            })
        );
        // Behind the reader is as impossible: it reads as almost 2^32 bytes ahead.
        ring.written.set(u32::MAX);
        assert!(reader.take(&ring, &mut buf).is_err());
        // A whole ring is possible.
        ring.written.set(8);
        assert_eq!(reader.take(&ring, &mut buf), Ok(8));
    }

    #[test]
    fn a_reader_ahead_of_the_writer_is_a_breach() {
        let ring = Plain::new(8);
        let mut writer = RingWriter::new(8).unwrap();
        assert_eq!(writer.put(&ring, b"ab").unwrap(), 2);
        ring.read.set(3);
        assert_eq!(
            writer.put(&ring, b"c"),
            Err(RingError::ReadOutsideRing {
                published: 3,
                written: 2,
                capacity: 8
            })
        );
        // A reader that claims to have read everything written leaves a whole ring of room.
        ring.read.set(2);
        assert_eq!(writer.put(&ring, &[0; 9]), Ok(8));
    }

    #[test]
    fn a_ring_that_is_not_a_power_of_two_is_refused() {
        assert_eq!(
            RingReader::new(12).err(),
            Some(RingError::Capacity { capacity: 12 })
        );
        assert!(RingWriter::new(0).is_err());
        assert!(RingWriter::new(RING_CAPACITY).is_ok());
    }
}
