//! The runner: the process that confines itself, loads one plugin and serves the host.
//!
//! `sbx-runner` is a thin binary over [`main`]. The order is fixed: take the channel,
//! confine ([`confine::confine`]), report what is in force (`Confined` frame), refuse in
//! strict mode if a layer is missing, start the thread that answers the host's liveness
//! beats, (a warm spare: wait for the host's `Load`), load the plugin (constructors run
//! confined), tighten seccomp to the `plugin` stage, announce `Loaded`, serve.

pub mod confine;
pub mod init;
pub mod root;
pub mod serve;
pub mod violation;
pub mod window;

use sbx_contract::config::{RunnerConfig, Strictness};
use sbx_contract::exit_code;

/// Runs the runner with its argv (`sbx-runner <config-json>`). Never returns.
pub fn main(args: &[String]) -> ! {
    if let Err(e) = serve::open_channel() {
        // No channel: nobody to tell. The exit code is all the host gets.
        eprintln!("sbx-runner: {e}");
        std::process::exit(exit_code::USAGE);
    }
    let cfg: RunnerConfig = match args.get(1).map(|a| serde_json::from_str(a)) {
        Some(Ok(cfg)) => cfg,
        Some(Err(e)) => serve::fail(exit_code::USAGE, format!("bad runner configuration: {e}")),
        None => serve::fail(exit_code::USAGE, "usage: sbx-runner <config-json>".into()),
    };
    if cfg.ring > 0
        && let Err(e) = serve::attach_ring(cfg.ring)
    {
        serve::fail(exit_code::USAGE, format!("ring memory: {e}"));
    }
    let confined = match confine::confine(&cfg) {
        Ok(c) => c,
        Err(e) => serve::fail(exit_code::CONFINEMENT, format!("confinement failed: {e}")),
    };
    let report = serde_json::to_vec(&confined.report).unwrap_or_default();
    let confined_frame = sbx_ipc::Message::Confined { report };
    // The guard's listener goes to the host with the report, and this process keeps no copy
    // of it: whoever holds it decides the loader's calls.
    let sent = match confined.load_guard {
        Some(listener) => serve::send_passing(0, confined_frame, listener),
        None => serve::send(0, confined_frame),
    };
    if !sent {
        std::process::exit(exit_code::CHANNEL);
    }
    let missing = confined.report.missing();
    if cfg.strictness == Strictness::Strict && !missing.is_empty() {
        let names: Vec<_> = missing.iter().map(|l| l.layer.as_str()).collect();
        serve::fail(
            exit_code::STRICT,
            format!("strict mode: not in force: {}", names.join(", ")),
        );
    }
    // Before any plugin byte: its constructors may already block the main thread.
    if let Err(e) = serve::answer_liveness_beats() {
        serve::fail(exit_code::CONFINEMENT, format!("liveness thread: {e}"));
    }
    // A warm spare: confined, and idle until the host activates it.
    if cfg.await_load {
        serve::await_load();
    }
    serve::load_and_serve(&cfg, confined.plugin_stage)
}
