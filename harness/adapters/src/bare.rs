//! The no-isolation control: plugins are loaded with `dlopen` into this very process, as a
//! host without a sandbox would do. It checks the ABI like any careful host, and nothing
//! else: no process boundary, no filter, no limit, no deadline. Its run shows that each
//! hostile plugin really does harm when nothing confines it.

use std::collections::BTreeMap;
use std::ffi::{CString, c_char, c_int, c_void};
use std::sync::Mutex;

use sbx_harness::protocol::{
    ErrorBody, ErrorKind, Event, Feature, HelloResult, PROTOCOL_VERSION, Policy,
};
use sbx_sandbox::abi;
use serde_json::Value;

use crate::serve::{Backend, error, invoke_result, write_line};

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

fn host_api() -> *const abi::HostApi {
    static TABLE: std::sync::OnceLock<abi::HostApi> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| abi::HostApi::new(log)) as *const abi::HostApi
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
            features: vec![Feature::Pause, Feature::TerminationReasons],
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
}
