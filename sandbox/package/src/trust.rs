//! The trust store: accepted publisher keys, and the revocation list of keys and plugins.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::keys::PublicKey;
use crate::unhex;

/// Why a trust store is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a trust store.
    #[error("{path}: {detail}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

/// An accepted publisher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publisher {
    /// A name for people.
    pub name: String,
    /// The key.
    pub key: PublicKey,
}

/// Keys and plugins no longer accepted, whatever the trust store says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationList {
    /// Key ids.
    pub keys: BTreeSet<String>,
    /// Plugin SHA-256s, hex.
    pub plugins: BTreeSet<String>,
}

/// Accepted publishers and the revocation list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustStore {
    /// Accepted publishers.
    pub publishers: Vec<Publisher>,
    /// Revoked keys and plugins.
    pub revoked: RevocationList,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustToml {
    format: u32,
    #[serde(default)]
    publisher: Vec<PublisherToml>,
    #[serde(default)]
    revoked: RevokedToml,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublisherToml {
    name: String,
    public_key: String,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RevokedToml {
    #[serde(default)]
    keys: Vec<String>,
    #[serde(default)]
    plugins: Vec<String>,
}

/// The id of a key given by id or as the whole public key, in either letter case: the one
/// spelling the revocation list holds and a verified package's signer is named by. `None`
/// for text that is neither. Total.
pub fn canonical_key_id(text: &str) -> Option<String> {
    match PublicKey::parse(text) {
        Ok(key) => Some(key.id()),
        Err(_) if unhex::<8>(text).is_some() => Some(text.to_ascii_lowercase()),
        Err(_) => None,
    }
}

/// Largest trust store accepted (1 MiB).
pub const MAX_TRUST_LEN: u64 = 1 << 20;

impl TrustStore {
    /// Parses a trust store's text. Total. `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<TrustStore, TrustError> {
        let bad = |detail: String| TrustError::Malformed {
            path: origin.to_path_buf(),
            detail,
        };
        let raw: TrustToml = toml::from_str(text).map_err(|e| bad(e.message().to_owned()))?;
        if raw.format != 1 {
            return Err(bad(format!("format {} (this tool reads 1)", raw.format)));
        }
        let mut publishers = Vec::new();
        for p in raw.publisher {
            let key = PublicKey::parse(&p.public_key)
                .map_err(|e| bad(format!("publisher {:?}: {e}", p.name)))?;
            publishers.push(Publisher { name: p.name, key });
        }
        let mut revoked = RevocationList::default();
        for k in raw.revoked.keys {
            let id = canonical_key_id(&k)
                .ok_or_else(|| bad(format!("revoked key {k:?} is neither a key nor a key id")))?;
            revoked.keys.insert(id);
        }
        for p in raw.revoked.plugins {
            if unhex::<32>(&p).is_none() {
                return Err(bad(format!("revoked plugin {p:?} is not a SHA-256")));
            }
            revoked.plugins.insert(p.to_ascii_lowercase());
        }
        Ok(TrustStore {
            publishers,
            revoked,
        })
    }

    /// The store's text, as [`TrustStore::parse`] reads it (revoked keys by id).
    pub fn render(&self) -> String {
        toml::to_string(&TrustToml {
            format: 1,
            publisher: self
                .publishers
                .iter()
                .map(|p| PublisherToml {
                    name: p.name.clone(),
                    public_key: p.key.to_hex(),
                })
                .collect(),
            revoked: RevokedToml {
                keys: self.revoked.keys.iter().cloned().collect(),
                plugins: self.revoked.plugins.iter().cloned().collect(),
            },
        })
        .unwrap_or_default()
    }

    /// Reads and parses a trust store file (at most [`MAX_TRUST_LEN`] bytes).
    pub fn load(path: &Path) -> Result<TrustStore, TrustError> {
        use std::io::Read;
        let io = |source| TrustError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut text = String::new();
        std::fs::File::open(path)
            .map_err(io)?
            .take(MAX_TRUST_LEN + 1)
            .read_to_string(&mut text)
            .map_err(io)?;
        if text.len() as u64 > MAX_TRUST_LEN {
            return Err(TrustError::Malformed {
                path: path.to_path_buf(),
                detail: format!("larger than {MAX_TRUST_LEN} bytes"),
            });
        }
        TrustStore::parse(&text, path)
    }

    /// The publisher with key id `id`.
    pub fn publisher(&self, id: &str) -> Option<&Publisher> {
        self.publishers.iter().find(|p| p.key.id() == id)
    }
}
