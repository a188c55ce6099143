//! The low-latency mode's channel (`sbx-ipc`'s PROTOCOL.md, "The ring"): once the plugin is
//! loaded, frames go through two rings in a memory file both processes map, one per
//! direction, and the socket stays the control path (descriptors passed during the load,
//! the end of the peer, and nothing else).
//!
//! A side waiting for bytes (or for room) spins for [`SPIN`], which a call answered at once
//! never outlasts, then sleeps on a futex in the shared memory, in slices after each of which
//! it looks at the socket: a peer that died, or that writes on the socket once the ring
//! carries the frames, ends the wait. So a busy plugin is answered without waking anyone and
//! an idle one sleeps, burning nothing. The host also reads the socket (one non-blocking
//! read) before it takes each frame from the ring, so that what the plugin wrote on it first
//! is a breach before any frame it sent after; bytes that came with `Loaded` in the read
//! that took it are one too. A deadline is looked at before each step, not only before a
//! wait: a peer that moves a byte at a time, quickly, holds no side past it.
//!
//! The host maps this memory, unlike the payload window: the file is sealed against shrinking
//! and growing, so no access can fault; its words are read as atomics and its bytes copied
//! out with relaxed atomic loads, never borrowed; every position the peer publishes goes through
//! [`sbx_ipc::ring`]'s checks, and what arrives is decoded like the socket's bytes.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sbx_ipc::ring::{RingMemory, RingReader, RingWriter};
use sbx_ipc::{Frame, FrameReader};

use crate::channel::{Channel, ChannelError, StreamChannel};

/// How long a side waiting on the ring spins before it sleeps: longer than a quick call's
/// round trip, so back-to-back calls never sleep, and short enough that a plugin left idle
/// spends next to nothing.
pub const SPIN: Duration = Duration::from_micros(50);

/// The longest sleep on the futex before the socket is looked at again: how late the end
/// of the peer is noticed, at worst.
const SLICE: Duration = Duration::from_millis(10);

/// Bytes before the data: a header of four cache lines per direction (written position,
/// read position, the reader's and the writer's "asleep" flags), each word on its own line
/// so the two sides' stores do not share one.
const HEADER: usize = 2 * LANE_HEADER;
const LANE_HEADER: usize = 4 * LINE;
const LINE: usize = 64;
const WRITTEN: usize = 0;
const READ: usize = LINE;
const READER_ASLEEP: usize = 2 * LINE;
const WRITER_ASLEEP: usize = 3 * LINE;

/// Bytes of the memory file for rings of `capacity` bytes each.
pub fn file_len(capacity: u32) -> usize {
    HEADER + 2 * capacity as usize
}

/// Which end of the channel this process is: the host writes the first ring and reads the
/// second, the runner the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The host.
    Host,
    /// The runner.
    Runner,
}

/// The memory of both rings, mapped shared.
#[derive(Debug)]
pub struct SharedRing {
    base: *mut u8,
    capacity: u32,
}

// SAFETY: the mapping is plain shared memory, reached only through atomics; which thread
// holds the owner does not matter, and the owner is moved, not shared.
unsafe impl Send for SharedRing {}

impl SharedRing {
    /// A new memory file for rings of `capacity` bytes (a power of two), sealed against any
    /// change of size, mapped here: the ring and the descriptor to hand to the runner.
    pub fn create(capacity: u32) -> io::Result<(SharedRing, OwnedFd)> {
        use nix::fcntl::{FcntlArg, SealFlag, fcntl};
        use nix::sys::memfd::{MFdFlags, memfd_create};
        check_capacity(capacity)?;
        let fd = memfd_create(
            c"sbx-ring",
            MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
        )?;
        nix::unistd::ftruncate(&fd, file_len(capacity) as i64)?;
        fcntl(
            &fd,
            FcntlArg::F_ADD_SEALS(
                SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_SEAL,
            ),
        )?;
        let ring = SharedRing::map(fd.as_fd(), capacity)?;
        Ok((ring, fd))
    }

    /// Maps the memory file `fd` for rings of `capacity` bytes; it must be exactly that
    /// large. The mapping outlives the descriptor.
    pub fn map(fd: BorrowedFd<'_>, capacity: u32) -> io::Result<SharedRing> {
        check_capacity(capacity)?;
        let len = file_len(capacity);
        let size = nix::sys::stat::fstat(fd)?.st_size;
        if usize::try_from(size).ok() != Some(len) {
            return Err(io::Error::other(format!(
                "ring memory of {size} bytes, expected {len}"
            )));
        }
        Ok(SharedRing {
            base: crate::memory::map_shared(fd, len)?,
            capacity,
        })
    }

    /// The ring this side writes (`outgoing`) or reads.
    fn lane(&self, side: Side, outgoing: bool) -> Lane<'_> {
        let first = matches!((side, outgoing), (Side::Host, true) | (Side::Runner, false));
        let index = usize::from(!first);
        // SAFETY: both offsets lie inside the mapping (`file_len`), which lives as long as
        // the returned borrow of `self`.
        unsafe {
            Lane {
                header: self.base.add(index * LANE_HEADER),
                data: self.base.add(HEADER + index * self.capacity as usize),
                capacity: self.capacity as usize,
                _ring: std::marker::PhantomData,
            }
        }
    }
}

impl Drop for SharedRing {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping made in `map`; no borrow of it outlives
        // `self` (lanes borrow the ring).
        unsafe { libc::munmap(self.base.cast(), file_len(self.capacity)) };
    }
}

fn check_capacity(capacity: u32) -> io::Result<()> {
    if capacity.is_power_of_two() && capacity >= LINE as u32 {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "a ring of {capacity} bytes: not a power of two of at least {LINE}"
        )))
    }
}

/// One direction's ring in the shared memory.
struct Lane<'a> {
    header: *mut u8,
    data: *mut u8,
    capacity: usize,
    _ring: std::marker::PhantomData<&'a SharedRing>,
}

impl Lane<'_> {
    fn word(&self, offset: usize) -> &AtomicU32 {
        // SAFETY: `offset` is one of the header's word offsets, inside the mapping and
        // 4-byte aligned (the mapping is page-aligned); the peer only ever changes the
        // word, never the mapping, so an atomic view of it is sound for the borrow.
        unsafe { AtomicU32::from_ptr(self.header.add(offset).cast()) }
    }

    fn check_span(&self, offset: usize, len: usize) {
        // `sbx_ipc::ring` keeps spans inside the ring; raw pointers are not trusted to it.
        assert!(
            offset <= self.capacity && len <= self.capacity - offset,
            "ring span {offset}+{len} outside {}",
            self.capacity
        );
    }
}

impl RingMemory for Lane<'_> {
    // Sequentially consistent: a side that raises its "asleep" flag and then looks at a
    // position, and a side that publishes a position and then looks at the flag, cannot
    // both miss the other's store.
    fn written(&self) -> u32 {
        self.word(WRITTEN).load(Ordering::SeqCst)
    }
    fn read(&self) -> u32 {
        self.word(READ).load(Ordering::SeqCst)
    }
    fn publish_written(&self, position: u32) {
        self.word(WRITTEN).store(position, Ordering::SeqCst);
    }
    fn publish_read(&self, position: u32) {
        self.word(READ).store(position, Ordering::SeqCst);
    }
    fn copy_out(&self, offset: usize, dst: &mut [u8]) {
        self.check_span(offset, dst.len());
        // SAFETY: the span lies inside the data (checked above). The peer may write these
        // bytes at any moment, so they are read with atomic loads into private memory and
        // decoded from there, never borrowed.
        unsafe { shared_copy_out(self.data.add(offset), dst.as_mut_ptr(), dst.len()) }
    }
    fn copy_in(&self, offset: usize, src: &[u8]) {
        self.check_span(offset, src.len());
        // SAFETY: the span lies inside the data (checked above); written with atomic
        // stores, as the peer may read them at any moment.
        unsafe { shared_copy_in(src.as_ptr(), self.data.add(offset), src.len()) }
    }
}

/// Word of a copy: the shared side is read or written a word at a time once it is aligned,
/// bytes before and after.
const WORD: usize = std::mem::size_of::<u64>();

/// Bytes from `shared` until it is word-aligned, at most `len`.
fn unaligned_head(shared: *const u8, len: usize) -> usize {
    shared.align_offset(WORD).min(len)
}

/// Copies `len` bytes from shared memory at `from` into private memory at `to`. The peer may
/// write them meanwhile: each is read as a relaxed atomic, so the race is defined (the copy
/// holds whatever bytes were there), and the copy alone is decoded.
///
/// # Safety
/// `from` readable and `to` writable for `len` bytes; they do not overlap.
unsafe fn shared_copy_out(from: *const u8, to: *mut u8, len: usize) {
    let head = unaligned_head(from, len);
    let words = (len - head) / WORD;
    // SAFETY: every access below stays within the `len` bytes the caller vouches for; the
    // word loads are from `from + head`, which is word-aligned, and the shared memory is
    // only ever accessed atomically on this side.
    unsafe {
        let byte = |i: usize| AtomicU8::from_ptr(from.add(i).cast_mut()).load(Ordering::Relaxed);
        for i in 0..head {
            to.add(i).write(byte(i));
        }
        for w in 0..words {
            let at = head + w * WORD;
            let word = AtomicU64::from_ptr(from.add(at).cast_mut().cast()).load(Ordering::Relaxed);
            to.add(at).cast::<u64>().write_unaligned(word);
        }
        for i in head + words * WORD..len {
            to.add(i).write(byte(i));
        }
    }
}

/// Copies `len` bytes from private memory at `from` into shared memory at `to`, each store a
/// relaxed atomic (the peer may read them meanwhile).
///
/// # Safety
/// `from` readable and `to` writable for `len` bytes; they do not overlap.
unsafe fn shared_copy_in(from: *const u8, to: *mut u8, len: usize) {
    let head = unaligned_head(to, len);
    let words = (len - head) / WORD;
    // SAFETY: every access below stays within the `len` bytes the caller vouches for; the
    // word stores are to `to + head`, which is word-aligned.
    unsafe {
        let byte =
            |i: usize| AtomicU8::from_ptr(to.add(i)).store(from.add(i).read(), Ordering::Relaxed);
        for i in 0..head {
            byte(i);
        }
        for w in 0..words {
            let at = head + w * WORD;
            let word = from.add(at).cast::<u64>().read_unaligned();
            AtomicU64::from_ptr(to.add(at).cast()).store(word, Ordering::Relaxed);
        }
        for i in head + words * WORD..len {
            byte(i);
        }
    }
}

/// Sleeps until `word` is woken, unless it no longer holds `expected`, for at most
/// `timeout`. A shared (not process-private) futex: the peer wakes it from its own mapping.
fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: FUTEX_WAIT reads the aligned word and the timespec, both valid for the call;
    // every outcome (woken, timed out, EAGAIN for a changed word, EINTR) is a return.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &raw const ts,
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Wakes a side asleep on `word`.
fn futex_wake(word: &AtomicU32) {
    // SAFETY: FUTEX_WAKE only names the word's address; nothing is read or written.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            1i32,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Bytes taken from the ring per copy: a ring's worth.
const TAKE_CHUNK: usize = sbx_ipc::ring::RING_CAPACITY as usize;

/// [`Channel`] over the socket until [`Channel::start_fast_path`], over the rings from then.
pub struct RingChannel {
    stream: StreamChannel,
    ring: Option<SharedRing>,
    side: Side,
    on_ring: bool,
    reader: RingReader,
    writer: RingWriter,
    frames: FrameReader,
    buf: Vec<u8>,
    out: Vec<u8>,
    /// Bytes the socket's reader held, past `Loaded`, when the frames moved to the ring.
    stray: usize,
}

impl RingChannel {
    /// The channel over `stream`, with `ring` (when given) for the frames after the load.
    pub fn new(stream: StreamChannel, ring: Option<SharedRing>, side: Side) -> RingChannel {
        let capacity = ring
            .as_ref()
            .map_or(sbx_ipc::ring::RING_CAPACITY, |r| r.capacity);
        RingChannel {
            stream,
            side,
            on_ring: false,
            // `SharedRing` only holds powers of two.
            reader: RingReader::new(capacity).expect("a power of two"),
            writer: RingWriter::new(capacity).expect("a power of two"),
            frames: FrameReader::new(),
            buf: Vec::new(),
            out: Vec::new(),
            stray: 0,
            ring,
        }
    }

    /// Gives the channel its ring (the runner maps it once it has read its configuration);
    /// nothing goes through it before [`Channel::start_fast_path`].
    pub fn attach(&mut self, ring: SharedRing) {
        let capacity = ring.capacity;
        self.reader = RingReader::new(capacity).expect("a power of two");
        self.writer = RingWriter::new(capacity).expect("a power of two");
        self.ring = Some(ring);
    }

    /// The socket, for what only it carries (a descriptor passed during the load).
    pub fn stream(&mut self) -> &mut StreamChannel {
        &mut self.stream
    }

    /// Whether frames go through the ring now.
    pub fn on_ring(&self) -> bool {
        self.on_ring
    }

    /// `frame`, taken from the ring. The host reads the socket first, as it would if the
    /// socket still carried the frames: bytes the plugin wrote on it before (a forged frame,
    /// garbage) are a breach before anything it sent after them counts. A peer that has gone
    /// wrote its frames before it went: they count, and its end is told once the ring is
    /// empty. The runner needs no such look: nothing of its host's is untrusted.
    fn taken(&mut self, frame: Frame) -> Result<Frame, ChannelError> {
        if self.side == Side::Runner {
            return Ok(frame);
        }
        match self.stream.expect_silence() {
            Ok(()) | Err(ChannelError::Closed) => Ok(frame),
            Err(breach) => Err(breach),
        }
    }

    fn ring_send(&mut self, frame: &Frame, deadline: Option<Instant>) -> Result<(), ChannelError> {
        let Some(ring) = &self.ring else {
            unreachable!("on the ring only with a ring");
        };
        self.out.clear();
        frame.encode_into(&mut self.out)?;
        let lane = ring.lane(self.side, true);
        let mut sent = 0;
        while sent < self.out.len() {
            // Looked at before each step, not only when one waits: a reader that takes a
            // byte at a time, quickly, would otherwise hold the send past its deadline.
            let late = past(deadline);
            let seen = lane.read();
            let n = self.writer.put(&lane, &self.out[sent..])?;
            if n > 0 {
                sent += n;
                if lane.word(READER_ASLEEP).load(Ordering::SeqCst) != 0 {
                    futex_wake(lane.word(WRITTEN));
                }
            }
            if sent == self.out.len() {
                break;
            }
            if late {
                return Err(ChannelError::Timeout);
            }
            if n > 0 {
                continue;
            }
            // Full: wait for the reader to take some.
            wait(
                &mut self.stream,
                self.side,
                || RingWriter::reader_moved(&lane, seen),
                lane.word(READ),
                lane.word(WRITER_ASLEEP),
                deadline,
            )?;
        }
        Ok(())
    }

    fn ring_recv(&mut self, deadline: Option<Instant>) -> Result<Frame, ChannelError> {
        let Some(ring) = &self.ring else {
            unreachable!("on the ring only with a ring");
        };
        let lane = ring.lane(self.side, false);
        if self.stray > 0 {
            // Bytes that came on the socket after `Loaded`, in the read that took it.
            return Err(ChannelError::StrayBytes { bytes: self.stray });
        }
        loop {
            if let Some(frame) = self.frames.next_frame()? {
                return self.taken(frame);
            }
            // Looked at before each step, not only when one waits: a writer that adds a
            // byte at a time, quickly, would otherwise hold the wait past its deadline. What
            // the ring holds at the deadline is still taken.
            let late = past(deadline);
            if self.buf.is_empty() {
                self.buf = vec![0; TAKE_CHUNK];
            }
            let n = self.reader.take(&lane, &mut self.buf)?;
            if n > 0 {
                if lane.word(WRITER_ASLEEP).load(Ordering::SeqCst) != 0 {
                    futex_wake(lane.word(READ));
                }
                self.frames.push(&self.buf[..n])?;
                if let Some(frame) = self.frames.next_frame()? {
                    return self.taken(frame);
                }
            }
            if late {
                return Err(ChannelError::Timeout);
            }
            if n > 0 {
                continue;
            }
            let reader = &self.reader;
            wait(
                &mut self.stream,
                self.side,
                || reader.has_news(&lane),
                lane.word(WRITTEN),
                lane.word(READER_ASLEEP),
                deadline,
            )?;
        }
    }
}

/// Whether `deadline` has passed.
fn past(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

/// Waits until `ready`: spins for [`SPIN`], then sleeps on `word` with `asleep` raised, in
/// slices, looking at the socket after each. `Timeout` once `deadline` has passed; `Closed`
/// when the peer's end of the socket is gone.
fn wait(
    stream: &mut StreamChannel,
    side: Side,
    ready: impl Fn() -> bool,
    word: &AtomicU32,
    asleep: &AtomicU32,
    deadline: Option<Instant>,
) -> Result<(), ChannelError> {
    let spin_until = Instant::now() + SPIN;
    loop {
        for _ in 0..64 {
            if ready() {
                return Ok(());
            }
            std::hint::spin_loop();
        }
        if Instant::now() >= spin_until {
            break;
        }
    }
    // The runner is ended by its host's death anyway: its slices can be long.
    let slice = match side {
        Side::Host => SLICE,
        Side::Runner => SLICE * 10,
    };
    loop {
        let seen = word.load(Ordering::SeqCst);
        asleep.store(1, Ordering::SeqCst);
        if ready() {
            asleep.store(0, Ordering::SeqCst);
            return Ok(());
        }
        let left = match deadline {
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => slice,
        };
        if left.is_zero() {
            asleep.store(0, Ordering::SeqCst);
            return Err(ChannelError::Timeout);
        }
        futex_wait(word, seen, left.min(slice));
        asleep.store(0, Ordering::SeqCst);
        if ready() {
            return Ok(());
        }
        match stream.expect_silence() {
            Ok(()) => {}
            // What the peer wrote before it went is in the ring by now.
            Err(ChannelError::Closed) if ready() => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

impl Channel for RingChannel {
    fn send(&mut self, frame: &Frame, deadline: Option<Instant>) -> Result<(), ChannelError> {
        if self.on_ring {
            self.ring_send(frame, deadline)
        } else {
            self.stream.send(frame, deadline)
        }
    }

    fn recv(&mut self, deadline: Option<Instant>) -> Result<Frame, ChannelError> {
        if self.on_ring {
            self.ring_recv(deadline)
        } else {
            self.stream.recv(deadline)
        }
    }

    fn take_passed(&mut self) -> Option<OwnedFd> {
        self.stream.take_passed()
    }

    fn start_fast_path(&mut self) {
        self.on_ring = self.ring.is_some();
        // What came on the socket with `Loaded`, in the same read, is past the switch.
        self.stray = self.stream.buffered();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sbx_ipc::Message;

    /// Both ends of a ring channel in one process, switched to the ring.
    fn pair(capacity: u32) -> (RingChannel, RingChannel) {
        let (a, b) = crate::channel::stream_pair();
        let (host_ring, fd) = SharedRing::create(capacity).expect("ring");
        let runner_ring = SharedRing::map(fd.as_fd(), capacity).expect("mapped");
        let mut host = RingChannel::new(a, Some(host_ring), Side::Host);
        let mut runner = RingChannel::new(b, Some(runner_ring), Side::Runner);
        host.start_fast_path();
        runner.start_fast_path();
        (host, runner)
    }

    fn invoke(id: u64, input: Vec<u8>) -> Frame {
        Frame {
            request_id: id,
            message: Message::Invoke {
                method: "echo".into(),
                input,
            },
        }
    }

    fn soon() -> Option<Instant> {
        Some(Instant::now() + Duration::from_secs(10))
    }

    #[test]
    fn frames_go_both_ways_and_larger_than_the_ring() {
        let (mut host, mut runner) = pair(64);
        let echo = std::thread::spawn(move || {
            for _ in 0..3 {
                let frame = runner.recv(soon()).expect("a request");
                runner.send(&frame, soon()).expect("echoed");
            }
            runner
        });
        for (id, len) in [(1, 0), (2, 10), (3, 5000)] {
            let frame = invoke(id, vec![id as u8; len]);
            host.send(&frame, soon()).expect("sent");
            assert_eq!(host.recv(soon()).expect("echo"), frame);
        }
        let mut runner = echo.join().expect("the echo thread");
        // Nothing went through the socket, either way.
        assert!(host.stream.expect_silence().is_ok());
        assert!(runner.stream.expect_silence().is_ok());
    }

    #[test]
    fn a_peer_that_publishes_an_impossible_position_is_a_breach() {
        let (mut host, runner) = pair(64);
        let lane = runner.ring.as_ref().expect("ring").lane(Side::Runner, true);
        lane.publish_written(65);
        match host.recv(soon()) {
            Err(ChannelError::Ring(_)) => {}
            other => panic!("expected a ring breach, got {other:?}"),
        }
    }

    #[test]
    fn silence_ends_at_the_deadline_and_a_gone_peer_is_closed() {
        let (mut host, runner) = pair(64);
        let started = Instant::now();
        let deadline = started + Duration::from_millis(30);
        assert!(matches!(
            host.recv(Some(deadline)),
            Err(ChannelError::Timeout)
        ));
        assert!(Instant::now() >= deadline);
        drop(runner);
        assert!(matches!(host.recv(soon()), Err(ChannelError::Closed)));
    }

    #[test]
    fn frames_sent_before_the_peer_went_are_all_taken_then_it_is_closed() {
        // Frames of 72 bytes: three fit.
        let (mut host, mut runner) = pair(256);
        for id in 1..=3 {
            runner.send(&invoke(id, vec![7; 40]), soon()).expect("sent");
        }
        let writer = std::thread::spawn(move || {
            // More than the ring holds: the last ones go in as the host takes the first.
            for id in 4..=6 {
                runner.send(&invoke(id, vec![7; 40]), soon()).expect("sent");
            }
            drop(runner);
        });
        for id in 1..=6 {
            assert_eq!(host.recv(soon()).expect("a frame"), invoke(id, vec![7; 40]));
        }
        writer.join().expect("the writer");
        assert!(matches!(host.recv(soon()), Err(ChannelError::Closed)));
    }

    #[test]
    fn a_peer_that_drips_a_frame_does_not_hold_the_host_past_its_deadline() {
        let (mut host, runner) = pair(64);
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = std::sync::Arc::clone(&done);
        let dripper = std::thread::spawn(move || {
            let lane = runner.ring.as_ref().expect("ring").lane(Side::Runner, true);
            let mut writer = RingWriter::new(64).expect("a power of two");
            // A byte at a time, as fast as it goes: always within the reader's spin.
            let wire = invoke(1, vec![7; 512 << 10]).encode().expect("encodes");
            for byte in wire.chunks(1) {
                while writer.put(&lane, byte).expect("an honest reader") == 0 {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                }
                if stop.load(Ordering::SeqCst) {
                    return;
                }
            }
        });
        let started = Instant::now();
        let got = host.recv(Some(started + Duration::from_millis(20)));
        let took = started.elapsed();
        done.store(true, Ordering::SeqCst);
        dripper.join().expect("the dripper");
        assert!(matches!(got, Err(ChannelError::Timeout)), "{got:?}");
        // Held only until its deadline, not until the half-megabyte frame is whole.
        assert!(took < Duration::from_millis(200), "{took:?}");
    }

    #[test]
    fn bytes_on_the_socket_once_the_ring_carries_frames_are_a_breach() {
        let (mut host, mut runner) = pair(64);
        runner
            .stream
            .send(&invoke(1, Vec::new()), soon())
            .expect("sent on the socket");
        assert!(matches!(
            host.recv(soon()),
            Err(ChannelError::StrayBytes { .. })
        ));
    }

    #[test]
    fn before_the_switch_frames_go_through_the_socket() {
        let (mut host, mut runner) = pair(64);
        host.on_ring = false;
        runner.on_ring = false;
        host.send(&invoke(1, b"x".to_vec()), soon()).expect("sent");
        assert_eq!(
            runner.stream.recv(soon()).expect("on the socket"),
            invoke(1, b"x".to_vec())
        );
    }

    #[test]
    fn copies_in_and_out_keep_every_byte_at_every_alignment() {
        let (ring, _fd) = SharedRing::create(64).expect("ring");
        let lane = ring.lane(Side::Host, true);
        for offset in 0..=16 {
            for len in 0..=40 {
                let src: Vec<u8> = (0..len).map(|i| (i * 7 + offset + 1) as u8).collect();
                lane.copy_in(offset, &src);
                let mut back = vec![0u8; len];
                lane.copy_out(offset, &mut back);
                assert_eq!(back, src, "{len} bytes at {offset}");
            }
        }
    }

    #[test]
    fn the_layout_is_the_protocols() {
        let doc = include_str!("../../ipc/PROTOCOL.md");
        assert_eq!((HEADER, LANE_HEADER), (512, 256));
        assert!(doc.contains("`512 + 2 * RING_CAPACITY` bytes"));
        assert!(doc.contains("runner-to-host header at 256"));
        for (line, offset) in [
            (0, WRITTEN),
            (1, READ),
            (2, READER_ASLEEP),
            (3, WRITER_ASLEEP),
        ] {
            assert_eq!(offset, line * LINE);
        }
        assert_eq!(
            file_len(sbx_ipc::ring::RING_CAPACITY),
            512 + 2 * sbx_ipc::ring::RING_CAPACITY as usize
        );
    }

    #[test]
    fn a_ring_file_of_the_wrong_size_is_refused() {
        let (_ring, fd) = SharedRing::create(64).expect("ring");
        assert!(SharedRing::map(fd.as_fd(), 128).is_err());
        assert!(SharedRing::create(100).is_err());
    }
}
