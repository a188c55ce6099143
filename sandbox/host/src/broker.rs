//! The capability broker: the host side of every host API call.
//!
//! A plugin reaches a host service only through a `HostCall` frame, and the broker is the
//! boundary that answers it. Order of checks, for every call: decode the payload (malformed:
//! invalid argument), take a token from the host-call rate (waiting at most
//! [`BrokerConfig::max_backpressure`], else `SBX_ERR_LIMIT`), check the capability (not
//! granted or revoked: `SBX_ERR_DENIED`), validate every argument (keys, sizes, UTF-8,
//! destinations), then serve. Every refusal and every limit hit is an [`AuditEvent`].
//! Nothing the runner sent is trusted: it may be a plugin writing frames itself.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use sbx_ipc::host_call::{self, HostRequest, MAX_VALUE_LEN};
use serde::{Deserialize, Serialize};

use crate::audit::AuditEvent;
use crate::event::{Denial, Limit, LimitAction};
use crate::outside::{Outside, System};
use crate::quota::{Rate, TokenBucket};
pub use crate::stats::BrokerStats;
use crate::storage::{Storage, StorageError};
use sbx_contract::abi::{self, SbxStatus};

/// A discrete permission a plugin may be granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Read-only configuration (`config_get`).
    Config,
    /// Persistent key-value storage (`storage_get`, `storage_put`, `storage_delete`).
    Storage,
    /// Network through the host to allowlisted destinations (`net_request`).
    Net,
    /// Log records (`log`).
    Log,
    /// Wall clock (`clock_now`).
    Clock,
    /// User notification (`notify_user`).
    Notify,
}

impl Capability {
    /// Every capability.
    pub const ALL: [Capability; 6] = [
        Capability::Config,
        Capability::Storage,
        Capability::Net,
        Capability::Log,
        Capability::Clock,
        Capability::Notify,
    ];

    /// The name used in manifests, policies and audit records.
    pub const fn name(self) -> &'static str {
        match self {
            Capability::Config => "config",
            Capability::Storage => "storage",
            Capability::Net => "net",
            Capability::Log => "log",
            Capability::Clock => "clock",
            Capability::Notify => "notify",
        }
    }

    /// Parses a name; `None` for an unknown one.
    pub fn from_name(name: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The capability a host service needs.
    pub fn for_service(service: host_call::Service) -> Capability {
        use host_call::Service as S;
        match service {
            S::ConfigGet => Capability::Config,
            S::StorageGet | S::StoragePut | S::StorageDelete => Capability::Storage,
            S::NetRequest => Capability::Net,
            S::ClockNow => Capability::Clock,
            S::NotifyUser => Capability::Notify,
        }
    }
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the broker gives one plugin. Plain data: the policy engine computes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerConfig {
    /// Capabilities granted at start.
    pub grants: BTreeSet<Capability>,
    /// Values `config_get` answers with.
    pub config: BTreeMap<String, String>,
    /// The plugin's storage directory; no storage service without one.
    pub storage_dir: Option<PathBuf>,
    /// Bytes of keys and values the plugin may store.
    pub storage_bytes: u64,
    /// Keys the plugin may store (each is a file): at most [`crate::storage::MAX_KEYS`].
    pub storage_keys: u64,
    /// Destinations `net_request` may reach, as `host:port` in canonical form.
    pub net_allowlist: Vec<String>,
    /// Host calls (every service but `log`).
    pub host_call_rate: Rate,
    /// Longest a call waits for the rate before `SBX_ERR_LIMIT` (the bounded queue).
    pub max_backpressure: Duration,
    /// Log volume, in bytes.
    pub log_rate: Rate,
    /// Time allowed to a network request through the host.
    pub net_timeout: Duration,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            grants: BTreeSet::from([Capability::Log]),
            config: BTreeMap::new(),
            storage_dir: None,
            storage_bytes: 1 << 20,
            storage_keys: crate::storage::MAX_KEYS,
            net_allowlist: Vec::new(),
            host_call_rate: Rate {
                per_second: 2000,
                burst: 200,
            },
            max_backpressure: Duration::from_millis(50),
            log_rate: Rate {
                per_second: 64 * 1024,
                burst: 256 * 1024,
            },
            net_timeout: Duration::from_secs(1),
        }
    }
}

/// A configuration the broker cannot serve.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerConfigError {
    /// An allowlist entry is not a canonical `host:port`.
    #[error("net allowlist entry {entry:?}: {why}")]
    Allowlist {
        /// The entry.
        entry: String,
        /// Why.
        why: &'static str,
    },
    /// The storage directory cannot be opened.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Grants shared between the broker and the plugin's controllers, so another thread can
/// revoke a capability while the plugin runs.
#[derive(Debug, Clone, Default)]
pub struct Grants(Arc<Mutex<BTreeSet<Capability>>>);

impl Grants {
    /// The given set.
    pub fn new(set: BTreeSet<Capability>) -> Grants {
        Grants(Arc::new(Mutex::new(set)))
    }
    /// Whether `c` is granted now.
    pub fn has(&self, c: Capability) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&c)
    }
    /// Withdraws `c`; `false` if it was not granted.
    pub fn revoke(&self, c: Capability) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&c)
    }
    /// The current set.
    pub fn current(&self) -> BTreeSet<Capability> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The broker of one plugin.
#[derive(Debug)]
pub struct Broker {
    config: BrokerConfig,
    grants: Grants,
    storage: Option<Storage>,
    calls: TokenBucket,
    log: TokenBucket,
    log_throttling: bool,
    /// The last host call was refused for the rate: the refusals that follow it belong to
    /// the same run, which the audit records once.
    rate_refusing: bool,
    stats: BrokerStats,
    notifications: Vec<String>,
    /// The clocks, waits and network it uses.
    outside: Box<dyn Outside>,
}

/// Notifications kept per plugin (the newest are dropped beyond this).
pub const MAX_NOTIFICATIONS: usize = 64;

/// A storage or configuration key: 1 to `SBX_MAX_KEY_LEN` bytes of ASCII letters, digits and
/// `._-:`, not starting with a dot. Nothing that could be read as a path, a NUL or a control.
pub fn valid_key(key: &[u8]) -> bool {
    !key.is_empty()
        && key.len() <= abi::MAX_KEY_LEN
        && key[0] != b'.'
        && key
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
}

/// Parses a destination in canonical form: a lower-case DNS name or a dotted-quad IPv4 address
/// written as `Ipv4Addr` prints it, a colon, and a decimal port 1-65535 without leading
/// zeros. Any other spelling (`127.1`, `0x7f.0.0.1`, upper case, brackets, spaces, a trailing
/// dot) is refused, so an allowlist compares canonical strings only.
pub fn canonical_destination(dest: &str) -> Result<(), &'static str> {
    let (host, port) = dest.rsplit_once(':').ok_or("no :port")?;
    let port_ok = !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && !port.starts_with('0')
        && port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p));
    if !port_ok {
        return Err("port is not a decimal 1-65535 without leading zeros");
    }
    if host.is_empty() || host.len() > 253 {
        return Err("empty or overlong host");
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let ip: std::net::Ipv4Addr = host.parse().map_err(|_| "not a dotted-quad address")?;
        if ip.to_string() != host {
            return Err("address not in canonical form");
        }
        return Ok(());
    }
    let labels_ok = host.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    if !labels_ok {
        return Err("host is not a lower-case DNS name");
    }
    // The resolver reads `0x7f000001` or `0x7f.1` as an address: a name's last label starts
    // with a letter, as every top-level domain does.
    if !host
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.starts_with(|c: char| c.is_ascii_lowercase()))
    {
        return Err("last label does not start with a letter");
    }
    Ok(())
}

impl Broker {
    /// A broker for `config`, sharing `grants` with the plugin's controllers, on the
    /// system's clocks and network.
    pub fn new(config: BrokerConfig, grants: Grants) -> Result<Broker, BrokerConfigError> {
        Broker::with_outside(config, grants, Box::new(System))
    }

    /// [`Broker::new`] with other clocks and network (the fuzz target's stand still).
    pub fn with_outside(
        config: BrokerConfig,
        grants: Grants,
        outside: Box<dyn Outside>,
    ) -> Result<Broker, BrokerConfigError> {
        for entry in &config.net_allowlist {
            canonical_destination(entry).map_err(|why| BrokerConfigError::Allowlist {
                entry: entry.clone(),
                why,
            })?;
        }
        let storage = match &config.storage_dir {
            Some(dir) => {
                Some(Storage::open(dir, config.storage_bytes)?.with_max_keys(config.storage_keys))
            }
            None => None,
        };
        let now = outside.now();
        Ok(Broker {
            outside,
            calls: TokenBucket::new(config.host_call_rate, now),
            log: TokenBucket::new(config.log_rate, now),
            config,
            grants,
            storage,
            log_throttling: false,
            rate_refusing: false,
            stats: BrokerStats::default(),
            notifications: Vec::new(),
        })
    }

    /// The counters.
    pub fn stats(&self) -> BrokerStats {
        self.stats
    }

    /// Notifications the plugin showed the user, oldest first.
    pub fn notifications(&self) -> &[String] {
        &self.notifications
    }

    fn deny(
        &mut self,
        service: &str,
        reason: Denial,
        detail: String,
        events: &mut Vec<AuditEvent>,
    ) {
        self.stats.denials += 1;
        events.push(AuditEvent::Denied {
            service: service.into(),
            reason,
            detail,
        });
    }

    fn limit(
        &mut self,
        limit: Limit,
        action: LimitAction,
        value: u64,
        max: u64,
        events: &mut Vec<AuditEvent>,
    ) {
        self.stats.limit_hits += 1;
        events.push(AuditEvent::LimitHit {
            limit,
            action,
            value,
            max,
        });
    }

    fn capability_refusal(&self, c: Capability) -> Option<Denial> {
        if self.grants.has(c) {
            None
        } else if self.config.grants.contains(&c) {
            // Granted at start and gone now: revoked through the shared grants.
            Some(Denial::Revoked)
        } else {
            Some(Denial::NotGranted)
        }
    }

    /// Decides whether a log record of `len` bytes is kept. Records beyond the log volume are
    /// dropped (throttling is the right answer for logs); the first drop of a run is a
    /// limit event, and a record from a plugin without the log capability is a denial.
    pub fn admit_log(&mut self, len: usize, events: &mut Vec<AuditEvent>) -> bool {
        let cost = len.max(1).min(u32::MAX as usize) as u32;
        if self.log.take(cost, self.outside.now()).is_err() {
            self.stats.logs_throttled += 1;
            if !self.log_throttling {
                self.log_throttling = true;
                let rate = self.log.rate();
                self.limit(
                    Limit::LogBytesPerSecond,
                    LimitAction::Throttled,
                    len as u64,
                    u64::from(rate.per_second),
                    events,
                );
            }
            return false;
        }
        self.log_throttling = false;
        if let Some(reason) = self.capability_refusal(Capability::Log) {
            self.deny("log", reason, format!("{len}-byte record"), events);
            return false;
        }
        true
    }

    /// Answers one host call: status and reply payload.
    pub fn handle(
        &mut self,
        service: u16,
        payload: &[u8],
        events: &mut Vec<AuditEvent>,
    ) -> (SbxStatus, Vec<u8>) {
        self.stats.host_calls += 1;
        // The rate first, before the call is read: a malformed or refused call costs a
        // token too, so that no kind of call can flood the audit.
        match self.calls.take(1, self.outside.now()) {
            Ok(()) => self.rate_refusing = false,
            Err(wait) if wait <= self.config.max_backpressure => {
                self.rate_refusing = false;
                // Backpressure: the plugin's call (and so the plugin) waits for its token.
                self.outside.wait(wait);
                let _ = self.calls.take(1, self.outside.now());
                self.stats.throttled += 1;
                if self.stats.throttled == 1 {
                    let rate = u64::from(self.config.host_call_rate.per_second);
                    self.limit(
                        Limit::HostCallRate,
                        LimitAction::Throttled,
                        rate + 1,
                        rate,
                        events,
                    );
                }
            }
            Err(_) => {
                // A run of refusals is recorded once, at its first: a plugin that keeps
                // calling past the rate adds nothing more to the audit until a call of its
                // is served again (at most the rate's worth of records a second).
                if !self.rate_refusing {
                    self.rate_refusing = true;
                    let rate = u64::from(self.config.host_call_rate.per_second);
                    self.limit(
                        Limit::HostCallRate,
                        LimitAction::Refused,
                        rate + 1,
                        rate,
                        events,
                    );
                }
                return (abi::ERR_LIMIT, Vec::new());
            }
        }
        let request = match HostRequest::decode(service, payload) {
            Ok(r) => r,
            Err(e) => {
                self.deny(
                    &format!("service {service}"),
                    Denial::Malformed,
                    e.to_string(),
                    events,
                );
                return (abi::ERR_INVALID_ARGUMENT, Vec::new());
            }
        };
        let name = request.service().name();
        let capability = Capability::for_service(request.service());
        if let Some(reason) = self.capability_refusal(capability) {
            self.deny(
                name,
                reason,
                format!("needs capability {capability}"),
                events,
            );
            return (abi::ERR_DENIED, Vec::new());
        }
        match request {
            HostRequest::ConfigGet { key, out_cap } => {
                if !valid_key(&key) {
                    return self.invalid(name, "key", events);
                }
                let key = String::from_utf8_lossy(&key).into_owned();
                match self.config.config.get(&key) {
                    Some(v) => fit(v.as_bytes().to_vec(), out_cap),
                    None => (abi::ERR_NOT_FOUND, Vec::new()),
                }
            }
            HostRequest::StorageGet { key, out_cap } => {
                if !valid_key(&key) {
                    return self.invalid(name, "key", events);
                }
                let Some(storage) = &self.storage else {
                    return (abi::ERR_UNAVAILABLE, Vec::new());
                };
                match storage.get(&key, MAX_VALUE_LEN) {
                    Ok(Some(v)) => fit(v, out_cap),
                    Ok(None) => (abi::ERR_NOT_FOUND, Vec::new()),
                    Err(e) => self.unavailable(name, e.io_kind()),
                }
            }
            HostRequest::StoragePut { key, value } => {
                if !valid_key(&key) {
                    return self.invalid(name, "key", events);
                }
                if value.len() > MAX_VALUE_LEN {
                    return self.invalid(name, "value length", events);
                }
                let Some(storage) = &mut self.storage else {
                    return (abi::ERR_UNAVAILABLE, Vec::new());
                };
                match storage.put(&key, &value) {
                    Ok(()) => (abi::OK, Vec::new()),
                    Err(StorageError::Quota {
                        used,
                        adding,
                        quota,
                    }) => {
                        self.limit(
                            Limit::StorageBytes,
                            LimitAction::Refused,
                            used + adding,
                            quota,
                            events,
                        );
                        (abi::ERR_LIMIT, Vec::new())
                    }
                    Err(StorageError::TooManyKeys { keys, max }) => {
                        self.limit(
                            Limit::StorageKeys,
                            LimitAction::Refused,
                            keys + 1,
                            max,
                            events,
                        );
                        (abi::ERR_LIMIT, Vec::new())
                    }
                    Err(e) => self.unavailable(name, e.io_kind()),
                }
            }
            HostRequest::StorageDelete { key } => {
                if !valid_key(&key) {
                    return self.invalid(name, "key", events);
                }
                let Some(storage) = &mut self.storage else {
                    return (abi::ERR_UNAVAILABLE, Vec::new());
                };
                match storage.delete(&key) {
                    Ok(true) => (abi::OK, Vec::new()),
                    Ok(false) => (abi::ERR_NOT_FOUND, Vec::new()),
                    Err(e) => self.unavailable(name, e.io_kind()),
                }
            }
            HostRequest::NetRequest {
                dest,
                request,
                out_cap,
            } => {
                let Ok(dest) = String::from_utf8(dest) else {
                    return self.invalid(name, "destination", events);
                };
                if let Err(why) = canonical_destination(&dest) {
                    self.deny(
                        name,
                        Denial::InvalidArgument,
                        format!("{dest:?}: {why}"),
                        events,
                    );
                    return (abi::ERR_INVALID_ARGUMENT, Vec::new());
                }
                if !self.config.net_allowlist.contains(&dest) {
                    self.deny(name, Denial::NotAllowlisted, dest, events);
                    return (abi::ERR_DENIED, Vec::new());
                }
                let answer = self.outside.net_request(
                    &dest,
                    &request,
                    self.config.net_timeout,
                    MAX_VALUE_LEN,
                );
                match answer {
                    Ok(answer) => fit(answer, out_cap),
                    Err(e) => self.unavailable(name, e.kind()),
                }
            }
            HostRequest::ClockNow => {
                let nanos = self
                    .outside
                    .wall_clock()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
                (abi::OK, host_call::encode_needed(nanos))
            }
            HostRequest::NotifyUser { message } => {
                let Ok(message) = String::from_utf8(message) else {
                    return self.invalid(name, "message encoding", events);
                };
                if message.is_empty() || message.len() > abi::MAX_LOG_LEN {
                    return self.invalid(name, "message length", events);
                }
                if message.chars().any(char::is_control) {
                    return self.invalid(name, "control character in message", events);
                }
                if self.notifications.len() < MAX_NOTIFICATIONS {
                    self.notifications.push(message.clone());
                }
                events.push(AuditEvent::Notification { message });
                (abi::OK, Vec::new())
            }
        }
    }

    fn invalid(
        &mut self,
        service: &str,
        what: &str,
        events: &mut Vec<AuditEvent>,
    ) -> (SbxStatus, Vec<u8>) {
        self.deny(
            service,
            Denial::InvalidArgument,
            format!("bad {what}"),
            events,
        );
        (abi::ERR_INVALID_ARGUMENT, Vec::new())
    }

    fn unavailable(&mut self, service: &str, error: std::io::ErrorKind) -> (SbxStatus, Vec<u8>) {
        // The operator's to see (a storage or network fault of the host), not an audit event:
        // the plugin did nothing wrong. The kind of error only: a path or a destination
        // would carry what the plugin chose (its key, its request) into the host's logs.
        crate::trace::to_operator(
            || tracing::warn!(service, %error, "host service unavailable"),
            || format!("{service}: {error}"),
        );
        (abi::ERR_UNAVAILABLE, Vec::new())
    }
}

/// An answer that fits in `out_cap` bytes, or the size it needs.
fn fit(value: Vec<u8>, out_cap: u32) -> (SbxStatus, Vec<u8>) {
    if value.len() <= out_cap as usize {
        (abi::OK, value)
    } else {
        (
            abi::ERR_BUFFER_TOO_SMALL,
            host_call::encode_needed(value.len() as u64),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_destinations_pass() {
        for ok in ["127.0.0.1:80", "example.org:443", "a-b.c:65535"] {
            assert_eq!(canonical_destination(ok), Ok(()), "{ok}");
        }
        for bad in [
            "127.1:80",
            "0x7f.0.0.1:80",
            "127.0.0.01:80",
            "2130706433:80",
            "LOCALHOST:80",
            "localhost.:80",
            "[::1]:80",
            "127.0.0.1:080",
            "127.0.0.1:0",
            "127.0.0.1:65536",
            "127.0.0.1",
            " 127.0.0.1:80",
            "127.0.0.1:80 ",
            "a..b:1",
            "0x7f000001:80",
        ] {
            assert!(canonical_destination(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_cannot_be_paths() {
        for ok in ["a", "counter", "user:42", "x.y-z_1"] {
            assert!(valid_key(ok.as_bytes()), "{ok}");
        }
        let long = "k".repeat(abi::MAX_KEY_LEN + 1);
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "/etc/passwd",
            "a/b",
            "a\0b",
            "é",
            &long,
        ] {
            assert!(!valid_key(bad.as_bytes()), "{bad:?}");
        }
    }

    fn call(b: &mut Broker, r: HostRequest) -> (SbxStatus, Vec<u8>, Vec<AuditEvent>) {
        let mut ev = Vec::new();
        let (s, p) = b.handle(r.service() as u16, &r.encode(), &mut ev);
        (s, p, ev)
    }

    #[test]
    fn grants_revocation_and_quota() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = BrokerConfig {
            grants: BTreeSet::from([Capability::Storage, Capability::Clock]),
            storage_dir: Some(dir.path().join("p")),
            storage_bytes: 8,
            ..BrokerConfig::default()
        };
        let grants = Grants::new(config.grants.clone());
        let mut b = Broker::new(config, grants.clone()).expect("broker");
        let put = |v: &[u8]| HostRequest::StoragePut {
            key: b"k".to_vec(),
            value: v.to_vec(),
        };
        assert_eq!(call(&mut b, put(b"1234")).0, abi::OK);
        let (s, _, ev) = call(&mut b, put(b"12345678"));
        assert_eq!(s, abi::ERR_LIMIT);
        assert!(
            matches!(&ev[0], AuditEvent::LimitHit { limit, .. } if *limit == Limit::StorageBytes)
        );
        let (s, p, _) = call(
            &mut b,
            HostRequest::StorageGet {
                key: b"k".to_vec(),
                out_cap: 2,
            },
        );
        assert_eq!(
            (s, host_call::decode_needed(&p)),
            (abi::ERR_BUFFER_TOO_SMALL, Some(4))
        );
        let (s, _, ev) = call(
            &mut b,
            HostRequest::NotifyUser {
                message: b"hi".to_vec(),
            },
        );
        assert_eq!(s, abi::ERR_DENIED);
        assert!(
            matches!(&ev[0], AuditEvent::Denied { reason, .. } if *reason == Denial::NotGranted)
        );
        let (s, _, ev) = call(
            &mut b,
            HostRequest::StoragePut {
                key: b"../x".to_vec(),
                value: vec![],
            },
        );
        assert_eq!(s, abi::ERR_INVALID_ARGUMENT);
        assert_eq!(ev.len(), 1);
        assert!(grants.revoke(Capability::Storage));
        let (s, _, ev) = call(&mut b, put(b"1"));
        assert_eq!(s, abi::ERR_DENIED);
        assert!(matches!(&ev[0], AuditEvent::Denied { reason, .. } if *reason == Denial::Revoked));
        assert_eq!(call(&mut b, HostRequest::ClockNow).0, abi::OK);
        assert_eq!(b.stats().denials, 3);
    }

    #[test]
    fn the_call_rate_throttles_then_refuses() {
        let config = BrokerConfig {
            grants: BTreeSet::from([Capability::Clock]),
            host_call_rate: Rate {
                per_second: 1,
                burst: 2,
            },
            max_backpressure: Duration::ZERO,
            ..BrokerConfig::default()
        };
        // A clock that moves only when told: the burst is spent and not refilled, however
        // slow the machine.
        let grants = Grants::new(config.grants.clone());
        let clock = crate::outside::Offline::new();
        let mut b = Broker::with_outside(config, grants, Box::new(clock.clone())).expect("broker");
        assert_eq!(call(&mut b, HostRequest::ClockNow).0, abi::OK);
        assert_eq!(call(&mut b, HostRequest::ClockNow).0, abi::OK);
        let (s, _, ev) = call(&mut b, HostRequest::ClockNow);
        assert_eq!(s, abi::ERR_LIMIT);
        assert!(
            matches!(&ev[..], [AuditEvent::LimitHit { limit, action, value: 2, max: 1 }] if *limit == Limit::HostCallRate && *action == LimitAction::Refused)
        );
        // The rest of the run, a malformed call too (the rate comes before the call is
        // read), is refused without another record: a flood of calls is no flood of the
        // audit.
        for _ in 0..100 {
            let (s, _, ev) = call(&mut b, HostRequest::ClockNow);
            assert_eq!((s, ev.len()), (abi::ERR_LIMIT, 0));
        }
        let mut ev = Vec::new();
        assert_eq!(b.handle(99, &[], &mut ev).0, abi::ERR_LIMIT);
        assert!(ev.is_empty(), "{ev:?}");
        assert_eq!(b.stats().limit_hits, 1);
        // A call served ends the run: the next refusal begins another, recorded again.
        clock.advance(Duration::from_secs(1));
        assert_eq!(call(&mut b, HostRequest::ClockNow).0, abi::OK);
        let (s, _, ev) = call(&mut b, HostRequest::ClockNow);
        assert_eq!((s, ev.len()), (abi::ERR_LIMIT, 1));
        assert_eq!(b.stats().limit_hits, 2);
    }

    #[test]
    fn the_clocks_and_the_network_are_the_ones_given() {
        let config = BrokerConfig {
            grants: BTreeSet::from([Capability::Clock, Capability::Net]),
            net_allowlist: vec!["example.org:80".into()],
            ..BrokerConfig::default()
        };
        let offline = crate::outside::Offline::new();
        let grants = Grants::new(config.grants.clone());
        let mut b =
            Broker::with_outside(config, grants, Box::new(offline.clone())).expect("broker");
        // The wall clock the broker answers is the one given, wherever it stands.
        offline.advance(Duration::from_secs(3));
        let (s, payload, _) = call(&mut b, HostRequest::ClockNow);
        assert_eq!(s, abi::OK);
        let nanos = offline
            .wall_clock()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_nanos() as u64;
        assert_eq!(payload, host_call::encode_needed(nanos));
        // Allowlisted, and through the network given, which reaches nothing.
        let (s, _, ev) = call(
            &mut b,
            HostRequest::NetRequest {
                dest: b"example.org:80".to_vec(),
                request: b"ping".to_vec(),
                out_cap: 64,
            },
        );
        assert_eq!(s, abi::ERR_UNAVAILABLE);
        assert!(ev.is_empty(), "{ev:?}");
    }
}
