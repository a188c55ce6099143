//! `manifest.toml`: what a plugin is and what it asks for.

use serde::{Deserialize, Serialize};

use crate::{hex, unhex};

/// Largest manifest accepted (16 KiB).
pub const MAX_MANIFEST_LEN: usize = 16 * 1024;

/// Capability names a manifest may request (the host's broker defines what they mean).
pub const CAPABILITIES: [&str; 6] = ["config", "storage", "net", "log", "clock", "notify"];

/// Why a manifest is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// Larger than [`MAX_MANIFEST_LEN`].
    #[error("manifest of {len} bytes exceeds {MAX_MANIFEST_LEN}")]
    TooLarge {
        /// Its size.
        len: usize,
    },
    /// Not UTF-8, not TOML, or not the manifest's shape.
    #[error("malformed manifest: {0}")]
    Syntax(String),
    /// A field breaks a rule.
    #[error("manifest field {field}: {why}")]
    Field {
        /// The field.
        field: &'static str,
        /// The rule.
        why: String,
    },
}

/// Limits a plugin asks for; the policy decides what it gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestedLimits {
    /// Memory, MiB.
    pub memory_mib: Option<u64>,
    /// CPU time per process lifetime, seconds.
    pub cpu_seconds: Option<u64>,
    /// Storage bytes.
    pub storage_bytes: Option<u64>,
    /// Host calls per second.
    pub host_calls_per_second: Option<u32>,
    /// CPU rate, percent of one CPU (at least 1).
    pub cpu_percent: Option<u32>,
}

/// A parsed, checked manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// `[a-z0-9_-]{1,64}`.
    pub name: String,
    /// `[0-9A-Za-z.+-]{1,32}`.
    pub version: String,
    /// Plugin ABI version.
    pub abi_version: u32,
    /// SHA-256 of the shared object.
    pub sha256: [u8; 32],
    /// Requested capabilities, each once, from [`CAPABILITIES`].
    pub capabilities: Vec<String>,
    /// Requested limits.
    pub limits: RequestedLimits,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestToml {
    format: u32,
    name: String,
    version: String,
    abi_version: u32,
    sha256: String,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default)]
    limits: RequestedLimits,
}

fn field(field: &'static str, why: impl Into<String>) -> ManifestError {
    ManifestError::Field {
        field,
        why: why.into(),
    }
}

impl Manifest {
    /// Parses and checks manifest bytes. Total; bounded by [`MAX_MANIFEST_LEN`].
    pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        if bytes.len() > MAX_MANIFEST_LEN {
            return Err(ManifestError::TooLarge { len: bytes.len() });
        }
        let text =
            std::str::from_utf8(bytes).map_err(|_| ManifestError::Syntax("not UTF-8".into()))?;
        let raw: ManifestToml =
            toml::from_str(text).map_err(|e| ManifestError::Syntax(e.message().to_owned()))?;
        if raw.format != 1 {
            return Err(field(
                "format",
                format!("{} (this tool reads 1)", raw.format),
            ));
        }
        let name_ok = (1..=64).contains(&raw.name.len())
            && raw
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !name_ok {
            return Err(field("name", "must match [a-z0-9_-]{1,64}"));
        }
        let version_ok = (1..=32).contains(&raw.version.len())
            && raw
                .version
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'));
        if !version_ok {
            return Err(field("version", "must match [0-9A-Za-z.+-]{1,32}"));
        }
        let sha256 =
            unhex::<32>(&raw.sha256).ok_or_else(|| field("sha256", "not 64 hex digits"))?;
        if raw.limits.cpu_percent == Some(0) {
            return Err(field("limits.cpu_percent", "must be at least 1"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for c in &raw.capabilities {
            if !CAPABILITIES.contains(&c.as_str()) {
                return Err(field("capabilities", format!("unknown capability {c:?}")));
            }
            if !seen.insert(c) {
                return Err(field("capabilities", format!("{c} listed twice")));
            }
        }
        Ok(Manifest {
            name: raw.name,
            version: raw.version,
            abi_version: raw.abi_version,
            sha256,
            capabilities: raw.capabilities,
            limits: raw.limits,
        })
    }

    /// The manifest's canonical text (what [`crate::sign`] writes and signs).
    pub fn render(&self) -> String {
        toml::to_string(&ManifestToml {
            format: 1,
            name: self.name.clone(),
            version: self.version.clone(),
            abi_version: self.abi_version,
            sha256: hex(&self.sha256),
            capabilities: self.capabilities.clone(),
            limits: self.limits,
        })
        .unwrap_or_default()
    }
}
