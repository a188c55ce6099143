//! The payload of a `HostCall` frame: which host service the plugin asks for and with what
//! arguments, and the payload of the `HostReply` that answers it.
//!
//! The frame codec treats a host call's payload as opaque bytes; this module gives it its
//! meaning. [`HostRequest::decode`] is total like [`crate::decode`]: every (service, payload)
//! pair gives a request or a typed [`HostCallError`], and it allocates no more than the payload
//! it is given (itself bounded by the frame size). Argument *policy* (which keys are valid,
//! which destinations allowed) is the host's broker's job, not the codec's.
//!
//! Layout: every field is little-endian; `bytes` is a `u32` length followed by that many
//! bytes; a payload with bytes left over after its last field is refused.

use thiserror::Error;

/// Largest value a plugin may store, and largest answer a get may return (256 KiB): well
/// under the frame bound, so a request or reply always fits in one frame.
pub const MAX_VALUE_LEN: usize = 256 * 1024;

/// Host services, by their wire number. A number is never reused for another service.
#[repr(u16)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Read-only configuration: `key: bytes`, `out_cap: u32`.
    ConfigGet = 1,
    /// Persistent storage read: `key: bytes`, `out_cap: u32`.
    StorageGet = 2,
    /// Persistent storage write: `key: bytes`, `value: bytes`.
    StoragePut = 3,
    /// Persistent storage delete: `key: bytes`.
    StorageDelete = 4,
    /// Network request through the host: `dest: bytes`, `request: bytes`, `out_cap: u32`.
    NetRequest = 5,
    /// Wall clock: no argument.
    ClockNow = 6,
    /// User notification: `message: bytes`.
    NotifyUser = 7,
}

impl Service {
    /// Every service, in wire order.
    pub const ALL: [Service; 7] = [
        Service::ConfigGet,
        Service::StorageGet,
        Service::StoragePut,
        Service::StorageDelete,
        Service::NetRequest,
        Service::ClockNow,
        Service::NotifyUser,
    ];

    /// The name used in audit records and diagnostics.
    pub const fn name(self) -> &'static str {
        match self {
            Service::ConfigGet => "config_get",
            Service::StorageGet => "storage_get",
            Service::StoragePut => "storage_put",
            Service::StorageDelete => "storage_delete",
            Service::NetRequest => "net_request",
            Service::ClockNow => "clock_now",
            Service::NotifyUser => "notify_user",
        }
    }
}

impl TryFrom<u16> for Service {
    type Error = HostCallError;

    fn try_from(n: u16) -> Result<Self, HostCallError> {
        Service::ALL
            .into_iter()
            .find(|s| *s as u16 == n)
            .ok_or(HostCallError::UnknownService { service: n })
    }
}

/// A decoded host call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostRequest {
    /// See [`Service::ConfigGet`].
    ConfigGet {
        /// Key, unvalidated bytes.
        key: Vec<u8>,
        /// Capacity of the plugin's out-buffer.
        out_cap: u32,
    },
    /// See [`Service::StorageGet`].
    StorageGet {
        /// Key, unvalidated bytes.
        key: Vec<u8>,
        /// Capacity of the plugin's out-buffer.
        out_cap: u32,
    },
    /// See [`Service::StoragePut`].
    StoragePut {
        /// Key, unvalidated bytes.
        key: Vec<u8>,
        /// Value.
        value: Vec<u8>,
    },
    /// See [`Service::StorageDelete`].
    StorageDelete {
        /// Key, unvalidated bytes.
        key: Vec<u8>,
    },
    /// See [`Service::NetRequest`].
    NetRequest {
        /// Destination as the plugin spelled it, unvalidated.
        dest: Vec<u8>,
        /// Bytes to send.
        request: Vec<u8>,
        /// Capacity of the plugin's out-buffer.
        out_cap: u32,
    },
    /// See [`Service::ClockNow`].
    ClockNow,
    /// See [`Service::NotifyUser`].
    NotifyUser {
        /// Message, unvalidated bytes.
        message: Vec<u8>,
    },
}

/// Why a host call's payload is malformed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HostCallError {
    /// The service number names no [`Service`].
    #[error("unknown host service {service}")]
    UnknownService {
        /// The number received.
        service: u16,
    },
    /// A field runs past the end of the payload.
    #[error("host call field {field} runs past the end of the payload")]
    Truncated {
        /// The field.
        field: &'static str,
    },
    /// Bytes follow the last field.
    #[error("{extra} bytes after the last field of the host call")]
    TrailingBytes {
        /// How many.
        extra: usize,
    },
}

impl HostRequest {
    /// The service this request is for.
    pub const fn service(&self) -> Service {
        match self {
            HostRequest::ConfigGet { .. } => Service::ConfigGet,
            HostRequest::StorageGet { .. } => Service::StorageGet,
            HostRequest::StoragePut { .. } => Service::StoragePut,
            HostRequest::StorageDelete { .. } => Service::StorageDelete,
            HostRequest::NetRequest { .. } => Service::NetRequest,
            HostRequest::ClockNow => Service::ClockNow,
            HostRequest::NotifyUser { .. } => Service::NotifyUser,
        }
    }

    /// The payload bytes of this request's `HostCall` frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let bytes = |out: &mut Vec<u8>, b: &[u8]| {
            // Lengths above u32::MAX cannot reach here: every field is bounded by the frame.
            out.extend_from_slice(&(b.len() as u32).to_le_bytes());
            out.extend_from_slice(b);
        };
        match self {
            HostRequest::ConfigGet { key, out_cap } | HostRequest::StorageGet { key, out_cap } => {
                bytes(&mut out, key);
                out.extend_from_slice(&out_cap.to_le_bytes());
            }
            HostRequest::StoragePut { key, value } => {
                bytes(&mut out, key);
                bytes(&mut out, value);
            }
            HostRequest::StorageDelete { key } => bytes(&mut out, key),
            HostRequest::NetRequest {
                dest,
                request,
                out_cap,
            } => {
                bytes(&mut out, dest);
                bytes(&mut out, request);
                out.extend_from_slice(&out_cap.to_le_bytes());
            }
            HostRequest::ClockNow => {}
            HostRequest::NotifyUser { message } => bytes(&mut out, message),
        }
        out
    }

    /// Decodes a host call. Total: never panics, allocates at most `payload.len()` bytes.
    pub fn decode(service: u16, payload: &[u8]) -> Result<HostRequest, HostCallError> {
        let service = Service::try_from(service)?;
        let mut r = Reader { rest: payload };
        let request = match service {
            Service::ConfigGet => HostRequest::ConfigGet {
                key: r.bytes("key")?,
                out_cap: r.u32("out_cap")?,
            },
            Service::StorageGet => HostRequest::StorageGet {
                key: r.bytes("key")?,
                out_cap: r.u32("out_cap")?,
            },
            Service::StoragePut => HostRequest::StoragePut {
                key: r.bytes("key")?,
                value: r.bytes("value")?,
            },
            Service::StorageDelete => HostRequest::StorageDelete {
                key: r.bytes("key")?,
            },
            Service::NetRequest => HostRequest::NetRequest {
                dest: r.bytes("dest")?,
                request: r.bytes("request")?,
                out_cap: r.u32("out_cap")?,
            },
            Service::ClockNow => HostRequest::ClockNow,
            Service::NotifyUser => HostRequest::NotifyUser {
                message: r.bytes("message")?,
            },
        };
        if !r.rest.is_empty() {
            return Err(HostCallError::TrailingBytes {
                extra: r.rest.len(),
            });
        }
        Ok(request)
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&[u8], HostCallError> {
        if self.rest.len() < n {
            return Err(HostCallError::Truncated { field });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, HostCallError> {
        let b = self.take(4, field)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn bytes(&mut self, field: &'static str) -> Result<Vec<u8>, HostCallError> {
        let len = self.u32(field)? as usize;
        // `take` checks the length against what is there before anything is copied.
        Ok(self.take(len, field)?.to_vec())
    }
}

/// A `HostReply` payload for a call that returns a buffer but did not fit: the size needed.
pub fn encode_needed(needed: u64) -> Vec<u8> {
    needed.to_le_bytes().to_vec()
}

/// Reads the size from a payload made by [`encode_needed`]; `None` if it is not 8 bytes.
pub fn decode_needed(payload: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(payload).ok().map(u64::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_round_trips() {
        let all = [
            HostRequest::ConfigGet {
                key: b"k".to_vec(),
                out_cap: 9,
            },
            HostRequest::StorageGet {
                key: b"key".to_vec(),
                out_cap: 0,
            },
            HostRequest::StoragePut {
                key: b"a".to_vec(),
                value: vec![0, 1, 2],
            },
            HostRequest::StorageDelete { key: Vec::new() },
            HostRequest::NetRequest {
                dest: b"127.0.0.1:80".to_vec(),
                request: b"GET".to_vec(),
                out_cap: 100,
            },
            HostRequest::ClockNow,
            HostRequest::NotifyUser {
                message: b"hi".to_vec(),
            },
        ];
        for r in all {
            let bytes = r.encode();
            assert_eq!(
                HostRequest::decode(r.service() as u16, &bytes).as_ref(),
                Ok(&r)
            );
            // Every strict prefix is truncated, never a different request.
            for cut in 0..bytes.len() {
                assert!(matches!(
                    HostRequest::decode(r.service() as u16, &bytes[..cut]),
                    Err(HostCallError::Truncated { .. })
                ));
            }
            let mut long = bytes.clone();
            long.push(0);
            assert_eq!(
                HostRequest::decode(r.service() as u16, &long),
                Err(HostCallError::TrailingBytes { extra: 1 })
            );
        }
    }

    #[test]
    fn unknown_services_and_huge_lengths_are_refused() {
        assert_eq!(
            HostRequest::decode(0, &[]),
            Err(HostCallError::UnknownService { service: 0 })
        );
        assert_eq!(
            HostRequest::decode(99, &[]),
            Err(HostCallError::UnknownService { service: 99 })
        );
        let huge = u32::MAX.to_le_bytes();
        assert_eq!(
            HostRequest::decode(Service::StorageDelete as u16, &huge),
            Err(HostCallError::Truncated { field: "key" })
        );
        assert_eq!(decode_needed(&encode_needed(77)), Some(77));
        assert_eq!(decode_needed(&[1, 2]), None);
    }
}
