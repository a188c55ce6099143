//! Loading the plugin under confinement and serving the host's requests.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::{Mutex, OnceLock};

use sbx_ipc::{Frame, LogLevel, Message};

use crate::abi::{self, SbxStatus};
use crate::channel::{Channel, StreamChannel};
use crate::config::RunnerConfig;
use crate::spawn::CHANNEL_FD;

/// Exit codes of the runner when it cannot serve (each also sent as an `Error` frame first).
pub mod exit_code {
    /// Confinement failed, or strict mode found a layer missing.
    pub const CONFINEMENT: i32 = 70;
    /// The plugin could not be loaded (dlopen, missing symbol, wrong ABI version).
    pub const LOAD: i32 = 71;
    /// The channel failed or the host sent something the runner cannot process.
    pub const CHANNEL: i32 = 72;
    /// The runner was started with a bad configuration.
    pub const USAGE: i32 = 64;
}

/// The channel, shared between the serve loop and host API calls from plugin threads.
static CHANNEL: OnceLock<Mutex<StreamChannel>> = OnceLock::new();

/// Takes ownership of fd 3 as the channel. Call once.
pub fn open_channel() -> std::io::Result<()> {
    // SAFETY: fd 3 was placed by the host for this process and nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(CHANNEL_FD) };
    let chan = StreamChannel::new(fd)?;
    CHANNEL
        .set(Mutex::new(chan))
        .map_err(|_| std::io::Error::other("channel opened twice"))
}

/// Sends a frame; `false` when the channel is gone.
pub fn send(request_id: u64, message: Message) -> bool {
    let Some(chan) = CHANNEL.get() else {
        return false;
    };
    let mut chan = chan.lock().unwrap_or_else(|p| p.into_inner());
    chan.send(
        &Frame {
            request_id,
            message,
        },
        None,
    )
    .is_ok()
}

fn recv() -> Option<Frame> {
    let chan = CHANNEL.get()?;
    let mut chan = chan.lock().unwrap_or_else(|p| p.into_inner());
    chan.recv(None).ok()
}

/// Sends an error frame and exits with `code`.
pub fn fail(code: i32, message: String) -> ! {
    send(
        0,
        Message::Error {
            code: abi::ERR_INTERNAL,
            message,
        },
    );
    std::process::exit(code)
}

/// Entry points resolved from a loaded plugin.
struct Plugin {
    init: abi::InitFn,
    invoke: abi::InvokeFn,
    shutdown: abi::ShutdownFn,
}

/// dlopen()s the plugin (its constructors run now, under confinement) and checks its ABI.
fn load(cfg: &RunnerConfig) -> Result<(Plugin, u32), String> {
    let path = super::confine::c_path(&cfg.plugin).ok_or("plugin path contains NUL")?;
    // SAFETY: dlopen of an untrusted object: its constructors run here, confined by
    // everything `confine` installed. RTLD_NOW resolves every symbol now, not mid-call.
    let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err(format!("dlopen: {}", dl_error()));
    }
    let sym = |name: &CStr| {
        // SAFETY: dlsym on a live handle with a NUL-terminated name.
        let p = unsafe { libc::dlsym(handle, name.as_ptr()) };
        if p.is_null() {
            Err(format!("missing symbol {}", name.to_string_lossy()))
        } else {
            Ok(p)
        }
    };
    let version_ptr = sym(c"sbx_plugin_abi_version")?;
    // SAFETY: the ABI declares this symbol a `const uint32_t`; reading 4 bytes from a data
    // symbol of the loaded object. A hostile plugin may make it anything: only the value is used.
    let version = unsafe { version_ptr.cast::<u32>().read_unaligned() };
    if version != abi::ABI_VERSION {
        return Err(format!(
            "plugin ABI version {version}, this runner speaks {}",
            abi::ABI_VERSION
        ));
    }
    // SAFETY: the ABI declares these symbols functions with exactly these signatures.
    let plugin = unsafe {
        Plugin {
            init: std::mem::transmute::<*mut c_void, abi::InitFn>(sym(c"sbx_plugin_init")?),
            invoke: std::mem::transmute::<*mut c_void, abi::InvokeFn>(sym(c"sbx_plugin_invoke")?),
            shutdown: std::mem::transmute::<*mut c_void, abi::ShutdownFn>(sym(
                c"sbx_plugin_shutdown",
            )?),
        }
    };
    Ok((plugin, version))
}

fn dl_error() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated string valid until the next dl call.
    unsafe {
        let e = libc::dlerror();
        if e.is_null() {
            "unknown error".into()
        } else {
            CStr::from_ptr(e).to_string_lossy().into_owned()
        }
    }
}

/// Loads the plugin, tightens seccomp, announces it, and serves until shutdown.
pub fn load_and_serve(cfg: &RunnerConfig, plugin_stage: Option<seccompiler::BpfProgram>) -> ! {
    let (plugin, version) = match load(cfg) {
        Ok(p) => p,
        Err(e) => fail(exit_code::LOAD, e),
    };
    // The loader's extra rights (open, map executable, install filters) end here, on every
    // thread: a constructor may have started threads (TSYNC fails if one of them installed a
    // filter of its own, which is then fatal too).
    if let Some(filter) = plugin_stage
        && let Err(e) = seccompiler::apply_filter_all_threads(&filter)
    {
        fail(exit_code::CONFINEMENT, format!("seccomp plugin stage: {e}"));
    }
    if !send(
        0,
        Message::Loaded {
            abi_version: version,
        },
    ) {
        std::process::exit(exit_code::CHANNEL);
    }
    let mut output = vec![0u8; cfg.limits.output_bytes as usize];
    // The ABI promises shutdown only to a plugin whose init succeeded.
    let mut initialized = false;
    loop {
        let Some(frame) = recv() else {
            // The host closed the channel or spoke garbage: nothing left to serve.
            std::process::exit(exit_code::CHANNEL);
        };
        let id = frame.request_id;
        let reply = match frame.message {
            Message::Init { config } => {
                // SAFETY: calling the plugin's init with the static host table and a buffer
                // valid for the duration of the call, as the ABI specifies.
                let rc = unsafe { (plugin.init)(host_api(), config.as_ptr(), config.len()) };
                initialized |= rc == abi::OK;
                status_reply(rc, Vec::new())
            }
            Message::Invoke { method, input } => invoke(&plugin, &method, &input, &mut output),
            Message::Heartbeat => Message::Heartbeat,
            Message::Shutdown => {
                if initialized {
                    // SAFETY: the ABI's shutdown entry point takes no argument.
                    unsafe { (plugin.shutdown)() };
                }
                send(id, Message::Result { output: Vec::new() });
                std::process::exit(0);
            }
            other => Message::Error {
                code: abi::ERR_PROTOCOL,
                message: format!("runner does not accept {}", other.name()),
            },
        };
        if !send(id, reply) {
            std::process::exit(exit_code::CHANNEL);
        }
    }
}

fn invoke(plugin: &Plugin, method: &str, input: &[u8], output: &mut [u8]) -> Message {
    if method.len() > abi::MAX_METHOD_LEN {
        return Message::Error {
            code: abi::ERR_INVALID_ARGUMENT,
            message: format!("method name of {} bytes", method.len()),
        };
    }
    let mut out_len: usize = 0;
    // SAFETY: every pointer is valid for the call: method and input borrowed from the frame,
    // output a buffer of `output.len()` bytes the plugin may write, out_len a local.
    let rc = unsafe {
        (plugin.invoke)(
            method.as_ptr().cast::<c_char>(),
            method.len(),
            input.as_ptr(),
            input.len(),
            output.as_mut_ptr(),
            output.len(),
            &mut out_len,
        )
    };
    if rc == abi::OK && out_len > output.len() {
        // The plugin claims more than the buffer holds: never read past it.
        return Message::Error {
            code: abi::RUNNER_ABI_VIOLATION,
            message: format!(
                "plugin claimed {out_len} output bytes in a buffer of {}",
                output.len()
            ),
        };
    }
    let data = if rc == abi::OK {
        output[..out_len].to_vec()
    } else {
        Vec::new()
    };
    status_reply(rc, data)
}

fn status_reply(rc: SbxStatus, output: Vec<u8>) -> Message {
    // The runner's own code must not be forgeable by a plugin's return value.
    let rc = if rc == abi::RUNNER_ABI_VIOLATION {
        abi::ERR_INTERNAL
    } else {
        rc
    };
    if rc == abi::OK {
        Message::Result { output }
    } else {
        Message::Error {
            code: rc,
            message: abi::status_name(rc).to_owned(),
        }
    }
}

// ---- the host API table -------------------------------------------------------------

unsafe extern "C" fn host_log(
    _ctx: *mut c_void,
    level: c_int,
    msg: *const c_char,
    len: usize,
) -> SbxStatus {
    let level = match level {
        0 => LogLevel::Error,
        1 => LogLevel::Warn,
        2 => LogLevel::Info,
        3 => LogLevel::Debug,
        _ => return abi::ERR_INVALID_ARGUMENT,
    };
    if len > abi::MAX_LOG_LEN || (msg.is_null() && len > 0) {
        return abi::ERR_INVALID_ARGUMENT;
    }
    let bytes = if len == 0 {
        &[][..]
    } else {
        // SAFETY: the ABI says `msg` points to `len` readable bytes for the call; a plugin that
        // lies can only fault its own process.
        unsafe { std::slice::from_raw_parts(msg.cast::<u8>(), len) }
    };
    let message = String::from_utf8_lossy(bytes).into_owned();
    if send(0, Message::Log { level, message }) {
        abi::OK
    } else {
        abi::ERR_PROTOCOL
    }
}

fn host_api() -> *const abi::HostApi {
    static TABLE: OnceLock<abi::HostApi> = OnceLock::new();
    TABLE.get_or_init(|| abi::HostApi::new(host_log)) as *const abi::HostApi
}
