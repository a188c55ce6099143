//! The host's traces: an activation, a call and its host calls, each with its sizes,
//! duration and outcome at a level a host can filter, and nothing the plugin wrote.
//!
//! A binary of its own: the subscriber is this test's thread's (`with_default`), and
//! `tracing` may miss its events while other tests' threads reach the same call sites at
//! the same moment (it caches, per call site, whether anyone listens).

#[path = "sandbox/common.rs"]
#[allow(dead_code)]
mod common;

use std::sync::{Arc, Mutex};

use sbx_host::Capability;
use sbx_host::broker::BrokerConfig;

use common::{config, running};

/// Everything the subscriber writes, kept.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

fn message(line: &serde_json::Value) -> &str {
    line["fields"]["message"].as_str().unwrap_or("")
}

#[test]
fn a_call_is_traced_with_sizes_and_outcomes_and_none_of_the_plugins_data() {
    let secret = "s3cr3t-7f1c-input";
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_span_list(true)
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .finish();
    let storage = tempfile::tempdir().expect("tempdir");
    tracing::subscriber::with_default(subscriber, || {
        let broker = BrokerConfig {
            grants: [Capability::Log, Capability::Storage].into_iter().collect(),
            storage_dir: Some(storage.path().join("storage_user")),
            ..BrokerConfig::default()
        };
        let mut p = running(config("storage_user").broker(broker));
        let out = p.invoke("roundtrip", secret.as_bytes()).expect("roundtrip");
        assert_eq!(out, secret.as_bytes());
        p.shutdown().expect("shutdown");
    });
    let text = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    // Activation: each layer the runner reported, inside the span.
    let seccomp = lines
        .iter()
        .find(|l| message(l) == "confinement" && l["fields"]["layer"] == "seccomp")
        .unwrap_or_else(|| panic!("no seccomp layer traced:\n{text}"));
    assert_eq!(seccomp["fields"]["status"], "applied");
    assert_eq!(seccomp["span"]["name"], "activation");
    // The call: its method and sizes, its duration and outcome.
    let answered = lines
        .iter()
        .find(|l| message(l) == "call answered")
        .unwrap_or_else(|| panic!("no call traced:\n{text}"));
    assert_eq!(answered["level"], "INFO");
    assert_eq!(answered["span"]["name"], "call");
    assert_eq!(answered["span"]["method"], "roundtrip");
    assert_eq!(answered["span"]["input_bytes"], secret.len());
    assert_eq!(answered["fields"]["output_bytes"], secret.len());
    assert!(answered["fields"]["duration_us"].is_u64(), "{answered}");
    // Its host calls: the service and the broker's decision, at debug.
    let host_calls: Vec<(&str, &str)> = lines
        .iter()
        .filter(|l| message(l) == "host call")
        .map(|l| {
            assert_eq!(l["level"], "DEBUG");
            (
                l["fields"]["service"].as_str().unwrap_or(""),
                l["fields"]["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        host_calls.contains(&("storage_put", "SBX_OK"))
            && host_calls.contains(&("storage_get", "SBX_OK")),
        "{host_calls:?}"
    );
    // Its end.
    assert!(
        lines
            .iter()
            .any(|l| message(l) == "terminated" && l["fields"]["reason"] == "exit"),
        "{text}"
    );
    // Nothing the plugin wrote: not its input, not what it stored.
    assert!(!text.contains(secret), "{text}");
}
