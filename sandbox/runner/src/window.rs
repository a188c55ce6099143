//! The payload window in the plugin's process: descriptor 7, mapped at the first call that
//! uses it and then closed (`sbx-ipc`'s PROTOCOL.md, "The payload window").
//!
//! The plugin reads its input from the first half and writes its output into the second,
//! in place. The host reads and writes the file with `pread` and `pwrite` and never maps it,
//! so nothing the plugin does to these pages reaches the host's memory.

use sbx_contract::fds::PAYLOAD_WINDOW_FD;

/// The mapped window: two halves of `half` bytes each.
pub struct Window {
    base: *mut u8,
    half: usize,
}

impl Window {
    /// Maps descriptor 7 (`2 * half` bytes, shared, readable and writable, never executable)
    /// and closes the descriptor: the mapping is all the process keeps of it.
    pub fn map(half: u64) -> std::io::Result<Window> {
        let half = usize::try_from(half).map_err(std::io::Error::other)?;
        let len = half
            .checked_mul(2)
            .ok_or_else(|| std::io::Error::other("payload window too large"))?;
        // SAFETY: descriptor 7 is the host's window file, open until closed below.
        let window = unsafe { std::os::fd::BorrowedFd::borrow_raw(PAYLOAD_WINDOW_FD) };
        let base = sbx_contract::memory::map_shared(window, len)?;
        // SAFETY: closing descriptor 7, which the host placed for this mapping alone.
        unsafe { libc::close(PAYLOAD_WINDOW_FD) };
        Ok(Window { base, half })
    }

    /// Bytes in each half.
    pub fn half(&self) -> usize {
        self.half
    }

    /// The first `len` bytes of the input half and the first `cap` bytes of the output
    /// half, as the plugin's input and output buffers. `None` if either is past its half.
    pub fn buffers(&mut self, len: usize, cap: usize) -> Option<(&[u8], &mut [u8])> {
        if len > self.half || cap > self.half {
            return None;
        }
        // SAFETY: both ranges lie inside the mapping made above (each within its own half,
        // so they do not overlap), which lives as long as the process; the borrow of
        // `self` keeps the two slices from outliving this call. The host writes the input
        // half only between calls; the plugin may write either half at any time, as it may
        // any memory of its process.
        unsafe {
            Some((
                std::slice::from_raw_parts(self.base, len),
                std::slice::from_raw_parts_mut(self.base.add(self.half), cap),
            ))
        }
    }
}
