//! Publisher keys: ed25519, stored as hex text files.

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

use crate::{hex, sha256, unhex};

/// Why a key file is not a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not 32 bytes of hex.
    #[error("not a key: expected 64 hex digits")]
    NotHex,
    /// 32 bytes that are not a valid ed25519 public key.
    #[error("not a valid ed25519 public key")]
    InvalidPoint,
    /// No randomness for a new key.
    #[error("cannot read randomness: {0}")]
    Random(#[source] std::io::Error),
}

/// The key id: the first 8 bytes of the SHA-256 of the public key, in hex.
pub fn key_id(public: &[u8; 32]) -> String {
    hex(&sha256(public)[..8])
}

/// A publisher's public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses 64 hex digits (surrounding whitespace ignored). Total.
    pub fn parse(text: &str) -> Result<PublicKey, KeyError> {
        let bytes = unhex::<32>(text.trim()).ok_or(KeyError::NotHex)?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| KeyError::InvalidPoint)
    }
    /// Its key id.
    pub fn id(&self) -> String {
        key_id(self.0.as_bytes())
    }
    /// Hex text, as stored.
    pub fn to_hex(&self) -> String {
        hex(self.0.as_bytes())
    }
    pub(crate) fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }
}

/// A publisher's secret key.
pub struct SecretKey(SigningKey);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({})", self.public().id())
    }
}

impl SecretKey {
    /// A new key from the kernel's randomness.
    pub fn generate() -> Result<SecretKey, KeyError> {
        use std::io::Read;
        let mut seed = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut seed))
            .map_err(KeyError::Random)?;
        Ok(SecretKey(SigningKey::from_bytes(&seed)))
    }
    /// Parses 64 hex digits (the seed). Total.
    pub fn parse(text: &str) -> Result<SecretKey, KeyError> {
        let seed = unhex::<32>(text.trim()).ok_or(KeyError::NotHex)?;
        Ok(SecretKey(SigningKey::from_bytes(&seed)))
    }
    /// Hex text of the seed, as stored.
    pub fn to_hex(&self) -> String {
        hex(self.0.as_bytes())
    }
    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }
    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}
