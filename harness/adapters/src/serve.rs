//! The request loop every built-in adapter shares.

use std::io::{BufRead, Write};
use std::sync::{Mutex, OnceLock};

use sbx_harness::protocol::{
    self, ErrorBody, ErrorKind, Event, HelloResult, Op, Policy, Termination,
};
use serde_json::Value;

/// What an adapter does with each operation.
pub trait Backend {
    /// Handshake answer.
    fn hello(&self) -> HelloResult;
    /// Load and initialise.
    fn load(
        &mut self,
        plugin: &str,
        path: &str,
        policy: &Policy,
        config: &[u8],
    ) -> Result<Value, ErrorBody>;
    /// Verify a signed package against the trust store, then load and initialise it. The
    /// default refuses: an adapter without `signatures` has no verifier.
    fn load_package(
        &mut self,
        plugin: &str,
        package: &str,
        trust: &str,
        policy: &Policy,
        config: &[u8],
    ) -> Result<Value, ErrorBody> {
        let _ = (plugin, package, trust, policy, config);
        Err(error(
            ErrorKind::Unsupported,
            "this adapter does not verify signed packages",
        ))
    }
    /// Replace loaded package `plugin` with a new version of it (`update`). The default:
    /// no updates.
    fn update(
        &mut self,
        plugin: &str,
        package: &str,
        trust: &str,
        policy: &Policy,
        config: &[u8],
    ) -> Result<Value, ErrorBody> {
        let _ = (plugin, package, trust, policy, config);
        Err(error(
            ErrorKind::Unsupported,
            "this adapter does not update running plugins",
        ))
    }
    /// Call a method: `{"status", "output_b64"}`.
    fn invoke(&mut self, plugin: &str, method: &str, input: &[u8]) -> Result<Value, ErrorBody>;
    /// Suspend.
    fn pause(&mut self, plugin: &str) -> Result<Value, ErrorBody>;
    /// Continue.
    fn resume(&mut self, plugin: &str) -> Result<Value, ErrorBody>;
    /// Shut down: `{"termination": ...}`.
    fn unload(&mut self, plugin: &str) -> Result<Value, ErrorBody>;
    /// The plugin's records of the audit log: `{"records": [...]}`. The default: none kept.
    fn audit(&mut self, plugin: &str) -> Result<Value, ErrorBody> {
        let _ = plugin;
        Err(error(
            ErrorKind::Unsupported,
            "this adapter keeps no audit log",
        ))
    }
    /// The sandbox's counts of a loaded plugin since its load ([`protocol::Figures`]). The
    /// default: none kept.
    fn figures(&mut self, plugin: &str) -> Result<Value, ErrorBody> {
        let _ = plugin;
        Err(error(
            ErrorKind::Unsupported,
            "this adapter keeps no figures of its plugins",
        ))
    }
    /// What the sandbox says of a loaded plugin ([`protocol::Inventory`]). The default: no
    /// inventory kept.
    fn inventory(&mut self, plugin: &str) -> Result<Value, ErrorBody> {
        let _ = plugin;
        Err(error(
            ErrorKind::Unsupported,
            "this adapter keeps no inventory of its plugins",
        ))
    }
    /// Revokes a publisher key: stops every running plugin it signed, refuses its packages
    /// from now on. `{"stopped": [handles]}`. The default: no key revocation.
    fn revoke_key(&mut self, key: &str) -> Result<Value, ErrorBody> {
        let _ = key;
        Err(error(
            ErrorKind::Unsupported,
            "this adapter does not revoke keys at runtime",
        ))
    }
    /// Events gathered since the last call.
    fn take_events(&mut self) -> Vec<Event>;
    /// What answers `revoke`. It runs on the thread that reads requests, so that a
    /// revocation takes effect while a call is still running; `None`: no broker to revoke.
    fn revoker(&self) -> Option<Revoker> {
        None
    }
    /// What answers `pause` and `resume` that come while a call is pending, on the thread
    /// that reads requests (`pause_during_call`); `None`: they wait for the call, as every
    /// other request does.
    fn pauser(&self) -> Option<Pauser> {
        None
    }
}

/// `then` with the init configuration `config_b64` decodes to, or the error for text that is
/// not base64.
fn with_config(
    config_b64: &str,
    then: impl FnOnce(&[u8]) -> Result<Value, ErrorBody>,
) -> Result<Value, ErrorBody> {
    match protocol::decode_bytes(config_b64) {
        Some(config) => then(&config),
        None => Err(error(ErrorKind::Invalid, "config_b64 is not base64")),
    }
}

/// Pauses (`true`) or resumes (`false`) plugin `plugin` while a call of it is pending;
/// shared with the request reader.
pub type Pauser =
    std::sync::Arc<dyn Fn(&str, bool) -> Result<Value, ErrorBody> + Send + Sync + 'static>;

/// Withdraws capability `capability` of plugin `plugin`; shared with the request reader.
pub type Revoker =
    std::sync::Arc<dyn Fn(&str, &str) -> Result<Value, ErrorBody> + Send + Sync + 'static>;

/// The handshake of an adapter of this build named `name` declaring `features`, its
/// sandbox able to run here.
pub fn hello(name: impl Into<String>, features: Vec<protocol::Feature>) -> HelloResult {
    HelloResult {
        name: name.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        protocol: protocol::PROTOCOL_VERSION,
        features,
        unavailable: None,
    }
}

/// An adapter whose sandbox cannot run on this machine: it says why in its handshake, and
/// every other request is `unsupported`.
pub struct Unavailable {
    /// The sandbox's name, as its adapter would give it.
    pub name: String,
    /// Why it cannot run here.
    pub reason: String,
}

impl Unavailable {
    fn refuse(&self) -> Result<Value, ErrorBody> {
        Err(error(
            ErrorKind::Unsupported,
            format!("{} cannot run here: {}", self.name, self.reason),
        ))
    }
}

impl Backend for Unavailable {
    fn hello(&self) -> HelloResult {
        HelloResult {
            unavailable: Some(self.reason.clone()),
            ..hello(self.name.clone(), Vec::new())
        }
    }

    fn load(&mut self, _: &str, _: &str, _: &Policy, _: &[u8]) -> Result<Value, ErrorBody> {
        self.refuse()
    }

    fn invoke(&mut self, _: &str, _: &str, _: &[u8]) -> Result<Value, ErrorBody> {
        self.refuse()
    }

    fn pause(&mut self, _: &str) -> Result<Value, ErrorBody> {
        self.refuse()
    }

    fn resume(&mut self, _: &str) -> Result<Value, ErrorBody> {
        self.refuse()
    }

    fn unload(&mut self, _: &str) -> Result<Value, ErrorBody> {
        self.refuse()
    }

    fn take_events(&mut self) -> Vec<Event> {
        Vec::new()
    }
}

/// An error body.
pub fn error(kind: ErrorKind, message: impl Into<String>) -> ErrorBody {
    ErrorBody {
        kind,
        message: message.into(),
        termination: None,
    }
}

/// A `terminated` error body.
pub fn terminated(termination: Termination) -> ErrorBody {
    ErrorBody {
        kind: ErrorKind::Terminated,
        message: format!("plugin ended: {}", termination.reason),
        termination: Some(termination),
    }
}

/// An invoke result.
pub fn invoke_result(status: i32, output: &[u8]) -> Value {
    serde_json::json!({ "status": status, "output_b64": protocol::encode_bytes(output) })
}

/// Where protocol lines go: stdout, unless [`set_output`] chose first.
static OUTPUT: OnceLock<Mutex<Box<dyn Write + Send>>> = OnceLock::new();

/// Sends every protocol line to `output` instead of stdout. Call it before the first line
/// is written; only the first call counts.
pub fn set_output(output: Box<dyn Write + Send>) {
    let _ = OUTPUT.set(Mutex::new(output));
}

/// Writes one line to the protocol output (shared with plugin log callbacks, hence the
/// lock), in one write so that a line is never split by another thread's.
pub fn write_line(line: &str) {
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    let output = OUTPUT.get_or_init(|| Mutex::new(Box::new(std::io::stdout())));
    let mut out = output.lock().unwrap_or_else(|p| p.into_inner());
    let _ = out.write_all(&bytes);
    let _ = out.flush();
}

/// Writes the answer to request `id`: its `ok` line or its `error` line.
fn write_answer(id: u64, answer: Result<Value, ErrorBody>) {
    match answer {
        Ok(ok) => write_line(&protocol::ok_line(id, ok)),
        Err(e) => write_line(&protocol::error_line(id, &e)),
    }
}

/// Reads requests on its own thread. `revoke` is answered there at once (it may overlap a
/// pending `invoke`), and so are `pause` and `resume` while an `invoke` is pending when the
/// backend has a [`Pauser`]; every other request goes to the serving loop, in order.
fn read_requests(
    mut input: impl BufRead,
    revoker: Option<Revoker>,
    pauser: Option<Pauser>,
    call_pending: &std::sync::atomic::AtomicBool,
    to_serve: std::sync::mpsc::Sender<protocol::Request>,
) -> std::io::Result<()> {
    loop {
        let line = match protocol::read_line(&mut input)? {
            protocol::ReadLine::Eof => return Ok(()),
            protocol::ReadLine::Line(l) => l,
            protocol::ReadLine::TooLong(n) => {
                let e = error(ErrorKind::Invalid, format!("request line of {n} bytes"));
                write_line(&protocol::error_line(0, &e));
                continue;
            }
        };
        let request = match protocol::parse_request(&line) {
            Ok(r) => r,
            Err(e) => {
                // No id to answer to: id 0 is never used by a harness.
                write_line(&protocol::error_line(
                    0,
                    &error(ErrorKind::Invalid, e.to_string()),
                ));
                continue;
            }
        };
        if let Op::Revoke { plugin, capability } = &request.op {
            let answer = match &revoker {
                Some(revoke) => revoke(plugin, capability),
                None => Err(error(
                    ErrorKind::Unsupported,
                    "this adapter has no capability broker",
                )),
            };
            write_answer(request.id, answer);
            continue;
        }
        let overlapping_pause = match &request.op {
            Op::Pause { plugin } => Some((plugin, true)),
            Op::Resume { plugin } => Some((plugin, false)),
            _ => None,
        };
        if let (Some((plugin, pause)), Some(pauser)) = (overlapping_pause, &pauser)
            && call_pending.load(std::sync::atomic::Ordering::SeqCst)
        {
            write_answer(request.id, pauser(plugin, pause));
            continue;
        }
        if matches!(request.op, Op::Invoke { .. }) {
            // Cleared by the serving loop once the call is answered.
            call_pending.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        let bye = matches!(request.op, Op::Bye);
        if to_serve.send(request).is_err() || bye {
            return Ok(());
        }
    }
}

/// Serves requests from stdin until `bye` or end of input.
pub fn serve(backend: impl Backend) -> Result<(), std::io::Error> {
    serve_from(backend, std::io::BufReader::new(std::io::stdin()))
}

/// Serves requests read from `input` until `bye` or end of input.
pub fn serve_from(
    mut backend: impl Backend,
    input: impl BufRead + Send + 'static,
) -> Result<(), std::io::Error> {
    let (to_serve, requests) = std::sync::mpsc::channel();
    let revoker = backend.revoker();
    let pauser = backend.pauser();
    let call_pending = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let call_pending = std::sync::Arc::clone(&call_pending);
        std::thread::spawn(move || read_requests(input, revoker, pauser, &call_pending, to_serve))
    };
    // Ends when the reader does (end of input, or after forwarding `bye`).
    for request in requests {
        let id = request.id;
        let is_call = matches!(request.op, Op::Invoke { .. });
        let (answer, bye) = match request.op {
            Op::Hello { .. } => (
                Ok(serde_json::to_value(backend.hello()).unwrap_or(Value::Null)),
                false,
            ),
            Op::Load {
                plugin,
                path,
                policy,
                config_b64,
            } => (
                with_config(&config_b64, |config| {
                    backend.load(&plugin, &path, &policy, config)
                }),
                false,
            ),
            Op::LoadPackage {
                plugin,
                package,
                trust,
                policy,
                config_b64,
            } => (
                with_config(&config_b64, |config| {
                    backend.load_package(&plugin, &package, &trust, &policy, config)
                }),
                false,
            ),
            Op::Update {
                plugin,
                package,
                trust,
                policy,
                config_b64,
            } => (
                with_config(&config_b64, |config| {
                    backend.update(&plugin, &package, &trust, &policy, config)
                }),
                false,
            ),
            Op::Invoke {
                plugin,
                method,
                input_b64,
            } => match protocol::decode_bytes(&input_b64) {
                Some(input) => (backend.invoke(&plugin, &method, &input), false),
                None => (
                    Err(error(ErrorKind::Invalid, "input_b64 is not base64")),
                    false,
                ),
            },
            Op::Pause { plugin } => (backend.pause(&plugin), false),
            Op::Resume { plugin } => (backend.resume(&plugin), false),
            // Answered by the reader; never forwarded.
            Op::Revoke { .. } => continue,
            Op::RevokeKey { key } => (backend.revoke_key(&key), false),
            Op::Audit { plugin } => (backend.audit(&plugin), false),
            Op::Figures { plugin } => (backend.figures(&plugin), false),
            Op::Inventory { plugin } => (backend.inventory(&plugin), false),
            Op::Unload { plugin } => (backend.unload(&plugin), false),
            Op::Bye => (Ok(serde_json::json!({})), true),
        };
        for event in backend.take_events() {
            write_line(&serde_json::to_string(&event).unwrap_or_default());
        }
        if is_call {
            // Before the answer is out: a pause read after it goes to this loop, in order.
            call_pending.store(false, std::sync::atomic::Ordering::SeqCst);
        }
        write_answer(id, answer);
        if bye {
            break;
        }
    }
    reader
        .join()
        .map_err(|_| std::io::Error::other("the request reader panicked"))?
}
