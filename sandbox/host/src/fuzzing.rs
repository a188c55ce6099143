//! Fuzzing oracles of the host side, shared by the cargo-fuzz targets in `fuzz/` and the
//! corpus replay tests (`sandbox/host/tests/sandbox/fuzz_replay.rs`).
//!
//! Each entry takes raw fuzzer bytes and panics if, and only if, a property breaks; a crash
//! saved under `fuzz/regressions/<target>/` replays as a plain `cargo test`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use arbitrary::{Arbitrary, Unstructured};
use sbx_ipc::host_call::HostRequest;
use sbx_ipc::{Frame, LogLevel, MAX_FRAME_LEN, Message, decode};

use crate::broker::{Broker, BrokerConfig, Capability, Grants};
use crate::plugin_policy::{Conditions, OnExcess, PolicyStore};
use crate::quota::Rate;
use crate::session::{Expect, HostSession, MAX_KEPT_LOGS, Step};
use sbx_contract::abi;
use sbx_policy::seccomp::{SeccompPolicy, Substitutions};

/// Most operations one host-session case performs.
const MAX_OPS: usize = 512;

/// Audit events a single frame may cause (a denial or limit event, a notification).
const MAX_EVENTS_PER_FRAME: usize = 2;

/// Oracle for the host side of a runner session: a broker configuration and a sequence of
/// requests, runner frames (structured or raw bytes through the decoder) and revocations are
/// read from `data` and driven through [`HostSession`]. The host must not panic, and after
/// every frame:
/// - a host-call reply is a `HostReply` under the call's id that encodes within
///   `MAX_FRAME_LEN`, and an `OK` status never answers a service whose capability is not in
///   force (never granted, or revoked earlier: revocation is final);
/// - a log record is kept only while `log` is in force;
/// - the kept logs stay within [`MAX_KEPT_LOGS`] and their counters agree;
/// - a frame causes at most a couple of audit events (denials cannot flood the audit);
/// - the plugin's storage on disk stays within its quota;
/// - an answer is only ever a `Result` within the output limit, a `ResultShared` within both
///   the output limit and the payload window (and only when there is one), or a heartbeat
///   echo, and only to the request that waits for it.
///
/// A protocol breach ends the case, as it ends the process.
pub fn fuzz_host_session(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(setup) = Setup::arbitrary(&mut u) else {
        return;
    };
    let storage_dir = fresh_storage_dir();
    let config = setup.broker_config(&storage_dir);
    let granted = config.grants.clone();
    let grants = Grants::new(granted.clone());
    // Clocks the input moves (`Op::Advance`, and each backpressure wait) and no network: the
    // session's decisions over time, without sleeping or a socket.
    let clock = crate::outside::Offline::new();
    let broker = Broker::with_outside(config.clone(), grants.clone(), Box::new(clock.clone()))
        .expect("a valid broker config");
    let output_limit = usize::from(setup.output_limit);
    let window = setup.window.map(u64::from);
    let mut session = HostSession::new(broker, output_limit).with_window(window);
    let mut revoked = BTreeSet::new();
    let mut pending: Option<(u64, Expect)> = None;
    let mut next_id = 1u64;

    for _ in 0..MAX_OPS {
        let Ok(op) = Op::arbitrary(&mut u) else {
            break;
        };
        let frame = match op {
            Op::Request { heartbeat } => {
                let expect = if heartbeat {
                    Expect::Heartbeat
                } else {
                    Expect::Reply
                };
                pending = Some((next_id, expect));
                next_id += 1;
                continue;
            }
            Op::Advance { ms } => {
                clock.advance(Duration::from_millis(u64::from(ms)));
                continue;
            }
            Op::Revoke(index) => {
                let c = Capability::ALL[usize::from(index) % Capability::ALL.len()];
                grants.revoke(c);
                revoked.insert(c);
                continue;
            }
            Op::Frame(wire) => match wire.into_frame(pending.map_or(0, |p| p.0)) {
                Some(frame) => frame,
                None => continue,
            },
        };
        let Some((id, expect)) = pending else {
            // Nothing pending: the real host is not reading, so nothing is delivered.
            continue;
        };
        let in_force = |c: Capability| granted.contains(&c) && !revoked.contains(&c);
        let records_before = session.log_counts().records;
        let host_call = match &frame.message {
            Message::HostCall { service, payload } => Some((frame.request_id, *service, {
                HostRequest::decode(*service, payload).ok()
            })),
            _ => None,
        };
        let was_log = matches!(frame.message, Message::Log { .. });
        let frame_id = frame.request_id;
        let mut events = Vec::new();
        let step = session.on_frame(id, expect, frame, &mut events);

        assert!(
            events.len() <= MAX_EVENTS_PER_FRAME,
            "{} audit events for one frame: {events:?}",
            events.len()
        );
        let counts = session.log_counts();
        assert!(session.logs().len() <= MAX_KEPT_LOGS);
        assert_eq!(
            counts.records - counts.dropped,
            session.logs().len() as u64,
            "log counters disagree with the kept records"
        );
        if was_log && !in_force(Capability::Log) {
            assert_eq!(counts.records, records_before, "a log kept without `log`");
        }
        assert!(
            storage_bytes(&storage_dir) <= config.storage_bytes,
            "storage beyond its quota of {} bytes",
            config.storage_bytes
        );
        assert!(
            stored_files(&storage_dir) <= config.storage_keys,
            "storage beyond its bound of {} keys",
            config.storage_keys
        );

        match step {
            Step::Continue => {}
            Step::Reply(reply) => {
                let (call_id, _, request) = host_call.expect("only a host call is replied to");
                assert_eq!(reply.request_id, call_id, "reply under another id");
                let Message::HostReply { status, .. } = &reply.message else {
                    panic!("a host call answered with {}", reply.message.name());
                };
                reply.encode().expect("a host reply fits in a frame");
                if *status == abi::OK {
                    let request = request.expect("a malformed call answered OK");
                    let needs = Capability::for_service(request.service());
                    assert!(
                        in_force(needs),
                        "{} answered OK without {needs} in force",
                        request.service().name()
                    );
                }
            }
            Step::Answer(message) => {
                assert_eq!(frame_id, id, "an answer under another request's id");
                match (&message, expect) {
                    (Message::Heartbeat, Expect::Heartbeat) => {}
                    (Message::Result { output }, Expect::Reply) => {
                        assert!(output.len() <= output_limit, "output beyond its limit");
                    }
                    (Message::ResultShared { output_len }, Expect::Reply) => {
                        let half = window.expect("a window output without a window");
                        let len = u64::from(*output_len);
                        assert!(len <= half, "a window output beyond the window");
                        assert!(len <= output_limit as u64, "output beyond its limit");
                    }
                    (other, _) => panic!("{} taken as the answer to {expect:?}", other.name()),
                }
                pending = None;
            }
            Step::PluginError { code, .. } => {
                assert_eq!(frame_id, id, "an error under another request's id");
                assert_eq!(expect, Expect::Reply, "an error answered a heartbeat");
                assert_ne!(code, abi::RUNNER_ABI_VIOLATION);
                pending = None;
            }
            Step::Violation(_) => break,
        }
    }
    let _ = std::fs::remove_dir_all(&storage_dir);
}

/// Oracle for the operator's policy files. The first byte picks the parser, the rest is the
/// file's text (lossily decoded):
/// - even: the plugin policy store. Parsing is total; a store that parses decides, for each
///   of its plugins and an unknown one, at a time taken from the input, within
///   [`check_decision`]'s properties;
/// - odd: the seccomp policy. Parsing is total, and each stage of a policy that parses either
///   compiles or is refused with a typed error.
pub fn fuzz_policy(data: &[u8]) {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    if choice % 2 == 0 {
        let Ok(store) = PolicyStore::parse(&text) else {
            return;
        };
        // The time: the first eight bytes, so that exceptions fall on both sides of it.
        let mut secs = [0u8; 8];
        for (slot, b) in secs.iter_mut().zip(rest) {
            *slot = *b;
        }
        let now = UNIX_EPOCH + Duration::from_secs(u64::from_le_bytes(secs) % 8_000_000_000);
        let requested: BTreeSet<Capability> = Capability::ALL
            .into_iter()
            .enumerate()
            .filter(|(i, _)| choice & (2 << i) != 0)
            .map(|(_, c)| c)
            .collect();
        // The host's load from the ninth and tenth bytes (0 to 6.55 per CPU, or unknown),
        // and the user's consents from the eleventh: bit i, Capability::ALL[i], for each
        // plugin.
        let byte = |i: usize| rest.get(i).copied().unwrap_or(0);
        let load = u16::from_le_bytes([byte(8), byte(9)]);
        let names: Vec<&str> = store
            .plugins
            .keys()
            .map(String::as_str)
            .chain(["unknown"])
            .collect();
        let conditions = Conditions {
            now,
            load_per_cpu: (load != u16::MAX).then(|| f64::from(load) / 10_000.0),
            consents: names
                .iter()
                .flat_map(|n| {
                    Capability::ALL
                        .into_iter()
                        .enumerate()
                        .filter(|(i, _)| byte(10) & (1 << i) != 0)
                        .map(|(_, c)| ((*n).to_owned(), c))
                })
                .collect(),
        };
        for name in names {
            check_decision(&store, name, &requested, &conditions);
        }
    } else {
        let Ok(policy) = SeccompPolicy::parse(&text) else {
            return;
        };
        let subst = Substitutions { pid: 1 };
        for stage in policy.stages.keys() {
            let _ = policy.stage_rules(stage);
            let _ = policy.compile_first_stage(stage, subst);
        }
    }
}

/// The properties of one policy decision: granted and withheld partition the request,
/// nothing outside the rule plus the exceptions and windows live at `now` is granted,
/// nothing the rule gives only with consent is granted without the user's, the plugin is
/// refused exactly when `on_excess = "refuse"` withheld something, a loaded host never
/// gives more than an idle one, and deciding again gives the same decision. Panics on a
/// breach.
pub fn check_decision(
    store: &PolicyStore,
    name: &str,
    requested: &BTreeSet<Capability>,
    conditions: &Conditions,
) {
    let d = store.decide(name, requested, &Default::default(), conditions);
    let rule = store.plugins.get(name).unwrap_or(&store.default);
    let secs = conditions
        .now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut allowed = rule.grant.clone();
    for e in store
        .exceptions
        .iter()
        .filter(|e| e.plugin == name && secs < e.until_unix)
    {
        allowed.extend(e.grant.iter().copied());
    }
    for w in store
        .windows
        .iter()
        .filter(|w| w.plugin == name && w.holds_at(secs))
    {
        allowed.extend(w.grant.iter().copied());
    }
    assert!(d.granted.is_subset(&allowed), "granted beyond the rule");
    for c in rule.consent.intersection(&d.granted) {
        assert!(
            conditions.consents.contains(&(name.to_owned(), *c)),
            "{c} granted without consent"
        );
    }
    let idle = Conditions {
        load_per_cpu: None,
        ..conditions.clone()
    };
    let unloaded = store.decide(name, requested, &Default::default(), &idle);
    assert_eq!(unloaded.granted, d.granted, "the load changed a grant");
    let (l, u) = (&d.limits, &unloaded.limits);
    assert!(
        l.host_calls_per_second <= u.host_calls_per_second
            && (u.cpu_percent.is_none()
                || l.cpu_percent <= u.cpu_percent && l.cpu_percent.is_some()),
        "a loaded host gave more: {l:?} against {u:?}"
    );
    assert!(d.granted.is_subset(requested), "granted beyond the request");
    let union: BTreeSet<Capability> = d.granted.union(&d.withheld).copied().collect();
    assert_eq!(
        &union, requested,
        "granted and withheld do not partition the request"
    );
    assert!(d.granted.is_disjoint(&d.withheld));
    assert_eq!(
        d.load,
        d.withheld.is_empty() || rule.on_excess == OnExcess::Cut,
        "load decision"
    );
    assert_eq!(
        store.decide(name, requested, &Default::default(), conditions),
        d,
        "not reproducible"
    );
}

/// The broker configuration of a case.
#[derive(Debug, Arbitrary)]
struct Setup {
    /// Bit i grants `Capability::ALL[i]`.
    grants: u8,
    storage_bytes: u16,
    calls_per_second: u16,
    call_burst: u8,
    log_bytes_per_second: u16,
    log_burst: u16,
    output_limit: u16,
    /// The longest a throttled call waits for its token, milliseconds (the clock is the
    /// input's: a wait moves it on, it sleeps for nothing).
    max_backpressure_ms: u8,
    /// Keys the plugin may store.
    storage_keys: u8,
    /// Bytes in each half of the runner's payload window, if it has one.
    window: Option<u16>,
}

impl Setup {
    fn broker_config(&self, storage_dir: &Path) -> BrokerConfig {
        let grants = Capability::ALL
            .into_iter()
            .enumerate()
            .filter(|(i, _)| self.grants & (1 << i) != 0)
            .map(|(_, c)| c)
            .collect();
        BrokerConfig {
            grants,
            config: BTreeMap::from([("greeting".into(), "hello".into())]),
            storage_dir: Some(storage_dir.to_owned()),
            storage_bytes: u64::from(self.storage_bytes),
            storage_keys: u64::from(self.storage_keys),
            // Empty: an allowlisted request would leave the process; the refusals are the
            // surface under test here.
            net_allowlist: Vec::new(),
            host_call_rate: Rate {
                per_second: u32::from(self.calls_per_second),
                burst: u32::from(self.call_burst),
            },
            max_backpressure: Duration::from_millis(u64::from(self.max_backpressure_ms)),
            log_rate: Rate {
                per_second: u32::from(self.log_bytes_per_second),
                burst: u32::from(self.log_burst),
            },
            net_timeout: Duration::from_millis(1),
        }
    }
}

/// One step of a case.
#[derive(Debug, Arbitrary)]
enum Op {
    /// The host sends a request (init/invoke/shutdown, or a heartbeat) and waits.
    Request { heartbeat: bool },
    /// Another thread revokes a capability.
    Revoke(u8),
    /// Time passes (rates refill).
    Advance { ms: u16 },
    /// The runner sends a frame.
    Frame(Wire),
}

/// A frame from the runner, built to reach the host's decisions quickly, or raw bytes.
#[derive(Debug, Arbitrary)]
enum Wire {
    Log {
        level: u8,
        long: bool,
        text: String,
    },
    HostCall {
        other_id: Option<u64>,
        call: Call,
    },
    Result {
        other_id: Option<u64>,
        output_len: u32,
    },
    Error {
        other_id: Option<u64>,
        abi_violation: bool,
        code: i32,
        message: String,
    },
    Heartbeat {
        other_id: Option<u64>,
    },
    /// An output in the payload window, of any length the runner claims.
    ResultShared {
        other_id: Option<u64>,
        output_len: u32,
    },
    /// Bytes through the decoder; whatever decodes is delivered.
    Raw(Vec<u8>),
}

/// A host call: a well-formed request of a service, or raw payload bytes.
#[derive(Debug, Arbitrary)]
enum Call {
    ConfigGet { key: Vec<u8>, out_cap: u32 },
    StorageGet { key: Vec<u8>, out_cap: u32 },
    StoragePut { key: Vec<u8>, value_len: u16 },
    StorageDelete { key: Vec<u8> },
    NetRequest { dest: String, out_cap: u32 },
    ClockNow,
    NotifyUser { message: Vec<u8> },
    Raw { service: u16, payload: Vec<u8> },
}

impl Call {
    fn encode(self) -> (u16, Vec<u8>) {
        let request = match self {
            Call::ConfigGet { key, out_cap } => HostRequest::ConfigGet { key, out_cap },
            Call::StorageGet { key, out_cap } => HostRequest::StorageGet { key, out_cap },
            Call::StoragePut { key, value_len } => HostRequest::StoragePut {
                key,
                value: vec![b'v'; usize::from(value_len)],
            },
            Call::StorageDelete { key } => HostRequest::StorageDelete { key },
            Call::NetRequest { dest, out_cap } => HostRequest::NetRequest {
                dest: dest.into_bytes(),
                request: b"ping".to_vec(),
                out_cap,
            },
            Call::ClockNow => HostRequest::ClockNow,
            Call::NotifyUser { message } => HostRequest::NotifyUser { message },
            Call::Raw { service, payload } => return (service, payload),
        };
        (request.service() as u16, request.encode())
    }
}

impl Wire {
    /// The frame, addressed to `pending` unless the input chose another id; `None` for raw
    /// bytes that do not decode.
    fn into_frame(self, pending: u64) -> Option<Frame> {
        let (other_id, message) = match self {
            Wire::Log { level, long, text } => {
                let level = LogLevel::ALL[usize::from(level) % LogLevel::ALL.len()];
                let message = if long {
                    // Just past the bound the runner keeps: a plugin writing frames itself.
                    "x".repeat(abi::MAX_LOG_LEN + 1)
                } else {
                    text
                };
                (None, Message::Log { level, message })
            }
            Wire::HostCall { other_id, call } => {
                let (service, payload) = call.encode();
                (other_id, Message::HostCall { service, payload })
            }
            Wire::Result {
                other_id,
                output_len,
            } => {
                let len = (output_len as usize) % (MAX_FRAME_LEN / 2);
                let output = vec![b'o'; len];
                (other_id, Message::Result { output })
            }
            Wire::Error {
                other_id,
                abi_violation,
                code,
                message,
            } => {
                let code = if abi_violation {
                    abi::RUNNER_ABI_VIOLATION
                } else {
                    code
                };
                (other_id, Message::Error { code, message })
            }
            Wire::Heartbeat { other_id } => (other_id, Message::Heartbeat),
            Wire::ResultShared {
                other_id,
                output_len,
            } => (other_id, Message::ResultShared { output_len }),
            Wire::Raw(bytes) => return decode(&bytes).ok().map(|(frame, _)| frame),
        };
        Some(Frame {
            request_id: other_id.unwrap_or(pending),
            message,
        })
    }
}

/// A fresh, empty storage directory for one case, on tmpfs when there is one (the store
/// fsyncs every write).
fn fresh_storage_dir() -> PathBuf {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    let base = BASE.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let root = if shm.is_dir() {
            shm.to_owned()
        } else {
            std::env::temp_dir()
        };
        root.join(format!("sbx-fuzz-host-session-{}", std::process::id()))
    });
    let dir = base.join("storage");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the case's storage directory");
    dir
}

/// The metadata of the files in `dir` (the stored values).
fn stored(dir: &Path) -> impl Iterator<Item = std::fs::Metadata> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
}

/// Bytes of the files in `dir` (the stored values).
fn storage_bytes(dir: &Path) -> u64 {
    stored(dir).map(|m| m.len()).sum()
}

/// How many files `dir` holds (one per stored key).
fn stored_files(dir: &Path) -> u64 {
    stored(dir).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sbx_ipc::host_call::Service;

    proptest! {
        /// Whatever is requested of the example store: granted and withheld partition the
        /// request, nothing outside the rule plus live exceptions is granted, and the
        /// decision is reproducible (the properties the `policy` target checks on fuzzed
        /// stores).
        #[test]
        fn decisions_of_the_example_store_never_grant_beyond_the_rule(
            req in proptest::sample::subsequence(Capability::ALL.to_vec(), 0..6),
            name in proptest::sample::select(vec!["unknown", "template-c", "refuse-excess"]),
            secs in 0u64..4_000_000_000,
            load in proptest::option::of(0.0f64..8.0),
            consented in proptest::sample::subsequence(Capability::ALL.to_vec(), 0..6),
        ) {
            let store = PolicyStore::parse(include_str!("../../policy/plugins.example.toml"))
                .expect("parses");
            let requested: BTreeSet<Capability> = req.into_iter().collect();
            let conditions = Conditions {
                now: UNIX_EPOCH + Duration::from_secs(secs),
                load_per_cpu: load,
                consents: consented.into_iter().map(|c| (name.to_owned(), c)).collect(),
            };
            check_decision(&store, name, &requested, &conditions);
        }

        /// The host-session properties (among them: nothing is served without its
        /// capability, and revocation is final) on random sessions, in every `cargo test`.
        #[test]
        fn host_session_properties_hold(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
            fuzz_host_session(&data);
        }

        /// The policy properties on the example store, for any request, at times spread
        /// over the exceptions' dates (the time is read from the text's first bytes, here a
        /// comment).
        #[test]
        fn policy_properties_hold(choice in any::<u8>(), stamp in "[ -~]{8}") {
            let mut data = vec![choice & !1, b'#'];
            data.extend_from_slice(stamp.as_bytes());
            data.push(b'\n');
            data.extend_from_slice(include_bytes!("../../policy/plugins.example.toml"));
            fuzz_policy(&data);
        }
    }

    #[test]
    fn service_numbers_are_the_wire_numbers() {
        // `Call::encode` relies on `as u16` giving the wire number.
        for s in Service::ALL {
            assert_eq!(Service::try_from(s as u16), Ok(s));
        }
    }
}
