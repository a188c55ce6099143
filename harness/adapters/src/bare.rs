//! The no-isolation control: plugins are loaded with `dlopen` into this very process, as a
//! host without a sandbox would do. It checks the ABI like any careful host, and nothing
//! else: no process boundary, no filter, no limit, no deadline. Its host services are the
//! naive ones such a host writes: storage keys used as file names under `storage/`, no
//! quota, `net_request` to whatever the plugin names, grants not checked; and it takes a
//! signed package's binary without looking at the signature. Its run shows that each
//! hostile plugin really does harm when nothing confines it.

use std::collections::BTreeMap;
use std::ffi::{CString, c_char, c_int, c_void};
use std::sync::Mutex;

use sbx_harness::protocol::{
    ErrorBody, ErrorKind, Event, Feature, HelloResult, PROTOCOL_VERSION, Policy,
};
use sbx_sandbox::abi;
use serde_json::Value;

use crate::serve::{Backend, Revoker, error, invoke_result, write_line};

/// The plugin whose entry point runs now, for log records (a host call names no plugin).
static CURRENT: Mutex<String> = Mutex::new(String::new());

/// Makes descriptor 3 another name for stdout, the host's channel: plugins that attack "the
/// channel descriptor" then attack this host's real channel, as they would in a naive host.
pub fn claim_channel_descriptor() {
    // SAFETY: dup2 of our own stdout onto a descriptor nothing in this process uses.
    unsafe { libc::dup2(1, 3) };
}

struct Entry {
    init: abi::InitFn,
    invoke: abi::InvokeFn,
    shutdown: abi::ShutdownFn,
    output_bytes: usize,
    initialized: bool,
}

/// The control adapter.
#[derive(Default)]
pub struct Bare {
    plugins: BTreeMap<String, Entry>,
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
    let event = Event::Log {
        plugin,
        level: level.to_string(),
        message: String::from_utf8_lossy(bytes).into_owned(),
    };
    write_line(&serde_json::to_string(&event).unwrap_or_default());
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

unsafe extern "C" fn storage_get(
    _: *mut c_void,
    key: *const c_char,
    key_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> abi::SbxStatus {
    // SAFETY: the ABI's contract on `key`.
    let Some(key) = (unsafe { bytes(key.cast(), key_len) }) else {
        return abi::ERR_INVALID_ARGUMENT;
    };
    match std::fs::read(storage_path(key)) {
        // SAFETY: the ABI's contract on `out` and `out_len`.
        Ok(value) => unsafe { answer(&value, out, out_cap, out_len) },
        Err(_) => abi::ERR_NOT_FOUND,
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
    match std::fs::write(path, value) {
        Ok(()) => abi::OK,
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
    // No configuration to give: `config_get` stays the table's default (unavailable).
    TABLE.get_or_init(|| abi::HostApi {
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
        HelloResult {
            name: "no isolation (control)".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            protocol: PROTOCOL_VERSION,
            features: vec![
                Feature::Pause,
                Feature::Revoke,
                Feature::Broker,
                Feature::Signatures,
                Feature::TerminationReasons,
                Feature::Audit,
            ],
        }
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
        // SAFETY: loading a plugin into this process is the point of the control: its
        // constructors run here, unconfined.
        let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if handle.is_null() {
            return Err(error(ErrorKind::Refused, "dlopen failed"));
        }
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
        // SAFETY: the ABI declares these symbols functions with exactly these signatures.
        let mut entry = unsafe {
            Entry {
                init: std::mem::transmute::<*mut c_void, abi::InitFn>(sym(c"sbx_plugin_init")?),
                invoke: std::mem::transmute::<*mut c_void, abi::InvokeFn>(sym(
                    c"sbx_plugin_invoke",
                )?),
                shutdown: std::mem::transmute::<*mut c_void, abi::ShutdownFn>(sym(
                    c"sbx_plugin_shutdown",
                )?),
                output_bytes: policy.limits.output_bytes as usize,
                initialized: false,
            }
        };
        // SAFETY: the plugin's init with the host table and a buffer valid for the call.
        let rc = unsafe { (entry.init)(host_api(), config.as_ptr(), config.len()) };
        if rc != abi::OK {
            return Err(error(
                ErrorKind::Refused,
                format!("init returned {}", abi::status_name(rc)),
            ));
        }
        entry.initialized = true;
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
        let mut output = vec![0u8; entry.output_bytes];
        let mut len = 0usize;
        // SAFETY: every pointer is valid for the call, as the ABI specifies.
        let rc = unsafe {
            (entry.invoke)(
                method.as_ptr().cast(),
                method.len(),
                input.as_ptr(),
                input.len(),
                output.as_mut_ptr(),
                output.len(),
                &mut len,
            )
        };
        let len = len.min(output.len());
        Ok(invoke_result(
            rc,
            if rc == abi::OK { &output[..len] } else { &[] },
        ))
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
        if entry.initialized {
            // SAFETY: the ABI's shutdown entry point takes no argument.
            unsafe { (entry.shutdown)() };
        }
        Ok(
            serde_json::json!({ "termination": { "reason": "exit", "detail": "shut down in process" } }),
        )
    }

    fn take_events(&mut self) -> Vec<Event> {
        Vec::new()
    }

    /// The naive host says it audits, and records nothing.
    fn audit(&mut self, _: &str) -> Result<Value, ErrorBody> {
        Ok(serde_json::json!({ "records": [] }))
    }

    /// The naive host acknowledges a revocation and goes on serving: its grants were
    /// never checked, so there is nothing to withdraw.
    fn revoker(&self) -> Option<Revoker> {
        Some(std::sync::Arc::new(|_: &str, _: &str| {
            Ok(serde_json::json!({}))
        }))
    }
}
