//! The payload window: a memory file of two halves, input then output, that carries what is
//! too large for a frame (`sbx-ipc`'s PROTOCOL.md, "The payload window").
//!
//! The host never maps it. It writes an input with `pwrite` and reads an output with
//! `pread`: the plugin's process maps the window and may change it at any moment, and what
//! the host reads is then only a copy of whatever bytes were there, never memory the host
//! holds or a mapping a shrunk file could fault under. The file is sealed against growing
//! and shrinking, so its halves stay where the host and the runner expect them.

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileExt;

use nix::fcntl::{FcntlArg, SealFlag, fcntl};
use nix::sys::memfd::{MFdFlags, memfd_create};

/// One plugin's payload window.
#[derive(Debug)]
pub struct PayloadWindow {
    file: File,
    half: u64,
}

impl PayloadWindow {
    /// A new window of two halves of `half` bytes, sealed against any change of size. Its
    /// pages cost memory only once written.
    pub fn create(half: u64) -> std::io::Result<PayloadWindow> {
        let fd: OwnedFd = memfd_create(
            c"sbx-payload-window",
            MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
        )?;
        let len = half
            .checked_mul(2)
            .and_then(|l| i64::try_from(l).ok())
            .ok_or_else(|| std::io::Error::other("payload window too large"))?;
        nix::unistd::ftruncate(&fd, len)?;
        fcntl(
            &fd,
            FcntlArg::F_ADD_SEALS(
                SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_SEAL,
            ),
        )?;
        Ok(PayloadWindow {
            file: File::from(fd),
            half,
        })
    }

    /// Bytes in each half.
    pub fn half(&self) -> u64 {
        self.half
    }

    /// The descriptor to hand to the runner.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// Writes a call's input at the start of the window. The caller has checked that it
    /// fits the first half.
    pub fn write_input(&self, input: &[u8]) -> std::io::Result<()> {
        debug_assert!(input.len() as u64 <= self.half);
        self.file.write_all_at(input, 0)
    }

    /// Copies `len` bytes of output from the start of the second half. The caller has
    /// checked that `len` fits it.
    pub fn read_output(&self, len: u64) -> std::io::Result<Vec<u8>> {
        debug_assert!(len <= self.half);
        let len = usize::try_from(len).map_err(std::io::Error::other)?;
        let mut output = vec![0; len];
        self.file.read_exact_at(&mut output, self.half)?;
        Ok(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_as_output_is_read_back_and_the_size_is_sealed() {
        let window = PayloadWindow::create(4096).unwrap();
        window.write_input(b"input").unwrap();
        window.file.write_all_at(b"output", 4096).unwrap();
        assert_eq!(window.read_output(6).unwrap(), b"output");
        let mut first = [0u8; 5];
        window.file.read_exact_at(&mut first, 0).unwrap();
        assert_eq!(&first, b"input");
        // Neither the host nor the plugin's process can grow or shrink it.
        assert!(window.file.set_len(1).is_err());
        assert!(window.file.set_len(1 << 20).is_err());
        assert_eq!(window.file.metadata().unwrap().len(), 8192);
    }

    #[test]
    fn a_window_too_large_to_size_is_an_error() {
        assert!(PayloadWindow::create(u64::MAX).is_err());
    }
}
