//! The hardening a policy requires of a plugin's binary ([`SandboxConfig::require_hardening`]),
//! checked before each activation: a binary that does not show a required mitigation is
//! refused with what it lacks and how to build it in, and nothing of it runs.
//!
//! What is checked is what runs: the sealed bytes of a verified package, or the file at the
//! plugin's path as it is read here (a path load has no bytes of its own to seal: the
//! runner opens the path again, so a file that can change between the two is the caller's
//! to keep still, as for every path load).

use sbx_package::hardening::{Hardening, HardeningError, explain, inspect, missing};

use crate::config::SandboxConfig;

/// Why a plugin is refused for its hardening.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HardeningRefusal {
    /// The binary does not show mitigations the policy requires.
    #[error("the plugin's binary lacks hardening the policy requires: {}", explain(.0))]
    Missing(Vec<Hardening>),
    /// The binary is not an ELF file whose hardening can be read.
    #[error("the plugin's binary cannot be checked for hardening: {0}")]
    Unreadable(#[from] HardeningError),
    /// The binary cannot be read, or is larger than a package's binary may be.
    #[error("the plugin's binary cannot be read to check its hardening: {0}")]
    Io(#[from] std::io::Error),
}

/// Refuses `config`'s plugin when its binary lacks hardening `config` requires. Reads
/// nothing when it requires none.
pub fn check(config: &SandboxConfig) -> Result<(), HardeningRefusal> {
    if config.require_hardening.is_empty() {
        return Ok(());
    }
    let bytes = config.binary()?;
    let lacking = missing(&inspect(&bytes)?, &config.require_hardening);
    if lacking.is_empty() {
        Ok(())
    } else {
        Err(HardeningRefusal::Missing(lacking))
    }
}
