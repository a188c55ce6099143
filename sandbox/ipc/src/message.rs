//! The typed messages carried by frames.
//!
//! The direction of each message is documentation only: the codec decodes any kind in either
//! direction, and refusing a message that arrives the wrong way is the state machine's job.

use crate::DecodeError;

/// One frame: a message and the id that pairs it with its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Pairs a reply with its request; for [`Message::Heartbeat`] it is the sequence number.
    pub request_id: u64,
    /// The message carried in the body.
    pub message: Message,
}

/// A message of the host <-> runner protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Runner -> host: the confinement report, written before any plugin code runs.
    Confined {
        /// The report, as JSON; this crate does not parse it.
        report: Vec<u8>,
    },
    /// Runner -> host: the plugin is loaded.
    Loaded {
        /// ABI version the plugin declares.
        abi_version: u32,
    },
    /// Host -> runner: initialise the plugin.
    Init {
        /// Opaque plugin configuration.
        config: Vec<u8>,
    },
    /// Host -> runner: call a plugin method.
    Invoke {
        /// Method name.
        method: String,
        /// Opaque method input.
        input: Vec<u8>,
    },
    /// Host -> runner: call a plugin method whose input is in the payload window, the
    /// memory file the host and the runner share for inputs and outputs too large for a
    /// frame (its first half holds the input).
    InvokeShared {
        /// Method name.
        method: String,
        /// Bytes of input at the start of the window; the runner refuses more than the window
        /// holds.
        input_len: u32,
    },
    /// Runner -> host: the successful result of an [`Message::InvokeShared`] or
    /// [`Message::Invoke`] whose output is in the payload window's second half.
    ResultShared {
        /// Bytes of output at the start of the window's second half; the host refuses more
        /// than the half holds or the output bound allows.
        output_len: u32,
    },
    /// Runner -> host: the successful result of an [`Message::Invoke`].
    Result {
        /// Opaque method output.
        output: Vec<u8>,
    },
    /// Either direction: a request failed.
    Error {
        /// Error code; its meaning is defined by the layer above.
        code: i32,
        /// Human-readable description.
        message: String,
    },
    /// Runner -> host: the plugin asks the host for a service.
    HostCall {
        /// Service number.
        service: u16,
        /// Opaque request.
        payload: Vec<u8>,
    },
    /// Host -> runner: the answer to a [`Message::HostCall`].
    HostReply {
        /// Status; its meaning is defined by the service.
        status: i32,
        /// Opaque reply.
        payload: Vec<u8>,
    },
    /// Runner -> host: a log line from the runner or the plugin.
    Log {
        /// Severity.
        level: LogLevel,
        /// The line.
        message: String,
    },
    /// Either direction: liveness probe; the request id is the sequence number.
    Heartbeat,
    /// Host -> runner: stop after the current request.
    Shutdown,
    /// Host -> runner: load the plugin now. Only a runner started to wait for it after its
    /// confinement (a warm spare) accepts it, once, before anything else.
    Load,
}

/// The kind byte of a frame: which [`Message`] variant its body encodes.
///
/// The values are the wire bytes. A value is never reused for another meaning, so that a peer
/// built from another tree refuses a kind it does not know instead of misreading it.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// [`Message::Confined`].
    Confined = 1,
    /// [`Message::Loaded`].
    Loaded = 2,
    /// [`Message::Init`].
    Init = 3,
    /// [`Message::Invoke`].
    Invoke = 4,
    /// [`Message::Result`].
    Result = 5,
    /// [`Message::Error`].
    Error = 6,
    /// [`Message::HostCall`].
    HostCall = 7,
    /// [`Message::HostReply`].
    HostReply = 8,
    /// [`Message::Log`].
    Log = 9,
    /// [`Message::Heartbeat`].
    Heartbeat = 10,
    /// [`Message::Shutdown`].
    Shutdown = 11,
    /// [`Message::InvokeShared`].
    InvokeShared = 12,
    /// [`Message::ResultShared`].
    ResultShared = 13,
    /// [`Message::Load`].
    Load = 14,
}

impl MessageKind {
    /// Every kind, in wire order, so tests and generators can cover them all.
    pub const ALL: [MessageKind; 14] = [
        MessageKind::Confined,
        MessageKind::Loaded,
        MessageKind::Init,
        MessageKind::Invoke,
        MessageKind::Result,
        MessageKind::Error,
        MessageKind::HostCall,
        MessageKind::HostReply,
        MessageKind::Log,
        MessageKind::Heartbeat,
        MessageKind::Shutdown,
        MessageKind::InvokeShared,
        MessageKind::ResultShared,
        MessageKind::Load,
    ];

    /// The kind byte on the wire.
    pub const fn to_byte(self) -> u8 {
        self as u8
    }

    /// The name used in `PROTOCOL.md` and in log lines.
    pub const fn name(self) -> &'static str {
        match self {
            MessageKind::Confined => "Confined",
            MessageKind::Loaded => "Loaded",
            MessageKind::Init => "Init",
            MessageKind::Invoke => "Invoke",
            MessageKind::Result => "Result",
            MessageKind::Error => "Error",
            MessageKind::HostCall => "HostCall",
            MessageKind::HostReply => "HostReply",
            MessageKind::Log => "Log",
            MessageKind::Heartbeat => "Heartbeat",
            MessageKind::Shutdown => "Shutdown",
            MessageKind::InvokeShared => "InvokeShared",
            MessageKind::ResultShared => "ResultShared",
            MessageKind::Load => "Load",
        }
    }
}

impl TryFrom<u8> for MessageKind {
    type Error = DecodeError;

    fn try_from(kind: u8) -> Result<Self, DecodeError> {
        Ok(match kind {
            1 => MessageKind::Confined,
            2 => MessageKind::Loaded,
            3 => MessageKind::Init,
            4 => MessageKind::Invoke,
            5 => MessageKind::Result,
            6 => MessageKind::Error,
            7 => MessageKind::HostCall,
            8 => MessageKind::HostReply,
            9 => MessageKind::Log,
            10 => MessageKind::Heartbeat,
            11 => MessageKind::Shutdown,
            12 => MessageKind::InvokeShared,
            13 => MessageKind::ResultShared,
            14 => MessageKind::Load,
            _ => return Err(DecodeError::UnknownKind { kind }),
        })
    }
}

/// Severity of a [`Message::Log`] line.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogLevel {
    /// Something failed.
    Error = 0,
    /// Something is suspicious.
    Warn = 1,
    /// Normal progress.
    Info = 2,
    /// Detail for debugging.
    Debug = 3,
}

impl LogLevel {
    /// The lowercase name, as log records carry it.
    pub const fn name(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }

    /// Every level, in wire order.
    pub const ALL: [LogLevel; 4] = [
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
    ];

    /// The level byte on the wire.
    pub const fn to_byte(self) -> u8 {
        self as u8
    }
}

impl TryFrom<u8> for LogLevel {
    type Error = DecodeError;

    fn try_from(level: u8) -> Result<Self, DecodeError> {
        Ok(match level {
            0 => LogLevel::Error,
            1 => LogLevel::Warn,
            2 => LogLevel::Info,
            3 => LogLevel::Debug,
            _ => return Err(DecodeError::InvalidLogLevel { level }),
        })
    }
}

impl Message {
    /// The kind byte this message is encoded with.
    pub const fn kind(&self) -> MessageKind {
        match self {
            Message::Confined { .. } => MessageKind::Confined,
            Message::Loaded { .. } => MessageKind::Loaded,
            Message::Init { .. } => MessageKind::Init,
            Message::Invoke { .. } => MessageKind::Invoke,
            Message::Result { .. } => MessageKind::Result,
            Message::Error { .. } => MessageKind::Error,
            Message::HostCall { .. } => MessageKind::HostCall,
            Message::HostReply { .. } => MessageKind::HostReply,
            Message::Log { .. } => MessageKind::Log,
            Message::Heartbeat => MessageKind::Heartbeat,
            Message::Shutdown => MessageKind::Shutdown,
            Message::Load => MessageKind::Load,
            Message::InvokeShared { .. } => MessageKind::InvokeShared,
            Message::ResultShared { .. } => MessageKind::ResultShared,
        }
    }

    /// The name of this message's kind, for log lines.
    pub const fn name(&self) -> &'static str {
        self.kind().name()
    }
}
