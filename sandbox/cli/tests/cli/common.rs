//! The binaries and plugins the tests run.

use std::path::PathBuf;

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
