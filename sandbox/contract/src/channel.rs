//! The host <-> runner channel: framed messages over a stream socket, behind a trait so a
//! faster transport (shared memory) can replace it without touching the supervisor.
//!
//! Every read and write has a deadline: a peer that stops reading or writing mid-frame
//! (a stalled half frame) costs the caller at most its deadline, never a hang.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Instant;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};
use sbx_ipc::{DecodeError, EncodeError, Frame, FrameReader};

/// A channel failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// The peer closed its end.
    #[error("channel closed by the peer")]
    Closed,
    /// The deadline passed before a whole frame arrived or could be written.
    #[error("channel deadline expired")]
    Timeout,
    /// The peer sent bytes that are not a valid frame.
    #[error("malformed frame: {0}")]
    Decode(#[from] DecodeError),
    /// A frame could not be encoded (too large).
    #[error("cannot encode frame: {0}")]
    Encode(#[from] EncodeError),
    /// The operating system failed the read or write.
    #[error("channel I/O: {0}")]
    Io(#[from] io::Error),
    /// The peer published a ring position no honest peer could (the low-latency mode).
    #[error("ring: {0}")]
    Ring(#[from] sbx_ipc::ring::RingError),
    /// The peer wrote on the socket once the ring carried the frames (the low-latency mode).
    #[error("{bytes} bytes on the socket once the ring carries the frames")]
    StrayBytes {
        /// Bytes read.
        bytes: usize,
    },
}

/// A bidirectional, framed, deadline-bounded message channel.
pub trait Channel: Send {
    /// Sends one frame, waiting at most until `deadline` (`None`: no limit).
    fn send(&mut self, frame: &Frame, deadline: Option<Instant>) -> Result<(), ChannelError>;
    /// Receives one frame, waiting at most until `deadline` (`None`: no limit).
    fn recv(&mut self, deadline: Option<Instant>) -> Result<Frame, ChannelError>;
    /// The first descriptor the peer passed with its bytes and nobody has taken yet
    /// ([`StreamChannel::send_passing`]). A transport that cannot pass one has none.
    fn take_passed(&mut self) -> Option<OwnedFd> {
        None
    }
    /// The plugin is loaded: the frames from here on take the transport's fast path, when it
    /// has one ([`crate::ring::RingChannel`]). Both sides call it at `Loaded`, the runner
    /// once it has sent it and the host once it has received it.
    fn start_fast_path(&mut self) {}
}

/// [`Channel`] over a connected `SOCK_STREAM` socket (one end of a socketpair).
pub struct StreamChannel {
    fd: OwnedFd,
    reader: FrameReader,
    buf: Vec<u8>,
    out: Vec<u8>,
    /// Whether reads take in descriptors the peer passes ([`StreamChannel::accepting_passed`]).
    accepts_passed: bool,
    /// The first descriptor received and not taken; any later one is closed on arrival,
    /// so that a peer passing descriptors costs this side one at most.
    passed: Option<OwnedFd>,
}

/// Bytes read from the socket per `read` call.
const READ_CHUNK: usize = 64 * 1024;

impl StreamChannel {
    /// Wraps a connected stream socket; it is switched to non-blocking mode.
    pub fn new(fd: OwnedFd) -> io::Result<Self> {
        let flags =
            nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_GETFL).map_err(io::Error::from)?;
        let flags = nix::fcntl::OFlag::from_bits_retain(flags) | nix::fcntl::OFlag::O_NONBLOCK;
        nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFL(flags)).map_err(io::Error::from)?;
        Ok(StreamChannel {
            fd,
            reader: FrameReader::new(),
            buf: vec![0; READ_CHUNK],
            out: Vec::new(),
            accepts_passed: false,
            passed: None,
        })
    }

    /// This channel, reading with `recvmsg` so that a descriptor the peer passes is kept
    /// ([`Channel::take_passed`]). Without it, reads are plain `read`s (what the runner's
    /// seccomp policy allows) and a passed descriptor is closed by the kernel.
    pub fn accepting_passed(mut self) -> Self {
        self.accepts_passed = true;
        self
    }

    /// Sends one frame with the descriptor `fd` passed along (`SCM_RIGHTS`, with its first
    /// bytes), waiting at most until `deadline`. The peer's [`Channel::take_passed`] has it
    /// once the frame has arrived.
    pub fn send_passing(
        &mut self,
        frame: &Frame,
        fd: BorrowedFd<'_>,
        deadline: Option<Instant>,
    ) -> Result<(), ChannelError> {
        self.out.clear();
        frame.encode_into(&mut self.out)?;
        self.write_out(Some(fd), deadline)
    }

    /// Writes all of `self.out`, passing `passing` with the first bytes that leave.
    fn write_out(
        &mut self,
        mut passing: Option<BorrowedFd<'_>>,
        deadline: Option<Instant>,
    ) -> Result<(), ChannelError> {
        let mut written = 0;
        while written < self.out.len() {
            let rest = &self.out[written..];
            let sent = match passing {
                Some(fd) => sendmsg::<()>(
                    self.fd.as_raw_fd(),
                    &[io::IoSlice::new(rest)],
                    &[ControlMessage::ScmRights(&[fd.as_raw_fd()])],
                    MsgFlags::MSG_NOSIGNAL,
                    None,
                ),
                None => nix::unistd::write(&self.fd, rest),
            };
            match sent {
                Ok(n) => {
                    written += n;
                    passing = None;
                }
                Err(Errno::EAGAIN) => self.wait(PollFlags::POLLOUT, deadline)?,
                Err(Errno::EINTR) => {}
                Err(Errno::EPIPE | Errno::ECONNRESET) => return Err(ChannelError::Closed),
                Err(e) => return Err(ChannelError::Io(e.into())),
            }
        }
        Ok(())
    }

    /// Reads what the socket holds into `self.buf`, keeping a descriptor passed with it
    /// (close-on-exec: no process the host starts later inherits it).
    fn read_some(&mut self) -> nix::Result<usize> {
        if !self.accepts_passed {
            return nix::unistd::read(&self.fd, &mut self.buf);
        }
        let mut space = nix::cmsg_space!([RawFd; MAX_PASSED]);
        let mut iov = [io::IoSliceMut::new(&mut self.buf)];
        let msg = recvmsg::<()>(
            self.fd.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )?;
        let bytes = msg.bytes;
        let mut received = Vec::new();
        for cmsg in msg.cmsgs()? {
            if let ControlMessageOwned::ScmRights(fds) = cmsg {
                received.extend(fds);
            }
        }
        for raw in received {
            // SAFETY: the kernel installed `raw` in this process for this message; nothing
            // else knows it, so it is owned here and closed unless kept.
            let fd = unsafe { OwnedFd::from_raw_fd(raw) };
            if self.passed.is_none() {
                self.passed = Some(fd);
            }
        }
        Ok(bytes)
    }

    /// Whether the socket is silent, for a channel whose frames go elsewhere: `Closed` when the
    /// peer's end is gone, `StrayBytes` when it wrote (what it wrote is dropped).
    pub fn expect_silence(&mut self) -> Result<(), ChannelError> {
        match self.read_some() {
            Ok(0) => Err(ChannelError::Closed),
            Ok(bytes) => Err(ChannelError::StrayBytes { bytes }),
            Err(Errno::EAGAIN | Errno::EINTR) => Ok(()),
            Err(Errno::ECONNRESET) => Err(ChannelError::Closed),
            Err(e) => Err(ChannelError::Io(e.into())),
        }
    }

    /// Bytes read from the socket and not yet taken as a frame.
    pub fn buffered(&self) -> usize {
        self.reader.buffered()
    }

    /// The raw descriptor (for the runner's stdio-free diagnostics and tests).
    pub fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// Waits until the socket is ready for `flags`; `Timeout` once `deadline` has passed and
    /// it is not (a socket ready at the deadline is ready).
    fn wait(&self, flags: PollFlags, deadline: Option<Instant>) -> Result<(), ChannelError> {
        loop {
            let (timeout, last) = match deadline {
                None => (PollTimeout::NONE, false),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    // Round up so a sub-millisecond remainder does not spin.
                    let ms = match left.as_millis() {
                        0 if left.is_zero() => 0,
                        ms => ms.saturating_add(1).min(i32::MAX as u128) as i32,
                    };
                    (
                        PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
                        left.is_zero(),
                    )
                }
            };
            let mut fds = [PollFd::new(self.fd.as_fd(), flags)];
            match poll(&mut fds, timeout) {
                Ok(0) if last => return Err(ChannelError::Timeout),
                Ok(0) => continue,
                Ok(_) => return Ok(()),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(ChannelError::Io(e.into())),
            }
        }
    }
}

impl Channel for StreamChannel {
    fn send(&mut self, frame: &Frame, deadline: Option<Instant>) -> Result<(), ChannelError> {
        self.out.clear();
        frame.encode_into(&mut self.out)?;
        self.write_out(None, deadline)
    }

    fn recv(&mut self, deadline: Option<Instant>) -> Result<Frame, ChannelError> {
        loop {
            if let Some(frame) = self.reader.next_frame()? {
                return Ok(frame);
            }
            // Waited for first: the frame a side waits for (an answer, the next request) is
            // rarely there yet, and a read that fails before the wait is a system call more
            // on every call.
            self.wait(PollFlags::POLLIN, deadline)?;
            match self.read_some() {
                Ok(0) => return Err(ChannelError::Closed),
                Ok(n) => self.reader.push(&self.buf[..n])?,
                Err(Errno::EAGAIN) => {}
                Err(Errno::EINTR) => {}
                Err(Errno::ECONNRESET) => return Err(ChannelError::Closed),
                Err(e) => return Err(ChannelError::Io(e.into())),
            }
        }
    }

    fn take_passed(&mut self) -> Option<OwnedFd> {
        self.passed.take()
    }
}

/// Descriptors one read takes in; the kernel closes any beyond them (`MSG_CTRUNC`).
const MAX_PASSED: usize = 4;

/// Both ends of a fresh socketpair, each a channel: for this crate's tests.
#[cfg(test)]
pub(crate) fn stream_pair() -> (StreamChannel, StreamChannel) {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .expect("socketpair");
    (
        StreamChannel::new(a).expect("a"),
        StreamChannel::new(b).expect("b"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sbx_ipc::Message;

    fn pair() -> (StreamChannel, StreamChannel) {
        let (a, b) = stream_pair();
        (a, b.accepting_passed())
    }

    fn frame(n: u32) -> Frame {
        Frame {
            request_id: u64::from(n),
            message: Message::Loaded { abi_version: n },
        }
    }

    #[test]
    fn a_passed_descriptor_arrives_with_its_frame_and_is_taken_once() {
        let (mut runner, mut host) = pair();
        let (passed, _other_end) = std::io::pipe().expect("pipe");
        runner
            .send_passing(&frame(1), passed.as_fd(), None)
            .expect("sent");
        runner.send(&frame(2), None).expect("sent");
        assert_eq!(host.recv(None).expect("first"), frame(1));
        let got = host.take_passed().expect("the descriptor");
        assert!(host.take_passed().is_none(), "taken once");
        let flags = nix::fcntl::fcntl(&got, nix::fcntl::FcntlArg::F_GETFD).expect("flags");
        assert!(
            nix::fcntl::FdFlag::from_bits_retain(flags).contains(nix::fcntl::FdFlag::FD_CLOEXEC),
            "close-on-exec"
        );
        assert_eq!(host.recv(None).expect("second"), frame(2));
        assert!(host.take_passed().is_none());
    }

    #[test]
    fn descriptors_beyond_the_first_are_closed_on_arrival() {
        let (mut runner, mut host) = pair();
        let (first, _a) = std::io::pipe().expect("pipe");
        let (second, _b) = std::io::pipe().expect("pipe");
        runner
            .send_passing(&frame(1), first.as_fd(), None)
            .expect("sent");
        runner
            .send_passing(&frame(2), second.as_fd(), None)
            .expect("sent");
        assert_eq!(host.recv(None).expect("first"), frame(1));
        assert_eq!(host.recv(None).expect("second"), frame(2));
        let kept = host.take_passed().expect("the first");
        let ino = |fd: BorrowedFd<'_>| nix::sys::stat::fstat(fd).expect("fstat").st_ino;
        assert_eq!(ino(kept.as_fd()), ino(first.as_fd()));
        assert!(host.take_passed().is_none(), "the second was not kept");
    }

    #[test]
    fn a_channel_that_accepts_none_keeps_none() {
        let (mut runner, host) = pair();
        let mut plain = StreamChannel::new(host.fd).expect("plain");
        let (passed, _other_end) = std::io::pipe().expect("pipe");
        runner
            .send_passing(&frame(1), passed.as_fd(), None)
            .expect("sent");
        assert_eq!(plain.recv(None).expect("the frame"), frame(1));
        assert!(plain.take_passed().is_none());
    }
}
