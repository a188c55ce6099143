//! Adapter protocol v1: what the harness and a sandbox under test say to each other.
//!
//! One JSON object per line, UTF-8, at most [`MAX_LINE`] bytes, over the adapter's stdin
//! (requests) and stdout (responses and events). `conformance/ADAPTERS.md` is the
//! normative description; this module is its Rust form. Everything an adapter writes is
//! untrusted: [`parse_line`] is total, bounded by the line length, and answers every
//! input with a message or a typed [`ProtocolError`].

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

/// The protocol version this harness speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest line either side may write, newline excluded: room for a call's answer of
/// 2 MiB in base64, past what a sandbox's frame may carry inline (a case certifies a
/// plugin's output bound larger than a frame).
pub const MAX_LINE: usize = 4 << 20;

/// A feature an adapter may declare in its handshake. A requirement that needs a feature
/// the adapter lacks is `not_applicable` for it, which costs the level that needs it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// `pause` and `resume`.
    Pause,
    /// `revoke` of a granted capability at runtime.
    Revoke,
    /// Host services behind grants (config, storage, net, clock, notify).
    Broker,
    /// Signed plugin packages are verified before loading.
    Signatures,
    /// Per-plugin memory, CPU, thread, descriptor and output limits from the policy.
    Quotas,
    /// Deadlines on init, invoke and shutdown from the policy.
    Deadlines,
    /// Reasons for every termination in `terminated` errors and events.
    TerminationReasons,
    /// `audit` answers with the plugin's records of the sandbox's audit log.
    Audit,
    /// `revoke_key` withdraws trust in a publisher key at runtime: every running plugin it
    /// signed is stopped, and no later package it signed loads.
    KeyRevocation,
    /// Time-bound exceptions in the policy: a capability granted until a moment, and not
    /// after it.
    Exceptions,
    /// Restarts in the policy (`restart`): a packaged plugin that faults transiently is
    /// started again, within the policy's bounds, and one that attacks is not.
    Restarts,
    /// `figures` answers with the sandbox's own counts of a plugin's calls, host calls,
    /// refusals and limits hit ([`Figures`]), which the harness holds to what it saw.
    Figures,
    /// `inventory` answers with what the sandbox says of a loaded plugin: the process it
    /// runs it in, its state and the capabilities it may use ([`Inventory`]), which the
    /// harness holds to what it sees.
    Inventory,
    /// `pause` and `resume` are answered while a call of the plugin is pending, and the
    /// time it spends paused does not count against the call's deadline.
    PauseDuringCall,
    /// A load whose policy says `strict` runs the plugin only with every confinement layer
    /// of the sandbox in force, and is refused, naming the layer, when one is not.
    Strict,
    /// A load whose policy lists `require_hardening` is refused, naming each mitigation,
    /// when the plugin's binary does not show one of them.
    Hardening,
    /// `update` replaces a running package with a new signed version: verified as a load
    /// is, refused when older (unless the policy's `update` allows it), rolled back to the
    /// previous version with its storage as it was when the new one fails to start or
    /// faults beyond its failure budget in its first calls.
    Updates,
}

/// Limits a case asks the sandbox to enforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyLimits {
    /// Memory cap in bytes.
    pub memory_bytes: u64,
    /// CPU time in milliseconds, all threads together.
    pub cpu_ms: u64,
    /// Threads (and processes) of the plugin.
    pub threads: u32,
    /// Open descriptors.
    pub open_files: u32,
    /// Largest output of one call, bytes.
    pub output_bytes: u32,
    /// CPU rate, percent of one CPU, all threads together (absent: no rate cap; the
    /// CPU time bound `cpu_ms` still holds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<u32>,
    /// Storage quota, key and value bytes together, kept across unloads and reloads
    /// (absent: the sandbox's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_bytes: Option<u64>,
    /// Keys the plugin may hold in storage, kept across unloads and reloads like the bytes
    /// (absent: the sandbox's own bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_keys: Option<u64>,
    /// Host calls per second, sustained (absent: the sandbox's own rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_calls_per_second: Option<u32>,
    /// Bytes of log messages per second passed on, sustained, with at most four seconds'
    /// worth at once (absent: the sandbox's own rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_bytes_per_second: Option<u32>,
}

/// Deadlines a case asks the sandbox to enforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDeadlines {
    /// Load and `sbx_plugin_init` together.
    pub init_ms: u64,
    /// Each `sbx_plugin_invoke`.
    pub call_ms: u64,
    /// `sbx_plugin_shutdown`.
    pub shutdown_ms: u64,
}

/// The policy a plugin is loaded with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Host services granted (`log` is always granted).
    pub grants: Vec<String>,
    /// Limits.
    pub limits: PolicyLimits,
    /// Deadlines.
    pub deadlines: PolicyDeadlines,
    /// Destinations `net_request` may reach, exactly as written (`host:port`, canonical);
    /// absent: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub net_allowlist: Vec<String>,
    /// Read-only configuration values, by key, that `config_get` answers to a plugin
    /// granted `config`; absent: none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
    /// Time-bound exceptions (adapters that declare `exceptions`); absent: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<PolicyException>,
    /// Restarts after a transient fault (adapters that declare `restarts`); absent: a
    /// plugin that ends stays ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<PolicyRestart>,
    /// Load only with every confinement layer in force (adapters that declare `strict`);
    /// absent: the sandbox confines with the layers it can, and says which.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strict: bool,
    /// Mitigations the plugin's binary must show it was built with (adapters that declare
    /// `hardening`): `relro`, `bind_now`, `nx_stack`, `no_text_relocations`,
    /// `stack_protector`, `fortify`, `ibt`, `shstk`; absent: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require_hardening: Vec<String>,
    /// How a new version is taken (adapters that declare `updates`); absent: the
    /// sandbox's own rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<PolicyUpdate>,
}

/// How a new version of a running plugin is taken: its probation, and whether it may be
/// older than the installed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyUpdate {
    /// The new version's first calls, in which a fault counts against `failure_budget`.
    pub probation_calls: u32,
    /// Faults allowed within the probation; one more rolls the update back.
    pub failure_budget: u32,
    /// Whether a version below the installed one may replace it.
    #[serde(default)]
    pub allow_downgrade: bool,
}

/// How often, and how soon, a plugin that faulted may be started again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRestart {
    /// Restarts allowed within `window_s`; one more fault leaves the plugin stopped for
    /// good (quarantined).
    pub max_restarts: u32,
    /// The window, seconds: a restart older than this no longer counts.
    pub window_s: u64,
    /// The least time between a fault and the process started after it, milliseconds.
    pub backoff_ms: u64,
}

/// A capability the policy grants beyond `grants`, until a moment only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyException {
    /// The host service granted.
    pub capability: String,
    /// When the grant ends: RFC 3339 in UTC, to the second (`2026-12-02T10:00:00Z`).
    pub until: String,
}

impl PolicyException {
    /// The `until` of an exception that ends `seconds` from now (negative: that long ago).
    pub fn until_from_now(seconds: i64) -> String {
        let now = std::time::SystemTime::now();
        let offset = std::time::Duration::from_secs(seconds.unsigned_abs());
        let until = if seconds < 0 {
            now - offset
        } else {
            now + offset
        };
        humantime::format_rfc3339_seconds(until).to_string()
    }
}

/// A request from the harness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Handshake; also the "are you still answering" probe.
    Hello {
        /// [`PROTOCOL_VERSION`].
        protocol: u32,
    },
    /// Load a plugin under a policy and initialise it with `config`.
    Load {
        /// The handle later requests use.
        plugin: String,
        /// The shared object.
        path: String,
        /// The policy.
        policy: Policy,
        /// Init configuration, base64.
        config_b64: String,
    },
    /// Verify a signed package against a trust store and, only if it passes, load it under
    /// a policy and initialise it (adapters that declare `signatures`). A refusal is an
    /// error of kind `refused`.
    LoadPackage {
        /// The handle later requests use.
        plugin: String,
        /// The package directory (`manifest.toml`, `plugin.so`, `signature.toml`).
        package: String,
        /// The trust store file (accepted publishers, revoked keys and plugin hashes).
        trust: String,
        /// The policy.
        policy: Policy,
        /// Init configuration, base64.
        config_b64: String,
    },
    /// Replace a loaded package with a new version of it (adapters that declare
    /// `updates`): verified against the trust store as `load_package` verifies, and refused
    /// (kind `refused`) before any of it runs when it fails, is another plugin, or is not
    /// newer than the installed version (unless the policy allows a downgrade). Once the
    /// plugin's call in flight has ended, the new version is initialised with `config`; if
    /// that fails, the previous version serves again with its storage as it was (the
    /// answer is then an error of kind `terminated` or `refused`). Later calls of the
    /// handle reach the new version, on probation under the policy's `update`.
    Update {
        /// Handle of the running package.
        plugin: String,
        /// The new version's package directory.
        package: String,
        /// The trust store file.
        trust: String,
        /// The policy.
        policy: Policy,
        /// Init configuration of the new version, base64.
        config_b64: String,
    },
    /// Call a method.
    Invoke {
        /// Handle.
        plugin: String,
        /// Method name.
        method: String,
        /// Input bytes, base64.
        input_b64: String,
    },
    /// Suspend a plugin.
    Pause {
        /// Handle.
        plugin: String,
    },
    /// Continue a suspended plugin.
    Resume {
        /// Handle.
        plugin: String,
    },
    /// Withdraw a granted capability.
    Revoke {
        /// Handle.
        plugin: String,
        /// The capability.
        capability: String,
    },
    /// Revoke a publisher key (adapters that declare `key_revocation`): every running
    /// plugin whose package it signed is stopped, and no later package it signed is
    /// loaded. Answers `{"stopped": [handles]}` (the adapter's word; the harness checks).
    RevokeKey {
        /// The key's id, as the trust store names it.
        key: String,
    },
    /// The records the sandbox's audit log holds for a plugin (loaded or unloaded):
    /// `{"records": [{"event": ..., ...}]}`.
    Audit {
        /// Handle.
        plugin: String,
    },
    /// The sandbox's figures of a loaded plugin since its load ([`Figures`]), over every
    /// process of it (adapters that declare `figures`).
    Figures {
        /// Handle.
        plugin: String,
    },
    /// What the sandbox says of a loaded plugin ([`Inventory`]; adapters that declare
    /// `inventory`).
    Inventory {
        /// Handle.
        plugin: String,
    },
    /// Shut a plugin down and forget it.
    Unload {
        /// Handle.
        plugin: String,
    },
    /// End the session: unload everything and exit 0.
    Bye,
}

/// One request line: an id the response repeats, and the operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Chosen by the harness, unique within a session.
    pub id: u64,
    /// The operation.
    #[serde(flatten)]
    pub op: Op,
}

/// How a plugin ended, as the adapter reports it (evidence, never trusted for a verdict
/// on containment; compared with the reference expectations only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Termination {
    /// One of [`TERMINATION_REASONS`].
    pub reason: String,
    /// Free text.
    #[serde(default)]
    pub detail: String,
}

/// The reasons an adapter may give; anything else is a protocol error.
pub const TERMINATION_REASONS: &[&str] = &[
    "exit",
    "signal",
    "seccomp_violation",
    "cpu_limit",
    "memory_limit",
    "wall_timeout",
    "killed_by_host",
    "protocol_violation",
    "other",
];

/// Error kinds an adapter may answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The plugin was refused (verification, ABI, init failure); no plugin code keeps running.
    Refused,
    /// The plugin process ended; `termination` says how.
    Terminated,
    /// The adapter does not support this operation (it should not have declared the feature).
    Unsupported,
    /// The request was malformed or named an unknown plugin.
    Invalid,
    /// The adapter itself failed.
    Internal,
}

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Its kind.
    pub kind: ErrorKind,
    /// Free text.
    #[serde(default)]
    pub message: String,
    /// With `terminated` (and `refused` when the plugin process ended): how.
    #[serde(default)]
    pub termination: Option<Termination>,
}

/// Result of `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloResult {
    /// Adapter name.
    pub name: String,
    /// Adapter version.
    pub version: String,
    /// Protocol version; must equal [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// Declared features.
    pub features: Vec<Feature>,
    /// Why the adapter cannot run its sandbox on this machine (the tool is missing, it
    /// needs root, user namespaces or a cgroup hierarchy the machine lacks), when it
    /// cannot: the run reports the sandbox as not run here, every case skipped with this
    /// reason, rather than failed. Every other request is then `unsupported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

/// Result of `invoke`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvokeResult {
    /// The plugin's `sbx_status`.
    pub status: i32,
    /// Output bytes, base64.
    #[serde(default)]
    pub output_b64: String,
}

/// What a sandbox counts of one plugin since its load, over every process of it (a
/// restart the sandbox makes is the same load): the telemetry an operator reads. The
/// harness holds each count to what the case saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// Calls of the plugin's methods answered with a status (the plugin's, or an error
    /// status of the sandbox's for a method it does not have).
    pub invocations: u64,
    /// Of those, the calls answered with a status other than `SBX_OK`.
    pub errors: u64,
    /// Host calls the plugin made (every service but `log`), served or not.
    pub host_calls: u64,
    /// Host calls and log records refused: not granted, revoked, or malformed.
    pub denials: u64,
    /// Times a host call or log record ran into a limit (a rate, a quota, a key bound),
    /// slowed or refused.
    pub limit_hits: u64,
    /// Log records the plugin wrote that were not passed on (a rate, a bound).
    pub log_records_dropped: u64,
    /// CPU time its processes used (user and system), milliseconds.
    pub cpu_ms: u64,
    /// The largest resident memory of any of its processes, KiB.
    pub peak_rss_kib: u64,
    /// Time from each call sent to its answer, summed over the calls counted in
    /// `invocations`, milliseconds.
    pub call_ms: u64,
    /// Time a CPU rate cap held its processes back, milliseconds.
    pub throttled_ms: u64,
    /// Messages of the plugin's (`notify_user`) the sandbox holds for its user: those it
    /// showed, not those it refused or dropped.
    pub notifications: u64,
}

/// What a sandbox says of one loaded plugin: the inventory an operator keeps of what runs
/// and with which rights. The harness holds each entry to what it sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// A process of the sandbox's, in the harness's pid namespace, in which or below which
    /// the plugin's code runs; 0 when none does any longer.
    pub pid: i32,
    /// Where the plugin is in its life.
    pub state: InventoryState,
    /// The host services the plugin may use now, by capability name (`log` may be left
    /// out): those its policy grants, less any revoked since.
    pub grants: Vec<String>,
    /// The confinement the sandbox says is in force on every process that runs the
    /// plugin, by the words of [`CONFINEMENT_WORDS`] (other words, for what the harness
    /// cannot see from outside, are the sandbox's own and not read); absent when it does
    /// not say.
    #[serde(default)]
    pub confinement: Option<Vec<String>>,
    /// The processes the sandbox keeps ready to run the plugin later (for a restart),
    /// which run none of its code yet; absent when it does not say. The harness holds each
    /// to being a process of the sandbox's that runs no plugin, and every process of the
    /// sandbox's that runs no plugin and is above none that does to being one of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spares: Option<Vec<i32>>,
}

/// The confinement words of an [`Inventory`] the harness holds to what `/proc` shows of
/// every process that runs the plugin: a system call filter (`seccomp`), `no_new_privs`,
/// no effective capability (`capabilities_dropped`), and a namespace of each kind other
/// than the harness's own.
pub const CONFINEMENT_WORDS: &[&str] = &[
    "seccomp",
    "no_new_privs",
    "capabilities_dropped",
    "namespace.user",
    "namespace.pid",
    "namespace.net",
    "namespace.mount",
    "namespace.ipc",
    "namespace.uts",
];

/// A plugin's state in a sandbox's [`Inventory`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InventoryState {
    /// Loaded and serving calls.
    Running,
    /// Suspended by the host (`pause`).
    Paused,
    /// Its process ended; it serves nothing until loaded again.
    Ended,
    /// Ended and kept from starting again: the sandbox gave up on it (an attack, restarts
    /// run out).
    Quarantined,
}

/// A message from the adapter.
#[derive(Debug, Clone, PartialEq)]
pub enum AdapterMessage {
    /// Answer to request `id`: `ok` holds the operation's result object.
    Ok {
        /// Request id.
        id: u64,
        /// Result object (shape depends on the operation).
        ok: serde_json::Value,
    },
    /// Error answer to request `id`.
    Err {
        /// Request id.
        id: u64,
        /// The error.
        error: ErrorBody,
    },
    /// An unsolicited event.
    Event(Event),
}

/// Unsolicited events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A plugin ended outside any request.
    Terminated {
        /// Handle.
        plugin: String,
        /// How.
        termination: Termination,
    },
    /// A log record of a plugin.
    Log {
        /// Handle.
        plugin: String,
        /// Level word.
        #[serde(default)]
        level: String,
        /// Text.
        message: String,
    },
    /// The sandbox refused something the plugin tried (a host call, a limit).
    Denied {
        /// Handle.
        plugin: String,
        /// What was refused.
        what: String,
    },
}

/// Why a line from an adapter is not a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// Longer than [`MAX_LINE`].
    #[error("line of {0} bytes exceeds the {MAX_LINE}-byte maximum")]
    TooLong(usize),
    /// Not UTF-8.
    #[error("line is not UTF-8")]
    NotUtf8,
    /// Not a JSON object.
    #[error("not a JSON object: {0}")]
    NotJson(String),
    /// A JSON object of no known shape.
    #[error("unknown message shape: {0}")]
    Shape(String),
    /// A termination reason outside the vocabulary.
    #[error("unknown termination reason `{0}`")]
    Reason(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResponse {
    id: u64,
    #[serde(default)]
    ok: Option<serde_json::Value>,
    #[serde(default)]
    error: Option<ErrorBody>,
}

/// Parses one line an adapter wrote (without its newline). Total and bounded.
pub fn parse_line(line: &[u8]) -> Result<AdapterMessage, ProtocolError> {
    if line.len() > MAX_LINE {
        return Err(ProtocolError::TooLong(line.len()));
    }
    let text = std::str::from_utf8(line).map_err(|_| ProtocolError::NotUtf8)?;
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ProtocolError::NotJson(e.to_string()))?;
    let Some(object) = value.as_object() else {
        return Err(ProtocolError::NotJson("not an object".into()));
    };
    let message = if object.contains_key("event") {
        let event: Event =
            serde_json::from_value(value).map_err(|e| ProtocolError::Shape(e.to_string()))?;
        if let Event::Terminated { termination, .. } = &event {
            check_reason(termination)?;
        }
        AdapterMessage::Event(event)
    } else {
        let raw: RawResponse =
            serde_json::from_value(value).map_err(|e| ProtocolError::Shape(e.to_string()))?;
        match (raw.ok, raw.error) {
            (Some(ok), None) => AdapterMessage::Ok { id: raw.id, ok },
            (None, Some(error)) => {
                if let Some(t) = &error.termination {
                    check_reason(t)?;
                }
                AdapterMessage::Err { id: raw.id, error }
            }
            _ => {
                return Err(ProtocolError::Shape(
                    "a response holds exactly one of `ok` and `error`".into(),
                ));
            }
        }
    };
    Ok(message)
}

fn check_reason(t: &Termination) -> Result<(), ProtocolError> {
    if TERMINATION_REASONS.contains(&t.reason.as_str()) {
        Ok(())
    } else {
        Err(ProtocolError::Reason(t.reason.chars().take(64).collect()))
    }
}

/// Parses one request line (the adapter side; used by the built-in adapters). Total.
pub fn parse_request(line: &[u8]) -> Result<Request, ProtocolError> {
    if line.len() > MAX_LINE {
        return Err(ProtocolError::TooLong(line.len()));
    }
    let text = std::str::from_utf8(line).map_err(|_| ProtocolError::NotUtf8)?;
    serde_json::from_str(text).map_err(|e| ProtocolError::Shape(e.to_string()))
}

/// One line read with the protocol's bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadLine {
    /// A line, without its newline (the last line of a stream may lack one).
    Line(Vec<u8>),
    /// A line longer than [`MAX_LINE`]: at least this many bytes, skipped to its end.
    TooLong(usize),
    /// End of the stream.
    Eof,
}

/// Reads one line holding at most [`MAX_LINE`] + 2 bytes in memory, whatever the peer
/// writes. Used on both sides of the protocol.
pub fn read_line(reader: &mut impl std::io::BufRead) -> std::io::Result<ReadLine> {
    use std::io::{BufRead, Read};
    let mut buf = Vec::new();
    if (&mut *reader)
        .take(MAX_LINE as u64 + 2)
        .read_until(b'\n', &mut buf)?
        == 0
    {
        return Ok(ReadLine::Eof);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.len() <= MAX_LINE {
            return Ok(ReadLine::Line(buf));
        }
        return Ok(ReadLine::TooLong(buf.len()));
    }
    if buf.len() > MAX_LINE {
        // Skip the rest of this line in bounded steps.
        let mut skipped = buf.len();
        loop {
            let mut chunk = Vec::new();
            let n = (&mut *reader).take(1 << 16).read_until(b'\n', &mut chunk)?;
            skipped += n;
            if chunk.last() == Some(&b'\n') {
                // The line's length, without its newline (as in the branch above).
                return Ok(ReadLine::TooLong(skipped - 1));
            }
            if n == 0 {
                return Ok(ReadLine::TooLong(skipped));
            }
        }
    }
    Ok(ReadLine::Line(buf))
}

/// Encodes bytes for a `*_b64` field.
pub fn encode_bytes(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// Decodes a `*_b64` field; `None` when it is not valid base64.
pub fn decode_bytes(text: &str) -> Option<Vec<u8>> {
    B64.decode(text).ok()
}

/// A response line, as an adapter writes it.
pub fn ok_line(id: u64, ok: serde_json::Value) -> String {
    let mut map = BTreeMap::new();
    map.insert("id", serde_json::Value::from(id));
    map.insert("ok", ok);
    serde_json::to_string(&map).unwrap_or_default()
}

/// An error line, as an adapter writes it.
pub fn error_line(id: u64, error: &ErrorBody) -> String {
    serde_json::json!({ "id": id, "error": error }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ok_error_and_event_lines() {
        let ok = parse_line(br#"{"id":3,"ok":{"status":0,"output_b64":"aGk="}}"#).unwrap();
        assert!(matches!(ok, AdapterMessage::Ok { id: 3, .. }));
        let err = parse_line(
            br#"{"id":4,"error":{"kind":"terminated","message":"x","termination":{"reason":"signal","detail":"SIGSEGV"}}}"#,
        )
        .unwrap();
        assert!(matches!(err, AdapterMessage::Err { id: 4, .. }));
        let ev =
            parse_line(br#"{"event":"log","plugin":"p","level":"info","message":"m"}"#).unwrap();
        assert!(matches!(ev, AdapterMessage::Event(Event::Log { .. })));
    }

    #[test]
    fn refuses_malformed_lines_with_typed_errors() {
        assert_eq!(parse_line(b"\xff"), Err(ProtocolError::NotUtf8));
        assert!(matches!(
            parse_line(b"passed"),
            Err(ProtocolError::NotJson(_))
        ));
        assert!(matches!(parse_line(b"[1]"), Err(ProtocolError::NotJson(_))));
        assert!(matches!(
            parse_line(br#"{"id":1}"#),
            Err(ProtocolError::Shape(_))
        ));
        assert!(matches!(
            parse_line(br#"{"id":1,"ok":{},"error":{"kind":"invalid"}}"#),
            Err(ProtocolError::Shape(_))
        ));
        assert!(matches!(
            parse_line(br#"{"id":1,"ok":{},"verdict":"pass"}"#),
            Err(ProtocolError::Shape(_))
        ));
        assert!(matches!(
            parse_line(br#"{"event":"terminated","plugin":"p","termination":{"reason":"fine"}}"#),
            Err(ProtocolError::Reason(_))
        ));
        assert!(matches!(
            parse_line(&vec![b' '; MAX_LINE + 1]),
            Err(ProtocolError::TooLong(_))
        ));
    }

    #[test]
    fn lines_are_read_with_a_bound() {
        let mut long = vec![b'x'; MAX_LINE + 10];
        long.extend_from_slice(b"\nnext\nlast");
        let mut r = std::io::BufReader::new(&long[..]);
        assert!(matches!(read_line(&mut r).unwrap(), ReadLine::TooLong(n) if n > MAX_LINE));
        assert_eq!(read_line(&mut r).unwrap(), ReadLine::Line(b"next".to_vec()));
        assert_eq!(read_line(&mut r).unwrap(), ReadLine::Line(b"last".to_vec()));
        assert_eq!(read_line(&mut r).unwrap(), ReadLine::Eof);
    }

    #[test]
    fn requests_round_trip() {
        let r = Request {
            id: 7,
            op: Op::Invoke {
                plugin: "p".into(),
                method: "echo".into(),
                input_b64: encode_bytes(b"hi"),
            },
        };
        let line = serde_json::to_string(&r).unwrap();
        assert_eq!(parse_request(line.as_bytes()).unwrap(), r);
        assert_eq!(decode_bytes("aGk=").unwrap(), b"hi");
        assert!(decode_bytes("@@").is_none());
    }
}
