//! The enforcement report: which confinement layers are actually in force for a plugin.
//!
//! The runner writes it after confinement and before any plugin byte runs, and sends it to
//! the host in the `Confined` frame, so the plugin cannot have forged it. A layer the kernel
//! refused is listed as such, never left out: the report is how a host (and `sbx run`) says
//! what was enforced.

use serde::{Deserialize, Serialize};

/// The layer of the seccomp stage that hands the loader's calls to the host: when it is in
/// force, the runner passes its listener with the `Confined` frame.
pub const LOAD_GUARD_LAYER: &str = "seccomp.load_guard";

/// State of one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// In force as configured.
    Applied,
    /// In force, but weaker than configured (for example an older Landlock ABI).
    Partial,
    /// Switched on, but the kernel or the privileges at hand did not allow it.
    Unavailable,
    /// Switched off by the configuration.
    Disabled,
    /// Not needed in this situation (for example dropping root when not root).
    NotNeeded,
}

impl Status {
    /// The snake_case name, as in the report's JSON.
    pub fn name(self) -> &'static str {
        match self {
            Status::Applied => "applied",
            Status::Partial => "partial",
            Status::Unavailable => "unavailable",
            Status::Disabled => "disabled",
            Status::NotNeeded => "not_needed",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerState {
    /// Stable layer name: `identity`, `namespace.user`, `landlock.fs`, `rlimit.cpu`, `seccomp`...
    pub layer: String,
    /// Whether it is in force.
    pub status: Status,
    /// What exactly was applied, or why not.
    pub detail: String,
}

/// Every layer, in the order the runner applied them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnforcementReport {
    /// The layers.
    pub layers: Vec<LayerState>,
}

impl EnforcementReport {
    /// Records one layer.
    pub fn record(&mut self, layer: impl Into<String>, status: Status, detail: impl Into<String>) {
        self.layers.push(LayerState {
            layer: layer.into(),
            status,
            detail: detail.into(),
        });
    }

    /// The state of a layer, if recorded.
    pub fn get(&self, layer: &str) -> Option<&LayerState> {
        self.layers.iter().find(|l| l.layer == layer)
    }

    /// Layers that were asked for but are not fully in force.
    pub fn missing(&self) -> Vec<&LayerState> {
        self.layers
            .iter()
            .filter(|l| matches!(l.status, Status::Partial | Status::Unavailable))
            .collect()
    }

    /// A fixed-width table for terminals.
    pub fn table(&self) -> String {
        let mut out = String::new();
        for l in &self.layers {
            let status = serde_json::to_value(l.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            out.push_str(&format!("{:<22} {:<12} {}\n", l.layer, status, l.detail));
        }
        out
    }
}
