//! The `swapped_during_load` package: each reader of the package's binary is shown the
//! bytes that test it, whenever it reads.
//!
//! While the load runs, a fanotify group holds every open in the package's directory until
//! the harness has answered it (a permission event), so the harness changes the binary
//! between two opens, never during one, and never loses a race:
//!
//! - until the manifest or the signature is opened, `plugin.so` holds the payload: a host
//!   that runs the file without verifying it runs the payload;
//! - when one of them is opened (a verifier is at work), the verified binary takes its
//!   place, for the first open of `plugin.so` after it;
//! - a second open of `plugin.so` finds the payload written into the same file: a host
//!   that verified one read and runs another runs the payload.
//!
//! A host that runs exactly the bytes it verified never sees the payload. Needs
//! `CAP_SYS_ADMIN` (fanotify permission events).

use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::fanotify::{
    EventFFlags, Fanotify, FanotifyResponse, InitFlags, MarkFlags, MaskFlags, Response,
};

/// How far the readers of the binary have got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The payload is in place; no verifier has shown itself.
    PayloadInPlace,
    /// A verifier opened the manifest or signature: the verified binary is in place for
    /// the next open.
    VerifiedInPlace,
    /// The verified binary was opened once.
    VerifiedRead,
    /// It was opened again, and found the payload.
    PayloadWritten,
}

/// The watcher of one package's load; stop it once the load is answered.
pub struct Swapper {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<std::io::Result<Vec<String>>>>,
}

impl Swapper {
    /// Puts `payload` in place of the package's binary in `dir` and starts watching; `work`
    /// (on the package's file system) holds copies of both binaries.
    pub fn start(dir: &Path, payload: &Path, work: &Path) -> std::io::Result<Swapper> {
        std::fs::create_dir_all(work)?;
        let plugin = dir.join(sbx_package::PLUGIN_FILE);
        let verified = work.join("verified.so");
        let payload_copy = work.join("payload.so");
        std::fs::copy(&plugin, &verified)?;
        std::fs::copy(payload, &payload_copy)?;
        let payload_bytes = std::fs::read(payload)?;
        replace(&plugin, &payload_copy)?;
        let group = Fanotify::init(
            InitFlags::FAN_CLASS_CONTENT | InitFlags::FAN_CLOEXEC | InitFlags::FAN_NONBLOCK,
            EventFFlags::O_RDWR | EventFFlags::O_CLOEXEC | EventFFlags::O_LARGEFILE,
        )?;
        let dir_file = std::fs::File::open(dir)?;
        group.mark(
            MarkFlags::FAN_MARK_ADD,
            MaskFlags::FAN_OPEN_PERM | MaskFlags::FAN_EVENT_ON_CHILD,
            &dir_file,
            None::<&Path>,
        )?;
        let stop = Arc::new(AtomicBool::new(false));
        let watcher = Watcher {
            plugin,
            verified,
            payload: payload_bytes,
            stage: Stage::PayloadInPlace,
            seen: Vec::new(),
        };
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || watcher.run(&group, &stop))
        };
        Ok(Swapper {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops watching (every open still held is let through); what the readers were shown.
    pub fn stop(mut self) -> std::io::Result<Vec<String>> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| std::io::Error::other("the watching thread panicked"))?,
            None => Ok(Vec::new()),
        }
    }
}

impl Drop for Swapper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Watcher {
    plugin: PathBuf,
    verified: PathBuf,
    payload: Vec<u8>,
    stage: Stage,
    /// What each reader was shown, for the case's notes.
    seen: Vec<String>,
}

impl Watcher {
    fn run(mut self, group: &Fanotify, stop: &AtomicBool) -> std::io::Result<Vec<String>> {
        loop {
            match group.read_events() {
                Ok(events) => {
                    for event in &events {
                        let Some(fd) = event.fd() else { continue };
                        // Whatever happens here, the open is let through: a reader is
                        // never left waiting.
                        let shown = self.on_open(fd);
                        group.write_response(FanotifyResponse::new(fd, Response::FAN_ALLOW))?;
                        shown?;
                    }
                    // Steady opens must not keep the watcher from stopping: what is still
                    // held is let through when the group closes.
                    if stop.load(Ordering::Relaxed) {
                        return Ok(self.seen);
                    }
                }
                Err(Errno::EAGAIN) if stop.load(Ordering::Relaxed) => return Ok(self.seen),
                Err(Errno::EAGAIN) => std::thread::sleep(Duration::from_micros(100)),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// An open in the package's directory, held until this returns.
    fn on_open(&mut self, fd: BorrowedFd<'_>) -> std::io::Result<()> {
        let path = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let is_plugin = name == sbx_package::PLUGIN_FILE;
        let is_verifier = name == sbx_package::MANIFEST_FILE || name == sbx_package::SIGNATURE_FILE;
        match self.stage {
            Stage::PayloadInPlace if is_verifier => {
                replace(&self.plugin, &self.verified)?;
                self.stage = Stage::VerifiedInPlace;
                self.seen
                    .push(format!("{name} opened: the verified binary put in place"));
            }
            Stage::PayloadInPlace if is_plugin => self
                .seen
                .push("plugin.so opened before the manifest: the payload read".into()),
            Stage::VerifiedInPlace if is_plugin => {
                self.stage = Stage::VerifiedRead;
                self.seen
                    .push("plugin.so opened: the verified binary read".into());
            }
            Stage::VerifiedRead if is_plugin => {
                // The same file, written through the held open: the reader that opened it
                // reads the payload.
                let file = std::fs::File::from(fd.try_clone_to_owned()?);
                file.set_len(0)?;
                file.write_all_at(&self.payload, 0)?;
                self.stage = Stage::PayloadWritten;
                self.seen
                    .push("plugin.so opened again: the payload written into it".into());
            }
            _ => {}
        }
        Ok(())
    }
}

/// Puts a new link to `source` at `target` in one rename: a reader sees the old file or the
/// new one, whole. A link and a rename open nothing, so the watcher never waits on itself.
fn replace(target: &Path, source: &Path) -> std::io::Result<()> {
    let next = target.with_file_name(".sbx-swap-next");
    let _ = std::fs::remove_file(&next);
    std::fs::hard_link(source, &next)?;
    std::fs::rename(&next, target)
}
