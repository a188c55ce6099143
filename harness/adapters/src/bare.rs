//! The no-isolation control: plugins are loaded with `dlopen` into this very process, as a
//! host without a sandbox would do: no process boundary, no filter, no limit, no deadline,
//! and none of the checks a sandbox makes on the plugin's word. It is the host a hurried
//! developer writes, and each of its shortcuts is one a hostile plugin exploits:
//!
//! - loading: lazy binding; the ABI version is never read; an entry point is looked up
//!   when first called (a missing one panics, as `lib.get(..).unwrap()` does); the status
//!   init returns is ignored; a signed package's binary is taken without its signature
//!   (and a revoked key stops nothing);
//! - calls: one output buffer, reused for every call of every plugin and never cleared;
//!   the output length the plugin claims is trusted, and a "buffer too small" answer is
//!   met by growing the buffer to the size asked for;
//! - the channel: its protocol stream is on descriptor 3, the descriptor a sandboxed
//!   runner's channel has, so a plugin can write into it, read from it or close it;
//! - host services: log records pasted into the JSON line as they come; storage keys used
//!   as file names under `storage/`, no quota, each value staged in one fixed scratch file
//!   and copied from it into its key's file (so puts from two threads at once cross);
//!   `net_request` to whatever the plugin names; grants never checked.
//!
//! Its run shows that each hostile plugin really does harm when nothing confines it.
//!
//! [`Bare::checked`] is the same host with the checks every plugin host makes whatever
//! confines it (ABI version and exports, binding at load, init's status, a fresh output
//! buffer per call and the claimed length held to it, log records escaped): the host that
//! the bubblewrap adapter runs inside `bwrap`, so that its results show what bubblewrap adds.

use std::collections::BTreeMap;
use std::ffi::{CString, c_char, c_int, c_void};
use std::sync::Mutex;

use sbx_contract::abi;
use sbx_harness::protocol::{ErrorBody, ErrorKind, Event, Feature, HelloResult, Policy};
use serde_json::Value;

use crate::serve::{Backend, Revoker, error, invoke_result, write_line};

/// The plugin whose entry point runs now, for log records (a host call names no plugin).
static CURRENT: Mutex<String> = Mutex::new(String::new());

/// The configuration values `config_get` answers: the last load's policy's, for every
/// plugin loaded (the suite gives each plugin of a case the same).
static CONFIG: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());

/// Log records are escaped into their JSON line ([`Bare::checked`]).
static ESCAPE_LOGS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes descriptor 3 another name for stdout, the checked host's channel: plugins that
/// attack "the channel descriptor" write into this host's output.
pub fn alias_channel_descriptor() {
    // SAFETY: dup2 of our own stdout onto a descriptor nothing in this process uses.
    unsafe { libc::dup2(1, CHANNEL_FD) };
}

/// The descriptor this host's protocol stream is on: the one a sandboxed runner's channel
/// has, so that plugins attacking "the channel descriptor" attack this host's channel.
const CHANNEL_FD: c_int = 3;

/// Descriptor 3, read and written in place. It is never closed by this host (a plugin may
/// close it; then the host can no longer speak, as the plugin meant).
pub struct Channel;

impl std::io::Read for Channel {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // SAFETY: reading into a buffer we own, of its length.
        let n = unsafe { libc::read(CHANNEL_FD, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

impl std::io::Write for Channel {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // SAFETY: writing from a buffer we own, of its length.
        let n = unsafe { libc::write(CHANNEL_FD, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The relay between the harness's pipes and the channel on descriptor 3.
pub struct ChannelRelay {
    to_stdout: std::thread::JoinHandle<()>,
}

/// Puts this host's protocol stream on descriptor 3: one end of a socket pair becomes
/// descriptor 3, and two threads copy stdin into the other end and the other end to
/// stdout.
pub fn open_channel() -> std::io::Result<ChannelRelay> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut ends = [0 as c_int; 2];
    // SAFETY: socketpair writes two descriptors into the array we pass.
    if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, ends.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nothing else.
    let (host, outer) = unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
    let host = std::os::fd::IntoRawFd::into_raw_fd(host);
    if host != CHANNEL_FD {
        // SAFETY: dup2 onto descriptor 3, which nothing else in this process uses, then
        // closing the original, which we own.
        unsafe {
            if libc::dup2(host, CHANNEL_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::close(host);
        }
    }
    let mut from_harness = std::fs::File::from(outer.try_clone()?);
    let mut to_harness = std::fs::File::from(outer);
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut from_harness);
        // End of the harness's input: the host reads the end of its channel.
        // SAFETY: shutdown of a socket descriptor this thread owns.
        unsafe {
            libc::shutdown(
                std::os::fd::AsRawFd::as_raw_fd(&from_harness),
                libc::SHUT_WR,
            )
        };
    });
    let to_stdout = std::thread::spawn(move || {
        let mut stdout = std::io::stdout().lock();
        let mut buf = [0u8; 1 << 16];
        loop {
            match std::io::Read::read(&mut to_harness, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if std::io::Write::write_all(&mut stdout, &buf[..n]).is_err() {
                        break;
                    }
                    let _ = std::io::Write::flush(&mut stdout);
                }
            }
        }
    });
    crate::serve::set_output(Box::new(Channel));
    Ok(ChannelRelay { to_stdout })
}

impl ChannelRelay {
    /// Ends the host's side of the channel and waits until everything it wrote has reached
    /// stdout. (When a plugin closed descriptor 3 there is nothing left to wait for.)
    pub fn finish(self) {
        // SAFETY: shutdown on descriptor 3, the channel's host end.
        if unsafe { libc::shutdown(CHANNEL_FD, libc::SHUT_WR) } == 0 {
            let _ = self.to_stdout.join();
        }
    }
}

/// The checked host's export check: every entry point present, and the ABI version this
/// host speaks.
fn check_exports(handle: *mut c_void) -> Result<(), ErrorBody> {
    let sym = |n: &std::ffi::CStr| {
        // SAFETY: dlsym on a live handle with a NUL-terminated name.
        let p = unsafe { libc::dlsym(handle, n.as_ptr()) };
        if p.is_null() {
            Err(error(
                ErrorKind::Refused,
                format!("missing {}", n.to_string_lossy()),
            ))
        } else {
            Ok(p)
        }
    };
    // SAFETY: the ABI declares this symbol a `const uint32_t`.
    let version = unsafe {
        sym(c"sbx_plugin_abi_version")?
            .cast::<u32>()
            .read_unaligned()
    };
    if version != abi::ABI_VERSION {
        return Err(error(ErrorKind::Refused, format!("ABI version {version}")));
    }
    for name in [
        c"sbx_plugin_init",
        c"sbx_plugin_invoke",
        c"sbx_plugin_shutdown",
    ] {
        sym(name)?;
    }
    Ok(())
}

/// A loaded plugin: the library handle; entry points are looked up when first called.
struct Entry {
    handle: *mut c_void,
    output_bytes: usize,
}

impl Entry {
    /// The address of `name`, or a panic: this host unwraps its lookups.
    fn entry(&self, name: &std::ffi::CStr) -> *mut c_void {
        // SAFETY: dlsym on a live handle with a NUL-terminated name.
        let p = unsafe { libc::dlsym(self.handle, name.as_ptr()) };
        assert!(
            !p.is_null(),
            "the plugin does not export {}",
            name.to_string_lossy()
        );
        p
    }
}

/// The control adapter.
pub struct Bare {
    plugins: BTreeMap<String, Entry>,
    /// The one output buffer, shared by every call of every plugin and never cleared
    /// (unless `checked`).
    output: Vec<u8>,
    /// Make the checks every plugin host makes ([`Bare::checked`]).
    checked: bool,
}

impl Bare {
    /// The no-isolation control: every shortcut of the module's list.
    pub fn naive() -> Bare {
        Bare {
            plugins: BTreeMap::new(),
            output: Vec::new(),
            checked: false,
        }
    }

    /// The same host with the checks every plugin host makes whatever confines it.
    pub fn checked() -> Bare {
        ESCAPE_LOGS.store(true, std::sync::atomic::Ordering::Relaxed);
        Bare {
            checked: true,
            ..Bare::naive()
        }
    }
}

unsafe extern "C" fn log(
    _: *mut c_void,
    level: c_int,
    msg: *const c_char,
    len: usize,
) -> abi::SbxStatus {
    if msg.is_null() {
        return abi::ERR_INVALID_ARGUMENT;
    }
    // SAFETY: the ABI says `msg` points to `len` bytes; this host trusts its plugins.
    let bytes = unsafe { std::slice::from_raw_parts(msg.cast::<u8>(), len) };
    let plugin = CURRENT.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if ESCAPE_LOGS.load(std::sync::atomic::Ordering::Relaxed) {
        let event = Event::Log {
            plugin,
            level: level.to_string(),
            message: String::from_utf8_lossy(bytes).into_owned(),
        };
        write_line(&serde_json::to_string(&event).unwrap_or_default());
        return abi::OK;
    }
    // The record pasted into the line as it came: no escaping, no bound.
    write_line(&format!(
        "{{\"event\":\"log\",\"plugin\":\"{plugin}\",\"level\":\"{level}\",\"message\":\"{}\"}}",
        String::from_utf8_lossy(bytes)
    ));
    abi::OK
}

/// Borrows `len` plugin bytes at `ptr` (NULL only with length 0), as a host that trusts
/// its plugins does.
///
/// # Safety
/// `ptr` must point to `len` readable bytes, as the ABI requires.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    if ptr.is_null() {
        return (len == 0).then_some(&[]);
    }
    // SAFETY: the ABI's contract on the plugin's pointer.
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// The naive storage path: the key, as text, under `storage/` (so `../` walks out).
fn storage_path(key: &[u8]) -> std::path::PathBuf {
    std::path::Path::new("storage").join(String::from_utf8_lossy(key).as_ref())
}

/// Copies an answer into the plugin's buffer, or reports the size it needs.
///
/// # Safety
/// `out` must hold `out_cap` writable bytes and `out_len` be writable, as the ABI requires.
unsafe fn answer(
    value: &[u8],
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> abi::SbxStatus {
    if out_len.is_null() {
        return abi::ERR_INVALID_ARGUMENT;
    }
    // SAFETY: checked non-NULL; the ABI says it is writable.
    unsafe { *out_len = value.len() };
    if value.len() > out_cap || (out.is_null() && !value.is_empty()) {
        return abi::ERR_BUFFER_TOO_SMALL;
    }
    // SAFETY: `out` holds `out_cap >= value.len()` bytes.
    unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), out, value.len()) };
    abi::OK
}

/// Answers a `*_get` host call with what `lookup` finds for its key, or not found.
///
/// # Safety
/// The ABI's contract on `key`, `out` and `out_len`.
unsafe fn get(
    key: *const c_char,
    key_len: usize,
    (out, out_cap, out_len): (*mut u8, usize, *mut usize),
    lookup: impl FnOnce(&[u8]) -> Option<Vec<u8>>,
) -> abi::SbxStatus {
    // SAFETY: the ABI's contract on `key`.
    let Some(key) = (unsafe { bytes(key.cast(), key_len) }) else {
        return abi::ERR_INVALID_ARGUMENT;
    };
    match lookup(key) {
        // SAFETY: the ABI's contract on `out` and `out_len`.
        Some(value) => unsafe { answer(&value, out, out_cap, out_len) },
        None => abi::ERR_NOT_FOUND,
    }
}

unsafe extern "C" fn config_get(
    _: *mut c_void,
    key: *const c_char,
    key_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> abi::SbxStatus {
    // SAFETY: the caller's, passed on.
    unsafe {
        get(key, key_len, (out, out_cap, out_len), |key| {
            let config = CONFIG.lock().unwrap_or_else(|p| p.into_inner());
            config
                .get(String::from_utf8_lossy(key).as_ref())
                .map(|v| v.as_bytes().to_vec())
        })
    }
}

unsafe extern "C" fn storage_get(
    _: *mut c_void,
    key: *const c_char,
    key_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> abi::SbxStatus {
    // SAFETY: the caller's, passed on.
    unsafe {
        get(key, key_len, (out, out_cap, out_len), |key| {
            std::fs::read(storage_path(key)).ok()
        })
    }
}

unsafe extern "C" fn storage_put(
    _: *mut c_void,
    key: *const c_char,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> abi::SbxStatus {
    // SAFETY: the ABI's contract on `key` and `value`.
    let (Some(key), Some(value)) =
        (unsafe { (bytes(key.cast(), key_len), bytes(value, value_len)) })
    else {
        return abi::ERR_INVALID_ARGUMENT;
    };
    let path = storage_path(key);
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    // The value is staged in one scratch file, then copied into its key's file. The
    // scratch file's name is fixed (the host was written for one thread): two puts at once
    // share it, and one key gets the other's value.
    let staging = std::path::Path::new("storage").join(".put.tmp");
    match std::fs::write(&staging, value).and_then(|()| std::fs::copy(&staging, path)) {
        Ok(_) => abi::OK,
        Err(_) => abi::ERR_UNAVAILABLE,
    }
}

unsafe extern "C" fn storage_delete(
    _: *mut c_void,
    key: *const c_char,
    key_len: usize,
) -> abi::SbxStatus {
    // SAFETY: the ABI's contract on `key`.
    let Some(key) = (unsafe { bytes(key.cast(), key_len) }) else {
        return abi::ERR_INVALID_ARGUMENT;
    };
    match std::fs::remove_file(storage_path(key)) {
        Ok(()) => abi::OK,
        Err(_) => abi::ERR_NOT_FOUND,
    }
}

#[allow(clippy::too_many_arguments)] // the ABI's signature
unsafe extern "C" fn net_request(
    _: *mut c_void,
    dest: *const c_char,
    dest_len: usize,
    request: *const u8,
    request_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> abi::SbxStatus {
    use std::io::{Read, Write};
    use std::net::ToSocketAddrs;
    // SAFETY: the ABI's contract on `dest` and `request`.
    let (Some(dest), Some(request)) =
        (unsafe { (bytes(dest.cast(), dest_len), bytes(request, request_len)) })
    else {
        return abi::ERR_INVALID_ARGUMENT;
    };
    // Whatever the name resolves to: no allowlist, no canonical form.
    let dest = String::from_utf8_lossy(dest).into_owned();
    let Some(addr) = dest.to_socket_addrs().ok().and_then(|mut a| a.next()) else {
        return abi::ERR_UNAVAILABLE;
    };
    let timeout = std::time::Duration::from_millis(500);
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, timeout) else {
        return abi::ERR_UNAVAILABLE;
    };
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.write_all(request);
    let mut reply = Vec::new();
    let _ = stream.take(1 << 16).read_to_end(&mut reply);
    // SAFETY: the ABI's contract on `out` and `out_len`.
    unsafe { answer(&reply, out, out_cap, out_len) }
}

unsafe extern "C" fn clock_now(_: *mut c_void, out: *mut u64) -> abi::SbxStatus {
    if out.is_null() {
        return abi::ERR_INVALID_ARGUMENT;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    // SAFETY: checked non-NULL; the ABI says it is writable.
    unsafe { *out = nanos };
    abi::OK
}

unsafe extern "C" fn notify_user(_: *mut c_void, msg: *const c_char, len: usize) -> abi::SbxStatus {
    // SAFETY: the ABI's contract on `msg`.
    let Some(msg) = (unsafe { bytes(msg.cast(), len) }) else {
        return abi::ERR_INVALID_ARGUMENT;
    };
    // Shown as it came, control characters and all.
    eprintln!("notification: {}", String::from_utf8_lossy(msg));
    abi::OK
}

fn host_api() -> *const abi::HostApi {
    static TABLE: std::sync::OnceLock<abi::HostApi> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| abi::HostApi {
        config_get,
        storage_get,
        storage_put,
        storage_delete,
        net_request,
        clock_now,
        notify_user,
        ..abi::HostApi::new(log)
    }) as *const abi::HostApi
}

fn set_current(name: &str) {
    *CURRENT.lock().unwrap_or_else(|p| p.into_inner()) = name.to_owned();
}

impl Backend for Bare {
    fn hello(&self) -> HelloResult {
        crate::serve::hello(
            "no isolation (control)",
            vec![
                Feature::Pause,
                Feature::Revoke,
                Feature::Broker,
                Feature::Signatures,
                Feature::TerminationReasons,
                Feature::Audit,
                Feature::Figures,
                Feature::KeyRevocation,
                Feature::Exceptions,
                // A plugin's fault is this host's own (it runs in this process): nothing is
                // left to restart, and nothing bounds what a fault does.
                Feature::Restarts,
                // Taken, and ignored: no binary is checked before it runs.
                Feature::Hardening,
                // The naive update: the old version shut down, the new one loaded in its
                // place, never verified, never compared, never rolled back.
                Feature::Updates,
            ],
        )
    }

    fn load(
        &mut self,
        name: &str,
        path: &str,
        policy: &Policy,
        config: &[u8],
    ) -> Result<Value, ErrorBody> {
        let c_path = CString::new(path).map_err(|_| error(ErrorKind::Invalid, "path holds NUL"))?;
        set_current(name);
        // The configuration of the last load, for every plugin: the suite gives one.
        *CONFIG.lock().unwrap_or_else(|p| p.into_inner()) = policy.config.clone();
        // Lazy binding (a symbol is resolved when used) unless checked.
        let binding = if self.checked {
            libc::RTLD_NOW
        } else {
            libc::RTLD_LAZY
        };
        // SAFETY: loading a plugin into this process is the point of the control: its
        // constructors run here, unconfined.
        let handle = unsafe { libc::dlopen(c_path.as_ptr(), binding | libc::RTLD_LOCAL) };
        if handle.is_null() {
            return Err(error(ErrorKind::Refused, "dlopen failed"));
        }
        let entry = Entry {
            handle,
            output_bytes: policy.limits.output_bytes as usize,
        };
        if self.checked {
            check_exports(handle)?;
        }
        // SAFETY: the symbol is taken to be the ABI's init, as this host takes the plugin's
        // word for everything.
        let init = unsafe {
            std::mem::transmute::<*mut c_void, abi::InitFn>(entry.entry(c"sbx_plugin_init"))
        };
        // SAFETY: the plugin's init with the host table and a buffer valid for the call.
        let status = unsafe { init(host_api(), config.as_ptr(), config.len()) };
        // Unless checked, the status is not looked at.
        if self.checked && status != abi::OK {
            return Err(error(
                ErrorKind::Refused,
                format!("init returned {}", abi::status_name(status)),
            ));
        }
        if self.output.len() < entry.output_bytes {
            self.output.resize(entry.output_bytes, 0);
        }
        self.plugins.insert(name.to_owned(), entry);
        Ok(serde_json::json!({}))
    }

    /// The naive host's package loading: it takes the binary from the package and loads it;
    /// signature and trust store are never looked at.
    fn load_package(
        &mut self,
        name: &str,
        package: &str,
        _trust: &str,
        policy: &Policy,
        config: &[u8],
    ) -> Result<Value, ErrorBody> {
        let path = std::path::Path::new(package).join(sbx_package::PLUGIN_FILE);
        self.load(name, &path.to_string_lossy(), policy, config)
    }

    fn invoke(&mut self, name: &str, method: &str, input: &[u8]) -> Result<Value, ErrorBody> {
        let entry = self
            .plugins
            .get(name)
            .ok_or_else(|| error(ErrorKind::Invalid, format!("no plugin `{name}`")))?;
        set_current(name);
        // SAFETY: the symbol is taken to be the ABI's invoke.
        let invoke = unsafe {
            std::mem::transmute::<*mut c_void, abi::InvokeFn>(entry.entry(c"sbx_plugin_invoke"))
        };
        if self.checked {
            // A fresh buffer for every call.
            self.output.clear();
            self.output.resize(entry.output_bytes, 0);
        }
        let mut cap = entry.output_bytes.min(self.output.len());
        let mut len = 0usize;
        let mut rc;
        loop {
            // SAFETY: every pointer is valid for the call, as the ABI specifies.
            rc = unsafe {
                invoke(
                    method.as_ptr().cast(),
                    method.len(),
                    input.as_ptr(),
                    input.len(),
                    self.output.as_mut_ptr(),
                    cap,
                    &mut len,
                )
            };
            if self.checked || rc != abi::ERR_BUFFER_TOO_SMALL || len <= cap {
                break;
            }
            // Asked for a bigger buffer: given one, of the size asked for.
            self.output.resize(len, 0);
            cap = len;
        }
        if self.checked {
            len = len.min(cap);
        }
        // The length the plugin claims, taken as it is (unless checked).
        let output = if rc == abi::OK {
            &self.output[..len]
        } else {
            &[]
        };
        Ok(invoke_result(rc, output))
    }

    fn pause(&mut self, _: &str) -> Result<Value, ErrorBody> {
        // In-process: nothing to stop without stopping the host itself.
        Ok(serde_json::json!({}))
    }

    fn resume(&mut self, _: &str) -> Result<Value, ErrorBody> {
        Ok(serde_json::json!({}))
    }

    fn unload(&mut self, name: &str) -> Result<Value, ErrorBody> {
        let entry = self
            .plugins
            .remove(name)
            .ok_or_else(|| error(ErrorKind::Invalid, format!("no plugin `{name}`")))?;
        set_current(name);
        // SAFETY: the symbol is taken to be the ABI's shutdown, which takes no argument.
        unsafe {
            std::mem::transmute::<*mut c_void, abi::ShutdownFn>(entry.entry(c"sbx_plugin_shutdown"))(
            )
        };
        Ok(
            serde_json::json!({ "termination": { "reason": "exit", "detail": "shut down in process" } }),
        )
    }

    fn take_events(&mut self) -> Vec<Event> {
        Vec::new()
    }

    /// The naive host's update: it shuts the running version down and loads whatever the
    /// package holds under the same name, its storage as the new version leaves it.
    fn update(
        &mut self,
        name: &str,
        package: &str,
        trust: &str,
        policy: &Policy,
        config: &[u8],
    ) -> Result<Value, ErrorBody> {
        self.unload(name)?;
        self.load_package(name, package, trust, policy, config)
    }

    /// The naive host takes the key's revocation, and stops nothing: it never looked at
    /// who signed what it runs.
    fn revoke_key(&mut self, _: &str) -> Result<Value, ErrorBody> {
        Ok(serde_json::json!({ "stopped": [] }))
    }

    /// The naive host says it audits, and records nothing.
    fn audit(&mut self, _: &str) -> Result<Value, ErrorBody> {
        Ok(serde_json::json!({ "records": [] }))
    }

    /// The naive host counts nothing of what its plugins do.
    fn figures(&mut self, _: &str) -> Result<Value, ErrorBody> {
        Ok(serde_json::to_value(sbx_harness::protocol::Figures::default()).unwrap_or_default())
    }

    /// The naive host acknowledges a revocation and goes on serving: its grants were
    /// never checked, so there is nothing to withdraw.
    fn revoker(&self) -> Option<Revoker> {
        Some(std::sync::Arc::new(|_: &str, _: &str| {
            Ok(serde_json::json!({}))
        }))
    }
}
