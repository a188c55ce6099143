//! Shared mappings of the memory files the host hands the runner (the payload window, the
//! low-latency mode's rings): one `mmap` for both, readable and writable, never executable.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Maps the first `len` bytes of the memory file `fd`, shared, at an address the kernel
/// picks; the mapping outlives the descriptor. The caller unmaps it.
pub fn map_shared(fd: BorrowedFd<'_>, len: usize) -> io::Result<*mut u8> {
    // SAFETY: a new shared mapping of the file, at an address the kernel picks; no existing
    // memory is touched. Readable and writable, never executable.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
            0,
        )
    };
    if base == libc::MAP_FAILED {
        Err(io::Error::last_os_error())
    } else {
        Ok(base.cast())
    }
}
