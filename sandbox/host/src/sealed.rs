//! Verified plugin bytes in a sealed memfd: what the runner loads instead of a path.
//!
//! The host verifies a package's bytes in memory, copies those very bytes into a memfd and
//! seals it against writing, shrinking, growing and further sealing. The runner receives the
//! memfd as a descriptor and `dlopen`s it through `/proc/self/fd`: replacing or editing the
//! file on disk after verification changes nothing that will run.

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::Arc;

/// A sealed, read-only copy of verified plugin bytes.
#[derive(Clone)]
pub struct SealedPlugin {
    fd: Arc<OwnedFd>,
    sha256: [u8; 32],
    len: usize,
}

impl std::fmt::Debug for SealedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SealedPlugin({} bytes, sha256 {})",
            self.len,
            sbx_package::hex(&self.sha256)
        )
    }
}

impl PartialEq for SealedPlugin {
    fn eq(&self, other: &Self) -> bool {
        self.sha256 == other.sha256 && self.len == other.len
    }
}
impl Eq for SealedPlugin {}

/// The seals: no write, no shrink, no grow, and no change to the seals themselves.
const SEALS: libc::c_int =
    libc::F_SEAL_WRITE | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;

impl SealedPlugin {
    /// Copies `bytes` into a new memfd named after the plugin and seals it.
    pub fn seal(name: &str, bytes: &[u8]) -> std::io::Result<SealedPlugin> {
        let cname =
            std::ffi::CString::new(format!("sbx-plugin:{name}")).map_err(std::io::Error::other)?;
        // SAFETY: memfd_create with a valid NUL-terminated name; returns a fresh descriptor.
        let raw = unsafe {
            libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)
        };
        if raw < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: memfd_create returned a descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut file = std::fs::File::from(fd);
        file.write_all(bytes)?;
        let fd = OwnedFd::from(file);
        // SAFETY: fcntl F_ADD_SEALS on our own memfd with a constant seal mask.
        if unsafe {
            libc::fcntl(
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                libc::F_ADD_SEALS,
                SEALS,
            )
        } < 0
        {
            return Err(std::io::Error::last_os_error());
        }
        Ok(SealedPlugin {
            fd: Arc::new(fd),
            sha256: sbx_package::sha256(bytes),
            len: bytes.len(),
        })
    }

    /// The memfd.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// SHA-256 of the sealed bytes.
    pub fn sha256(&self) -> [u8; 32] {
        self.sha256
    }

    /// The seals in force (for tests and audits).
    pub fn seals(&self) -> std::io::Result<libc::c_int> {
        // SAFETY: F_GET_SEALS only queries our own descriptor.
        let rc = unsafe {
            libc::fcntl(
                std::os::fd::AsRawFd::as_raw_fd(&*self.fd),
                libc::F_GET_SEALS,
            )
        };
        if rc < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(rc)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_bytes_cannot_change() {
        let s = SealedPlugin::seal("t", b"plugin").expect("seal");
        assert_eq!(s.seals().expect("seals") & SEALS, SEALS);
        let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&s.fd()));
        assert_eq!(std::fs::read(&path).expect("read"), b"plugin");
        // Opening for writing through /proc is refused by the write seal.
        assert!(
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|mut f| f.write_all(b"x"))
                .is_err()
        );
    }
}
