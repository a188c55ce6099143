//! Signed plugin packages.
//!
//! A package is a directory holding three files:
//!
//! - `manifest.toml`: name, version, ABI version, requested capabilities and limits, and the
//!   SHA-256 of the shared object ([`Manifest`]);
//! - `plugin.so`: the shared object;
//! - `signature.toml`: the signer's key id and an ed25519 signature ([`SignatureFile`]) over
//!   [`signed_message`]: a domain tag, the SHA-256 of the manifest bytes and the SHA-256 of the
//!   shared object. Manifest and binary are signed together; neither can be swapped alone.
//!
//! [`verify`] reads each file once, with a size bound, and returns the verified bytes in a
//! [`VerifiedPackage`]: the caller loads *those bytes* (the reference sandbox seals them into
//! a memfd), never the path again, so nothing can change between check and use. Every
//! refusal is a distinct [`VerifyError`]. Every parser here is total: any bytes give a value
//! or a typed error, within the size bounds. [`hardening`] reads what a binary shows of how
//! it was built (RELRO, BIND_NOW, a non-executable stack, ...), for a policy that requires it.
//!
//! **Architecture invariant:** no OS dependency beyond reading files, no `unsafe`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod hardening;
mod keys;
mod manifest;
pub mod symbols;
mod trust;

use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Verifier};
use sha2::{Digest, Sha256};

pub use keys::{KeyError, PublicKey, SecretKey, key_id};
pub use manifest::{CAPABILITIES, MAX_MANIFEST_LEN, Manifest, ManifestError, RequestedLimits};
pub use trust::{Publisher, RevocationList, TrustError, TrustStore, canonical_key_id};

/// File names inside a package directory.
pub const MANIFEST_FILE: &str = "manifest.toml";
/// The shared object.
pub const PLUGIN_FILE: &str = "plugin.so";
/// The signature.
pub const SIGNATURE_FILE: &str = "signature.toml";

/// Largest shared object accepted (64 MiB).
pub const MAX_BINARY_LEN: u64 = 64 << 20;
/// Largest signature file accepted.
pub const MAX_SIGNATURE_LEN: u64 = 4096;

/// Domain tag of the signed message: a signature made for anything else never verifies here.
pub const SIGNATURE_DOMAIN: &[u8] = b"sbx-plugin-package/v1\0";

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses lower- or upper-case hex of exactly `N` bytes.
pub fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.as_bytes();
    if text.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in text.chunks_exact(2).enumerate() {
        let digit = |c: u8| (c as char).to_digit(16);
        out[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(out)
}

/// The bytes a package signature covers.
pub fn signed_message(manifest_sha256: &[u8; 32], binary_sha256: &[u8; 32]) -> Vec<u8> {
    let mut m = SIGNATURE_DOMAIN.to_vec();
    m.extend_from_slice(manifest_sha256);
    m.extend_from_slice(binary_sha256);
    m
}

/// `signature.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureFile {
    /// Key id of the signer ([`key_id`]).
    pub key: String,
    /// The ed25519 signature.
    pub signature: [u8; 64],
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureToml {
    format: u32,
    key: String,
    signature: String,
}

impl SignatureFile {
    /// Parses the file's text. Total.
    pub fn parse(text: &str) -> Result<SignatureFile, String> {
        let raw: SignatureToml = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        if raw.format != 1 {
            return Err(format!("format {} (this tool reads 1)", raw.format));
        }
        let signature = unhex::<64>(&raw.signature).ok_or("signature is not 64 bytes of hex")?;
        if unhex::<8>(&raw.key).is_none() {
            return Err("key is not a key id (16 hex digits)".into());
        }
        Ok(SignatureFile {
            key: raw.key.to_ascii_lowercase(),
            signature,
        })
    }

    /// The file's text.
    pub fn render(&self) -> String {
        toml::to_string(&SignatureToml {
            format: 1,
            key: self.key.clone(),
            signature: hex(&self.signature),
        })
        .unwrap_or_default()
    }
}

/// Why a package was refused. Each variant is a distinct refusal with its own
/// [`VerifyError::kind`], the name recorded in the audit log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// There is no signature file.
    #[error("package is not signed: no {SIGNATURE_FILE}")]
    Unsigned,
    /// The signature file is not a signature.
    #[error("malformed signature file: {0}")]
    MalformedSignature(String),
    /// The signer is not in the trust store.
    #[error("signer {key} is not a trusted publisher")]
    UntrustedSigner {
        /// Key id.
        key: String,
    },
    /// The signer's key is on the revocation list.
    #[error("signer {key} is revoked")]
    RevokedKey {
        /// Key id.
        key: String,
    },
    /// The signature verifies over neither the binary present nor the one the manifest names.
    #[error("bad signature by {key}")]
    BadSignature {
        /// Key id.
        key: String,
    },
    /// The signature covers the manifest and the binary it names, but the binary present is
    /// another one: it was changed after signing.
    #[error("binary was changed after signing: manifest says {expected}, file is {actual}")]
    TamperedBinary {
        /// SHA-256 in the manifest.
        expected: String,
        /// SHA-256 of the file.
        actual: String,
    },
    /// The signature covers this binary, but the manifest describes another one.
    #[error("manifest does not describe this binary: manifest says {expected}, file is {actual}")]
    ManifestMismatch {
        /// SHA-256 in the manifest.
        expected: String,
        /// SHA-256 of the file.
        actual: String,
    },
    /// The plugin's hash is on the revocation list.
    #[error("plugin {sha256} is revoked")]
    RevokedPlugin {
        /// SHA-256 of the binary.
        sha256: String,
    },
    /// The manifest declares an ABI this host does not speak.
    #[error("plugin ABI version {found}, this host speaks {expected}")]
    WrongAbi {
        /// Declared.
        found: u32,
        /// Spoken.
        expected: u32,
    },
    /// The manifest cannot be parsed or breaks a rule.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The shared object is larger than [`MAX_BINARY_LEN`].
    #[error("plugin binary of {len} bytes exceeds {MAX_BINARY_LEN}")]
    OversizedBinary {
        /// Its size.
        len: u64,
    },
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl VerifyError {
    /// The refusal's stable name (`unsigned`, `bad_signature`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            VerifyError::Unsigned => "unsigned",
            VerifyError::MalformedSignature(_) => "malformed_signature",
            VerifyError::UntrustedSigner { .. } => "untrusted_signer",
            VerifyError::RevokedKey { .. } => "revoked_key",
            VerifyError::BadSignature { .. } => "bad_signature",
            VerifyError::TamperedBinary { .. } => "tampered_binary",
            VerifyError::ManifestMismatch { .. } => "manifest_mismatch",
            VerifyError::RevokedPlugin { .. } => "revoked_plugin",
            VerifyError::WrongAbi { .. } => "wrong_abi",
            VerifyError::Manifest(ManifestError::TooLarge { .. }) => "oversized_manifest",
            VerifyError::Manifest(_) => "malformed_manifest",
            VerifyError::OversizedBinary { .. } => "oversized_binary",
            VerifyError::Io { .. } => "io",
        }
    }
}

/// A package that passed every check, with the exact bytes that were checked.
#[derive(Debug, Clone)]
pub struct VerifiedPackage {
    /// The parsed manifest.
    pub manifest: Manifest,
    /// The shared object's bytes, as hashed and verified.
    pub binary: Vec<u8>,
    /// SHA-256 of [`VerifiedPackage::binary`].
    pub sha256: [u8; 32],
    /// Key id of the signer.
    pub signer: String,
    /// Where the package was read from (for messages only; never read again).
    pub source: PathBuf,
}

/// Reads at most `limit` bytes of `path`. Bounded by the read itself, not by a size checked
/// earlier: the file may grow meanwhile. For every reader of a file a plugin's publisher
/// wrote (a manifest, a binary).
pub fn read_prefix(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// [`read_prefix`], its failure a verification's.
fn read_at_most(path: &Path, limit: u64) -> Result<Vec<u8>, VerifyError> {
    read_prefix(path, limit).map_err(|source| VerifyError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads at most `max` bytes of `path`; a larger file is refused by `too_large(len)`.
fn read_bounded(
    path: &Path,
    max: u64,
    too_large: impl FnOnce(u64) -> VerifyError,
) -> Result<Vec<u8>, VerifyError> {
    let bytes = read_at_most(path, max + 1)?;
    if bytes.len() as u64 > max {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Verifies the package in `dir` against `trust`, for a host speaking `abi_version`.
///
/// Order: manifest (size, syntax, rules), signature file, signer trusted, signer not revoked,
/// signature over manifest and binary, manifest names this binary, plugin not revoked, ABI.
pub fn verify(
    dir: &Path,
    trust: &TrustStore,
    abi_version: u32,
) -> Result<VerifiedPackage, VerifyError> {
    let manifest_bytes = read_bounded(&dir.join(MANIFEST_FILE), MAX_MANIFEST_LEN as u64, |len| {
        ManifestError::TooLarge { len: len as usize }.into()
    })?;
    let sig_path = dir.join(SIGNATURE_FILE);
    let sig_bytes = if sig_path.exists() {
        // One byte past the bound, so that `verify_parts` refuses an oversized signature
        // after the manifest's own refusals, in the documented order.
        Some(read_at_most(&sig_path, MAX_SIGNATURE_LEN + 1)?)
    } else {
        None
    };
    let read_binary = || {
        read_bounded(&dir.join(PLUGIN_FILE), MAX_BINARY_LEN, |len| {
            VerifyError::OversizedBinary { len }
        })
    };
    verify_parts(
        dir,
        &manifest_bytes,
        sig_bytes.as_deref(),
        read_binary,
        trust,
        abi_version,
    )
}

/// The checks of [`verify`] on the package's files as bytes: `signature` is `None` when the
/// package has no signature file, and the binary is read (by `read_binary`) only once the
/// signer is known to be trusted and not revoked. `source` is for messages only. Total: any
/// bytes give a verified package or a refusal.
pub fn verify_parts(
    source: &Path,
    manifest_bytes: &[u8],
    signature: Option<&[u8]>,
    read_binary: impl FnOnce() -> Result<Vec<u8>, VerifyError>,
    trust: &TrustStore,
    abi_version: u32,
) -> Result<VerifiedPackage, VerifyError> {
    let manifest = Manifest::parse(manifest_bytes)?;
    let Some(sig_bytes) = signature else {
        return Err(VerifyError::Unsigned);
    };
    if sig_bytes.len() as u64 > MAX_SIGNATURE_LEN {
        return Err(VerifyError::MalformedSignature(format!(
            "{} bytes",
            sig_bytes.len()
        )));
    }
    let sig_text = std::str::from_utf8(sig_bytes)
        .map_err(|_| VerifyError::MalformedSignature("not UTF-8".into()))?;
    let sig = SignatureFile::parse(sig_text).map_err(VerifyError::MalformedSignature)?;
    let publisher = trust
        .publisher(&sig.key)
        .ok_or_else(|| VerifyError::UntrustedSigner {
            key: sig.key.clone(),
        })?;
    if trust.revoked.keys.contains(&sig.key) {
        return Err(VerifyError::RevokedKey { key: sig.key });
    }
    let binary = read_binary()?;
    if binary.len() as u64 > MAX_BINARY_LEN {
        return Err(VerifyError::OversizedBinary {
            len: binary.len() as u64,
        });
    }
    let actual = sha256(&binary);
    let manifest_hash = sha256(manifest_bytes);
    let signature = Signature::from_bytes(&sig.signature);
    let key = publisher.key.verifying_key();
    let over = |binary_hash: &[u8; 32]| {
        key.verify(&signed_message(&manifest_hash, binary_hash), &signature)
            .is_ok()
    };
    if !over(&actual) {
        return Err(if over(&manifest.sha256) {
            VerifyError::TamperedBinary {
                expected: hex(&manifest.sha256),
                actual: hex(&actual),
            }
        } else {
            VerifyError::BadSignature { key: sig.key }
        });
    }
    if manifest.sha256 != actual {
        return Err(VerifyError::ManifestMismatch {
            expected: hex(&manifest.sha256),
            actual: hex(&actual),
        });
    }
    if trust.revoked.plugins.contains(&hex(&actual)) {
        return Err(VerifyError::RevokedPlugin {
            sha256: hex(&actual),
        });
    }
    if manifest.abi_version != abi_version {
        return Err(VerifyError::WrongAbi {
            found: manifest.abi_version,
            expected: abi_version,
        });
    }
    Ok(VerifiedPackage {
        manifest,
        binary,
        sha256: actual,
        signer: sig.key,
        source: source.to_path_buf(),
    })
}

/// Writes a signed package: `manifest` (its `sha256` set to the binary's), the binary and the
/// signature, into `out` (created if needed).
pub fn sign(
    manifest: &Manifest,
    binary: &[u8],
    key: &SecretKey,
    out: &Path,
) -> std::io::Result<SignatureFile> {
    let mut manifest = manifest.clone();
    manifest.sha256 = sha256(binary);
    let text = manifest.render();
    let signature = key.sign(&signed_message(&sha256(text.as_bytes()), &manifest.sha256));
    let file = SignatureFile {
        key: key.public().id(),
        signature,
    };
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join(MANIFEST_FILE), text)?;
    std::fs::write(out.join(PLUGIN_FILE), binary)?;
    std::fs::write(out.join(SIGNATURE_FILE), file.render())?;
    Ok(file)
}

#[cfg(test)]
mod tests;
