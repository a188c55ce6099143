//! Shared set-up: plugin paths and sandboxes with the test runner binary.

use std::path::PathBuf;
use std::time::Duration;

use sbx_host::{Deadlines, Layers, Plugin, SandboxConfig, SandboxConfigBuilder};

/// The runner the workspace built (`sbx-runner`, another package's binary, which
/// `cargo test --workspace` builds before any test runs), or `$SBX_RUNNER`.
pub fn runner() -> PathBuf {
    sbx_host::config::find_runner()
        .unwrap_or_else(|e| panic!("{e} (build it first: cargo build -p sbx-runner)"))
}

/// A built plugin of the suite (templates, the probe, benign and hostile plugins).
pub fn plugin(name: &str) -> PathBuf {
    sbx_adversarial_plugins::path(name)
}

/// A configuration for `name` with short deadlines, so failure paths stay fast.
pub fn config(name: &str) -> SandboxConfigBuilder {
    SandboxConfig::builder(plugin(name))
        .runner(runner())
        .deadlines(Deadlines {
            load: Duration::from_secs(10),
            init: Duration::from_secs(5),
            call: Duration::from_secs(3),
            shutdown: Duration::from_secs(2),
            heartbeat: Duration::from_secs(2),
            pause: Duration::from_secs(2),
        })
}

/// Spawned, initialised and started.
pub fn running(builder: SandboxConfigBuilder) -> Plugin {
    let config = builder.build().expect("valid configuration");
    let mut p = Plugin::spawn(&config).expect("spawn");
    p.init(b"").expect("init");
    p.start().expect("start");
    p
}

/// The probe with every layer on.
pub fn probe() -> Plugin {
    running(config("probe"))
}

/// The probe with some layers off, to show another layer holds on its own.
pub fn probe_without(layers: Layers) -> Plugin {
    running(config("probe").layers(layers))
}

/// Invokes and returns the output as text, panicking on failure.
pub fn call(p: &mut Plugin, method: &str, input: &str) -> String {
    let out = p
        .invoke(method, input.as_bytes())
        .unwrap_or_else(|e| panic!("{method}({input}): {e:?}"));
    String::from_utf8(out).expect("utf-8 output")
}

/// True while a process with this pid exists (zombies included).
/// The process that runs the plugin, seen in `/proc`: the runner's child that is not its
/// pid namespace's init (pid 1 there), or the runner itself when it has none.
pub fn plugin_process(runner: i32) -> i32 {
    let children = std::fs::read_to_string(format!("/proc/{runner}/task/{runner}/children"))
        .unwrap_or_default();
    let innermost_pid = |pid: &i32| {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let nspid = status.lines().find_map(|l| l.strip_prefix("NSpid:"));
        nspid.and_then(|ids| ids.split_whitespace().last().map(str::to_owned))
    };
    children
        .split_whitespace()
        .filter_map(|c| c.parse().ok())
        .find(|c| innermost_pid(c).as_deref() != Some("1"))
        .unwrap_or(runner)
}

pub fn process_exists(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Invokes through a multi-plugin host and returns the output as text.
pub fn call_host(h: &sbx_host::host::Host, name: &str, method: &str, input: &str) -> String {
    let out = h
        .invoke(name, method, input.as_bytes())
        .unwrap_or_else(|e| panic!("{name}.{method}({input}): {e:?}"));
    String::from_utf8(out).expect("utf-8 output")
}

/// One sample of an OpenMetrics exposition, as a real parser reads it.
#[derive(Debug, serde::Deserialize)]
pub struct Sample {
    /// Its name (`sbx_plugin_calls_total`, `..._bucket`).
    pub name: String,
    /// Its labels.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

/// The samples of `text`, read by the Prometheus project's Python client's OpenMetrics
/// parser (Debian's python3-prometheus-client), which refuses what the format does not allow.
pub fn openmetrics_samples(text: &str) -> Vec<Sample> {
    use std::io::Write;
    const READ: &str = "import json, sys\n\
        from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse\n\
        print(json.dumps([{'name': s.name, 'labels': s.labels, 'value': s.value}\n\
                          for f in parse(sys.stdin.read()) for s in f.samples]))\n";
    let mut child = std::process::Command::new("/usr/bin/python3")
        .args(["-c", READ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs: apt-get install -y python3-prometheus-client");
    child
        .stdin
        .take()
        .expect("a pipe")
        .write_all(text.as_bytes())
        .expect("written");
    let out = child.wait_with_output().expect("the parser ends");
    assert!(
        out.status.success(),
        "the OpenMetrics parser refused the exposition: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the parser's samples")
}
