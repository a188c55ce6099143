//! Loading the plugin under confinement and serving the host's requests.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use sbx_ipc::host_call::{self, HostRequest};
use sbx_ipc::{Frame, LogLevel, Message};

use sbx_contract::abi::{self, SbxStatus};
use sbx_contract::channel::{Channel, StreamChannel};
use sbx_contract::config::RunnerConfig;
use sbx_contract::exit_code;
use sbx_contract::fds::{CHANNEL_FD, LIVENESS_FD, RING_FD};
use sbx_contract::ring::{RingChannel, SharedRing, Side};

use crate::window::Window;

/// The channel, shared between the serve loop and host API calls from plugin threads: the
/// socket, and in the low-latency mode the ring from `Loaded` on.
static CHANNEL: OnceLock<Mutex<RingChannel>> = OnceLock::new();

/// Takes ownership of descriptor `fd`, which the host places before exec (`what` it is, for
/// the error). Call once per descriptor.
fn take_placed(fd: i32, what: &str) -> std::io::Result<OwnedFd> {
    // A runner started by hand has nothing there: owning it would close a descriptor that
    // is not open, which Rust's I/O safety turns into an abort.
    // SAFETY: F_GETFD only reads the descriptor's flags; no memory is passed.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotConnected,
            format!("no {what} on descriptor {fd}: the host starts sbx-runner"),
        ));
    }
    // SAFETY: the host placed `fd` for this process, and no other code takes it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Takes ownership of fd 3 as the channel. Call once.
pub fn open_channel() -> std::io::Result<()> {
    let stream = StreamChannel::new(take_placed(CHANNEL_FD, "channel")?)?;
    CHANNEL
        .set(Mutex::new(RingChannel::new(stream, None, Side::Runner)))
        .map_err(|_| std::io::Error::other("channel opened twice"))
}

/// Maps the low-latency mode's ring memory (descriptor 8, rings of `capacity` bytes) into
/// the channel and closes the descriptor: the mapping is all the process keeps of it. Before
/// the confinement, which closes every descriptor it was not told of.
pub fn attach_ring(capacity: u32) -> std::io::Result<()> {
    let fd = take_placed(RING_FD, "ring memory")?;
    let ring = SharedRing::map(fd.as_fd(), capacity)?;
    with_channel(|chan| chan.attach(ring))
        .ok_or_else(|| std::io::Error::other("no channel to give the ring"))
}

/// Answers the host's liveness beats (`LIVENESS_FD`) from a thread of its own, so that they
/// are answered while the main thread is inside the plugin too: each byte read is written
/// back. The thread ends when the host closes its end. The plugin shares the process and can
/// stop it; the host then sees a runner that answers nothing, which is what it is.
pub fn answer_liveness_beats() -> std::io::Result<()> {
    use std::io::{Read, Write};
    let mut socket = std::fs::File::from(take_placed(LIVENESS_FD, "liveness socket")?);
    // Unnamed: naming a thread is a prctl the filter refuses.
    std::thread::Builder::new()
        // A read, a write and a byte buffer: the smallest stack the C library allows
        // (the default would be 8 MiB of the plugin's address space).
        .stack_size(64 * 1024)
        .spawn(move || {
            let mut buf = [0u8; 64];
            while let Ok(n) = socket.read(&mut buf) {
                if n == 0 || socket.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        })
        .map(drop)
}

/// `f` with the channel held; `None` when it was never opened.
fn with_channel<T>(f: impl FnOnce(&mut RingChannel) -> T) -> Option<T> {
    let chan = CHANNEL.get()?;
    let mut chan = chan.lock().unwrap_or_else(|p| p.into_inner());
    Some(f(&mut chan))
}

/// Sends a frame; `false` when the channel is gone.
pub fn send(request_id: u64, message: Message) -> bool {
    let frame = Frame {
        request_id,
        message,
    };
    with_channel(|chan| chan.send(&frame, None).is_ok()).unwrap_or(false)
}

/// Sends a frame with descriptor `fd` passed along, then closes this process's copy of it;
/// `false` when the channel is gone.
pub fn send_passing(request_id: u64, message: Message, fd: OwnedFd) -> bool {
    let frame = Frame {
        request_id,
        message,
    };
    with_channel(|chan| chan.stream().send_passing(&frame, fd.as_fd(), None).is_ok())
        .unwrap_or(false)
}

fn recv() -> Option<Frame> {
    with_channel(|chan| chan.recv(None).ok()).flatten()
}

/// Sends the host an error frame (the runner's own failure), if the channel is there.
fn send_error(message: String) {
    send(
        0,
        Message::Error {
            code: abi::ERR_INTERNAL,
            message,
        },
    );
}

/// Sends an error frame and exits with `code`.
pub fn fail(code: i32, message: String) -> ! {
    send_error(message);
    std::process::exit(code)
}

/// Sends an error frame, then waits until the host closes the channel (or ends this
/// process) and exits with `code`. For a failure the plugin may have caused after the host
/// stopped answering the loader's calls (a `Loaded` it forged ends them): the host, not a
/// race with this process's own exit, decides how it ended.
fn fail_and_wait(code: i32, message: String) -> ! {
    send_error(message);
    while recv().is_some() {}
    std::process::exit(code)
}

/// Entry points resolved from a loaded plugin.
struct Plugin {
    init: abi::InitFn,
    invoke: abi::InvokeFn,
    shutdown: abi::ShutdownFn,
}

/// Finds the object that holds `symbol` (the plugin) and tells the SIGSYS handler where it
/// is loaded and where its executable segments lie.
fn record_plugin_image(symbol: *mut libc::c_void) {
    /// The object searched for, and what is found of it.
    struct Search {
        base: u64,
        text: (u64, u64),
    }
    extern "C" fn each(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: dl_iterate_phdr passes a valid info for each object, and `data` is the
        // `Search` it was given.
        let (info, search) = unsafe { (&*info, &mut *data.cast::<Search>()) };
        if info.dlpi_addr != search.base || info.dlpi_phdr.is_null() {
            return 0;
        }
        // SAFETY: dlpi_phdr points to dlpi_phnum program headers of the object.
        let headers = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum.into()) };
        for h in headers
            .iter()
            .filter(|h| h.p_type == libc::PT_LOAD && h.p_flags & libc::PF_X != 0)
        {
            let start = info.dlpi_addr + h.p_vaddr;
            let end = start + h.p_memsz;
            search.text = if search.text.1 == 0 {
                (start, end)
            } else {
                (search.text.0.min(start), search.text.1.max(end))
            };
        }
        1
    }
    // SAFETY: Dl_info is plain data (pointers and integers): all zeroes is a valid value.
    let mut found: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr with a symbol address of a loaded object and an out-struct it fills.
    if unsafe { libc::dladdr(symbol, &mut found) } == 0 {
        return;
    }
    // The load bias dl_iterate_phdr reports is the base dladdr gives less the object's
    // first segment's address, which is 0 for a shared object.
    let mut search = Search {
        base: found.dli_fbase as u64,
        text: (0, 0),
    };
    // SAFETY: the callback only reads what it is passed and writes `search`, which outlives
    // the call.
    unsafe { libc::dl_iterate_phdr(Some(each), (&mut search as *mut Search).cast()) };
    if search.text.1 != 0 {
        super::violation::set_plugin_image(search.base, search.text);
    }
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
    // For the development mode's reports: where the plugin's code lies.
    if cfg.development
        && let Ok(invoke) = sym(c"sbx_plugin_invoke")
    {
        record_plugin_image(invoke);
    }
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

/// Waits for the host's `Load`: the first frame of a warm spare's channel. Anything else,
/// or a channel that closes, ends the runner before any byte of the plugin runs.
pub fn await_load() {
    match recv() {
        Some(Frame {
            message: Message::Load,
            ..
        }) => {}
        Some(other) => fail(
            exit_code::CHANNEL,
            format!("expected Load, got {}", other.message.name()),
        ),
        None => std::process::exit(exit_code::CHANNEL),
    }
}

/// Loads the plugin, tightens seccomp, announces it, and serves until shutdown.
pub fn load_and_serve(cfg: &RunnerConfig, plugin_stage: Option<Vec<seccompiler::BpfProgram>>) -> ! {
    SERIALISED_HOST_CALLS.store(cfg.layers.serialised_host_calls, Ordering::SeqCst);
    let (plugin, version) = match load(cfg) {
        Ok(p) => p,
        Err(e) => fail(exit_code::LOAD, e),
    };
    if cfg.plugin_fd {
        // The loader has mapped the sealed plugin; the descriptor itself is not the plugin's.
        // SAFETY: closing descriptor 6, which the host placed for loading and nothing owns.
        unsafe { libc::close(sbx_contract::fds::PLUGIN_FD) };
    }
    // The loader's extra rights (open, map executable, install filters) end here, on every
    // thread: a constructor may have started threads (TSYNC fails if one of them installed a
    // filter of its own, which is then fatal too).
    for filter in plugin_stage.iter().flatten() {
        if let Err(e) = seccompiler::apply_filter_all_threads(filter) {
            fail_and_wait(exit_code::CONFINEMENT, format!("seccomp plugin stage: {e}"));
        }
    }
    // The host takes the fast path once it has `Loaded`; so does this side once it is sent,
    // under the same hold of the channel, so no frame of a plugin thread falls between.
    let loaded = Frame {
        request_id: 0,
        message: Message::Loaded {
            abi_version: version,
        },
    };
    let sent = with_channel(|chan| {
        let sent = chan.send(&loaded, None).is_ok();
        chan.start_fast_path();
        sent
    });
    if sent != Some(true) {
        std::process::exit(exit_code::CHANNEL);
    }
    // Inline outputs: at most what a frame carries. A larger output bound is served in the
    // payload window, which the host then uses for every call.
    let inline_cap = u64::from(cfg.limits.output_bytes).min(sbx_contract::config::MAX_FRAME_OUTPUT);
    let mut output = vec![0u8; inline_cap as usize];
    // Mapped at the first call through it: a plugin that never needs it keeps its address
    // space whole.
    let mut window: Option<Window> = None;
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
                let rc = in_entry(|| unsafe {
                    (plugin.init)(host_api(), config.as_ptr(), config.len())
                });
                initialized |= rc == abi::OK;
                status_reply(rc, Vec::new())
            }
            Message::Invoke { method, input } => {
                in_entry(|| match invoke(&plugin, &method, &input, &mut output) {
                    Ok(len) => status_reply(abi::OK, output[..len].to_vec()),
                    Err(reply) => reply,
                })
            }
            Message::InvokeShared { method, input_len } => {
                invoke_in_window(cfg, &plugin, &method, input_len, &mut window)
            }
            Message::Heartbeat => Message::Heartbeat,
            Message::Shutdown => {
                if initialized {
                    // Shutdown is an entry point too: host services answer during it.
                    // SAFETY: the ABI's shutdown entry point takes no argument.
                    in_entry(|| unsafe { (plugin.shutdown)() });
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

/// A call whose input is in the payload window, and whose output goes there too: a large
/// output stays there (`ResultShared`), a small one travels inline.
fn invoke_in_window(
    cfg: &RunnerConfig,
    plugin: &Plugin,
    method: &str,
    input_len: u32,
    window: &mut Option<Window>,
) -> Message {
    let refused = |code, message: String| Message::Error { code, message };
    if cfg.payload_window == 0 {
        return refused(
            abi::ERR_PROTOCOL,
            "this runner has no payload window".into(),
        );
    }
    let w = match window {
        Some(w) => w,
        None => match Window::map(cfg.payload_window) {
            Ok(mapped) => window.insert(mapped),
            Err(e) => return refused(abi::ERR_INTERNAL, format!("payload window: {e}")),
        },
    };
    let cap = (cfg.limits.output_bytes as usize).min(w.half());
    let Some((input, output)) = w.buffers(input_len as usize, cap) else {
        return refused(
            abi::ERR_INVALID_ARGUMENT,
            format!("an input of {input_len} bytes in a window of {}", w.half()),
        );
    };
    match in_entry(|| invoke(plugin, method, input, output)) {
        Ok(len) if len > sbx_ipc::INLINE_MAX => Message::ResultShared {
            // len <= cap <= the half, whose size the host named in 32 bits.
            output_len: len as u32,
        },
        Ok(len) => status_reply(abi::OK, output[..len].to_vec()),
        Err(reply) => reply,
    }
}

/// Calls the plugin's invoke: the length of its output, or the reply that says why there
/// is none.
fn invoke(
    plugin: &Plugin,
    method: &str,
    input: &[u8],
    output: &mut [u8],
) -> Result<usize, Message> {
    if method.len() > abi::MAX_METHOD_LEN {
        return Err(Message::Error {
            code: abi::ERR_INVALID_ARGUMENT,
            message: format!("method name of {} bytes", method.len()),
        });
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
        return Err(Message::Error {
            code: abi::RUNNER_ABI_VIOLATION,
            message: format!(
                "plugin claimed {out_len} output bytes in a buffer of {}",
                output.len()
            ),
        });
    }
    if rc == abi::OK {
        Ok(out_len)
    } else {
        Err(status_reply(rc, Vec::new()))
    }
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
//
// `log` is one frame with no answer. Every other service is a round trip: a `HostCall`
// frame and the host's `HostReply`, made while holding the channel lock so that concurrent
// plugin threads each get their own answer. The runner checks only what it must to read the
// plugin's arguments safely (pointers, lengths); what is *allowed* is decided by the host's
// broker, which trusts nothing the runner sends.

/// Set while an entry point (init, invoke) runs. Host services answer only then: outside a
/// call the host is not reading the channel, and a stray reply wait would steal the next
/// request.
static IN_ENTRY: AtomicBool = AtomicBool::new(false);

/// A host call holds the channel from its request to its reply ([`Layers`]'s
/// `serialised_host_calls`; off only in the conformance mutant that shows why it is on).
///
/// [`Layers`]: sbx_contract::config::Layers
static SERIALISED_HOST_CALLS: AtomicBool = AtomicBool::new(true);

/// The `ctx` value handed to the plugin; any other value is a forged context.
static CTX_TOKEN: u8 = 0;

/// Request id of host calls (they are paired by the channel lock, not by id).
const HOST_CALL_ID: u64 = 0;

fn ctx_ok(ctx: *mut c_void) -> bool {
    std::ptr::eq(ctx.cast_const(), (&raw const CTX_TOKEN).cast::<c_void>())
}

/// Runs an entry point with host services enabled.
fn in_entry<T>(f: impl FnOnce() -> T) -> T {
    IN_ENTRY.store(true, Ordering::SeqCst);
    let r = f();
    IN_ENTRY.store(false, Ordering::SeqCst);
    r
}

/// One round trip to the host's broker.
fn host_call(request: &HostRequest) -> (SbxStatus, Vec<u8>) {
    let Some(chan) = CHANNEL.get() else {
        return (abi::ERR_PROTOCOL, Vec::new());
    };
    let mut chan = chan.lock().unwrap_or_else(|p| p.into_inner());
    // Checked under the lock: the serve loop clears it before it takes the lock to send the
    // entry point's reply, so the host is still serving host calls while this holds.
    if !IN_ENTRY.load(Ordering::SeqCst) {
        return (abi::ERR_PROTOCOL, Vec::new());
    }
    let frame = Frame {
        request_id: HOST_CALL_ID,
        message: Message::HostCall {
            service: request.service() as u16,
            payload: request.encode(),
        },
    };
    if chan.send(&frame, None).is_err() {
        std::process::exit(exit_code::CHANNEL);
    }
    if !SERIALISED_HOST_CALLS.load(Ordering::SeqCst) {
        // The mutant's defect: the channel is let go between request and reply, and the
        // next reply goes to whichever thread takes it first.
        drop(chan);
        std::thread::yield_now();
        chan = CHANNEL
            .get()
            .map(|c| c.lock().unwrap_or_else(|p| p.into_inner()))
            .unwrap_or_else(|| std::process::exit(exit_code::CHANNEL));
    }
    match chan.recv(None) {
        Ok(Frame {
            message: Message::HostReply { status, payload },
            ..
        }) => (status, payload),
        // The host answers a host call with its reply and nothing else.
        _ => std::process::exit(exit_code::CHANNEL),
    }
}

/// Borrows `len` plugin bytes at `ptr`; `None` for NULL with a length or a length over `max`.
///
/// # Safety
/// `ptr` must point to `len` readable bytes for the duration of the borrow, as the ABI
/// requires of the plugin; a plugin that lies can only fault its own process.
unsafe fn plugin_bytes<'a>(ptr: *const u8, len: usize, max: usize) -> Option<&'a [u8]> {
    if len > max || (ptr.is_null() && len > 0) {
        return None;
    }
    if len == 0 {
        return Some(&[]);
    }
    // SAFETY: non-NULL, bounded by `max`, readable per the caller's contract.
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Copies a buffer answer into the plugin's out-buffer, or reports the size needed.
///
/// # Safety
/// `out` must be writable for `out_cap` bytes and `out_len` writable, per the ABI.
unsafe fn deliver(
    (status, payload): (SbxStatus, Vec<u8>),
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> SbxStatus {
    match status {
        abi::OK if payload.len() <= out_cap => {
            if !payload.is_empty() {
                // SAFETY: `out` is non-NULL (checked by the caller when out_cap > 0) and holds
                // `out_cap >= payload.len()` bytes.
                unsafe { std::ptr::copy_nonoverlapping(payload.as_ptr(), out, payload.len()) };
            }
            // SAFETY: checked non-NULL by the caller.
            unsafe { *out_len = payload.len() };
            abi::OK
        }
        // The host never sends more than asked; treat it as a broken channel answer.
        abi::OK => abi::ERR_PROTOCOL,
        abi::ERR_BUFFER_TOO_SMALL => {
            if let Some(needed) = host_call::decode_needed(&payload) {
                // SAFETY: checked non-NULL by the caller.
                unsafe { *out_len = needed as usize };
            }
            abi::ERR_BUFFER_TOO_SMALL
        }
        other => other,
    }
}

unsafe extern "C" fn host_log(
    ctx: *mut c_void,
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
    if !ctx_ok(ctx) {
        return abi::ERR_INVALID_ARGUMENT;
    }
    // SAFETY: the ABI says `msg` points to `len` readable bytes for the call.
    let Some(bytes) = (unsafe { plugin_bytes(msg.cast(), len, abi::MAX_LOG_LEN) }) else {
        return abi::ERR_INVALID_ARGUMENT;
    };
    let message = String::from_utf8_lossy(bytes).into_owned();
    if send(0, Message::Log { level, message }) {
        abi::OK
    } else {
        abi::ERR_PROTOCOL
    }
}

/// The shared shape of `config_get` and `storage_get`.
///
/// # Safety
/// The ABI's contract on the plugin's pointers.
unsafe fn get(
    ctx: *mut c_void,
    key: *const c_char,
    key_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
    storage: bool,
) -> SbxStatus {
    if !ctx_ok(ctx) || out_len.is_null() || (out.is_null() && out_cap > 0) {
        return abi::ERR_INVALID_ARGUMENT;
    }
    // SAFETY: the ABI's contract on `key`.
    let Some(key) = (unsafe { plugin_bytes(key.cast(), key_len, abi::MAX_KEY_LEN) }) else {
        return abi::ERR_INVALID_ARGUMENT;
    };
    let key = key.to_vec();
    let cap = out_cap.min(host_call::MAX_VALUE_LEN) as u32;
    let request = if storage {
        HostRequest::StorageGet { key, out_cap: cap }
    } else {
        HostRequest::ConfigGet { key, out_cap: cap }
    };
    // SAFETY: `out` holds `out_cap` bytes and `out_len` is non-NULL (checked above).
    unsafe { deliver(host_call(&request), out, out_cap, out_len) }
}

unsafe extern "C" fn host_config_get(
    ctx: *mut c_void,
    key: *const c_char,
    key_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> SbxStatus {
    // SAFETY: forwarded under the same contract.
    unsafe { get(ctx, key, key_len, out, out_cap, out_len, false) }
}

unsafe extern "C" fn host_storage_get(
    ctx: *mut c_void,
    key: *const c_char,
    key_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> SbxStatus {
    // SAFETY: forwarded under the same contract.
    unsafe { get(ctx, key, key_len, out, out_cap, out_len, true) }
}

unsafe extern "C" fn host_storage_put(
    ctx: *mut c_void,
    key: *const c_char,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> SbxStatus {
    if !ctx_ok(ctx) {
        return abi::ERR_INVALID_ARGUMENT;
    }
    // SAFETY: the ABI's contract on `key` and `value`.
    let (Some(key), Some(value)) = (unsafe {
        (
            plugin_bytes(key.cast(), key_len, abi::MAX_KEY_LEN),
            plugin_bytes(value, value_len, host_call::MAX_VALUE_LEN),
        )
    }) else {
        return abi::ERR_INVALID_ARGUMENT;
    };
    let request = HostRequest::StoragePut {
        key: key.to_vec(),
        value: value.to_vec(),
    };
    host_call(&request).0
}

unsafe extern "C" fn host_storage_delete(
    ctx: *mut c_void,
    key: *const c_char,
    key_len: usize,
) -> SbxStatus {
    if !ctx_ok(ctx) {
        return abi::ERR_INVALID_ARGUMENT;
    }
    // SAFETY: the ABI's contract on `key`.
    let Some(key) = (unsafe { plugin_bytes(key.cast(), key_len, abi::MAX_KEY_LEN) }) else {
        return abi::ERR_INVALID_ARGUMENT;
    };
    host_call(&HostRequest::StorageDelete { key: key.to_vec() }).0
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn host_net_request(
    ctx: *mut c_void,
    dest: *const c_char,
    dest_len: usize,
    req: *const u8,
    req_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> SbxStatus {
    if !ctx_ok(ctx) || out_len.is_null() || (out.is_null() && out_cap > 0) {
        return abi::ERR_INVALID_ARGUMENT;
    }
    // SAFETY: the ABI's contract on `dest` and `req`.
    let (Some(dest), Some(req)) = (unsafe {
        (
            plugin_bytes(dest.cast(), dest_len, abi::MAX_KEY_LEN * 2),
            plugin_bytes(req, req_len, host_call::MAX_VALUE_LEN),
        )
    }) else {
        return abi::ERR_INVALID_ARGUMENT;
    };
    let request = HostRequest::NetRequest {
        dest: dest.to_vec(),
        request: req.to_vec(),
        out_cap: out_cap.min(host_call::MAX_VALUE_LEN) as u32,
    };
    // SAFETY: `out` holds `out_cap` bytes and `out_len` is non-NULL (checked above).
    unsafe { deliver(host_call(&request), out, out_cap, out_len) }
}

unsafe extern "C" fn host_clock_now(ctx: *mut c_void, unix_nanos: *mut u64) -> SbxStatus {
    if !ctx_ok(ctx) || unix_nanos.is_null() {
        return abi::ERR_INVALID_ARGUMENT;
    }
    let (status, payload) = host_call(&HostRequest::ClockNow);
    match (status, host_call::decode_needed(&payload)) {
        (abi::OK, Some(nanos)) => {
            // SAFETY: checked non-NULL; the ABI says it is the plugin's writable u64.
            unsafe { *unix_nanos = nanos };
            abi::OK
        }
        (abi::OK, None) => abi::ERR_PROTOCOL,
        (other, _) => other,
    }
}

unsafe extern "C" fn host_notify_user(
    ctx: *mut c_void,
    msg: *const c_char,
    len: usize,
) -> SbxStatus {
    if !ctx_ok(ctx) {
        return abi::ERR_INVALID_ARGUMENT;
    }
    // SAFETY: the ABI's contract on `msg`.
    let Some(message) = (unsafe { plugin_bytes(msg.cast(), len, abi::MAX_LOG_LEN) }) else {
        return abi::ERR_INVALID_ARGUMENT;
    };
    host_call(&HostRequest::NotifyUser {
        message: message.to_vec(),
    })
    .0
}

unsafe extern "C" fn host_reserved(_: *mut c_void) -> SbxStatus {
    abi::ERR_UNAVAILABLE
}

fn host_api() -> *const abi::HostApi {
    static TABLE: OnceLock<abi::HostApi> = OnceLock::new();
    TABLE.get_or_init(|| abi::HostApi {
        abi_version: abi::ABI_VERSION,
        size: std::mem::size_of::<abi::HostApi>() as u32,
        ctx: (&raw const CTX_TOKEN).cast::<c_void>().cast_mut(),
        log: host_log,
        config_get: host_config_get,
        storage_get: host_storage_get,
        storage_put: host_storage_put,
        storage_delete: host_storage_delete,
        net_request: host_net_request,
        clock_now: host_clock_now,
        notify_user: host_notify_user,
        reserved: [host_reserved; 8],
    }) as *const abi::HostApi
}
