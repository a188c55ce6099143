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
