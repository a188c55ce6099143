//! The host <-> runner channel: framed messages over a stream socket, behind a trait so a
//! faster transport (shared memory) can replace it without touching the supervisor.
//!
//! Every read and write has a deadline: a peer that stops reading or writing mid-frame
//! (a stalled half frame) costs the caller at most its deadline, never a hang.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Instant;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
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
}

/// A bidirectional, framed, deadline-bounded message channel.
pub trait Channel: Send {
    /// Sends one frame, waiting at most until `deadline` (`None`: no limit).
    fn send(&mut self, frame: &Frame, deadline: Option<Instant>) -> Result<(), ChannelError>;
    /// Receives one frame, waiting at most until `deadline` (`None`: no limit).
    fn recv(&mut self, deadline: Option<Instant>) -> Result<Frame, ChannelError>;
}

/// [`Channel`] over a connected `SOCK_STREAM` socket (one end of a socketpair).
pub struct StreamChannel {
    fd: OwnedFd,
    reader: FrameReader,
    buf: Vec<u8>,
    out: Vec<u8>,
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
        })
    }

    /// The raw descriptor (for the runner's stdio-free diagnostics and tests).
    pub fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    fn wait(&self, flags: PollFlags, deadline: Option<Instant>) -> Result<(), ChannelError> {
        loop {
            let timeout = match deadline {
                None => PollTimeout::NONE,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(ChannelError::Timeout);
                    }
                    // Round up so a sub-millisecond remainder does not spin.
                    let ms = left.as_millis().saturating_add(1).min(i32::MAX as u128) as i32;
                    PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
                }
            };
            let mut fds = [PollFd::new(self.fd.as_fd(), flags)];
            match poll(&mut fds, timeout) {
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
        let mut written = 0;
        while written < self.out.len() {
            match nix::unistd::write(&self.fd, &self.out[written..]) {
                Ok(n) => written += n,
                Err(Errno::EAGAIN) => self.wait(PollFlags::POLLOUT, deadline)?,
                Err(Errno::EINTR) => {}
                Err(Errno::EPIPE | Errno::ECONNRESET) => return Err(ChannelError::Closed),
                Err(e) => return Err(ChannelError::Io(e.into())),
            }
        }
        Ok(())
    }

    fn recv(&mut self, deadline: Option<Instant>) -> Result<Frame, ChannelError> {
        loop {
            if let Some(frame) = self.reader.next_frame()? {
                return Ok(frame);
            }
            match nix::unistd::read(&self.fd, &mut self.buf) {
                Ok(0) => return Err(ChannelError::Closed),
                Ok(n) => self.reader.push(&self.buf[..n])?,
                Err(Errno::EAGAIN) => self.wait(PollFlags::POLLIN, deadline)?,
                Err(Errno::EINTR) => {}
                Err(Errno::ECONNRESET) => return Err(ChannelError::Closed),
                Err(e) => return Err(ChannelError::Io(e.into())),
            }
        }
    }
}
