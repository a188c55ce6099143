//! Integration tests of `sbx-ipc`, one module per topic, sharing the helpers below.

mod corpus;
mod decode_errors;
mod props;
mod protocol_doc;
mod reader;
mod round_trip;

use sbx_ipc::{Frame, LogLevel, Message};

/// Builds a frame by hand, bypassing the encoder, so malformed headers can be written.
fn raw(version: u8, kind: u8, reserved: u16, request_id: u64, body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(12 + body.len()).expect("test frames are small");
    raw_with_len(len, version, kind, reserved, request_id, body)
}

/// Like [`raw`], with an arbitrary (possibly lying) length prefix.
fn raw_with_len(
    len: u32,
    version: u8,
    kind: u8,
    reserved: u16,
    request_id: u64,
    body: &[u8],
) -> Vec<u8> {
    let mut out = len.to_le_bytes().to_vec();
    out.push(version);
    out.push(kind);
    out.extend_from_slice(&reserved.to_le_bytes());
    out.extend_from_slice(&request_id.to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// A `bytes` or `str` body field.
fn field(bytes: &[u8]) -> Vec<u8> {
    let len = u32::try_from(bytes.len()).expect("test fields are small");
    [&len.to_le_bytes()[..], bytes].concat()
}

/// One frame of every kind, with non-trivial field values.
fn samples() -> Vec<Frame> {
    let messages = [
        Message::Confined {
            report: br#"{"no_new_privs":true}"#.to_vec(),
        },
        Message::Loaded { abi_version: 3 },
        Message::Init {
            config: b"threads=1".to_vec(),
        },
        Message::Invoke {
            method: "echo".into(),
            input: b"hello".to_vec(),
        },
        Message::Result {
            output: vec![0, 1, 2, 255],
        },
        Message::Error {
            code: -2,
            message: "no such method: é".into(),
        },
        Message::HostCall {
            service: 0xBEEF,
            payload: b"ping".to_vec(),
        },
        Message::HostReply {
            status: i32::MIN,
            payload: Vec::new(),
        },
        Message::Log {
            level: LogLevel::Warn,
            message: "low memory".into(),
        },
        Message::Heartbeat,
        Message::Shutdown,
        Message::InvokeShared {
            method: "echo".into(),
            input_len: 16 << 20,
        },
        Message::ResultShared {
            output_len: 3 << 20,
        },
        Message::Load,
    ];
    messages
        .into_iter()
        .zip(1u64..)
        .map(|(message, request_id)| Frame {
            request_id: request_id << 40 | request_id,
            message,
        })
        .collect()
}
