//! The signed packages of the signature cases. For each case the harness makes a fresh
//! publisher key, signs the case's plugin into a package (`sbx-package` layout: manifest,
//! binary, signature) and writes the trust store the adapter must verify against, with
//! exactly one defect per [`PackageForm`]. The adapter is told where both are; what it does
//! with them is judged by what the harness sees (the package's constructor makes up to
//! 320 MiB resident, and the case guard measures every process's peak), not by its answer.

use std::path::{Path, PathBuf};

use sbx_package::{
    Manifest, Publisher, RequestedLimits, RevocationList, SecretKey, TrustStore, hex, sha256,
};

/// The plugin ABI version the packages declare (`SBX_ABI_VERSION` of `sbx_plugin.h`).
pub const ABI_VERSION: u32 = 1;

/// How a case's package is made, and so whether a sandbox must refuse it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PackageForm {
    /// No `signature.toml`.
    Unsigned,
    /// A signature with one bit flipped.
    BadSignature,
    /// Signed by a key the trust store does not hold.
    UntrustedSigner,
    /// The binary changed after signing.
    TamperedBinary,
    /// Signed by a key the trust store holds and revokes (by its id, in capitals).
    RevokedKey,
    /// Signed by a key the trust store holds and revokes by the whole public key, the
    /// other spelling the store's format allows.
    RevokedPublicKey,
    /// Validly signed, but the plugin's hash is on the revocation list.
    RevokedPlugin,
    /// Validly signed; after the load is answered the harness overwrites `plugin.so` with
    /// another binary, whose code must never run.
    SwappedAfterLoad,
    /// Validly signed; while its load runs, each reader of `plugin.so` is shown what tests
    /// it (the payload until a verifier shows itself, the verified binary for its read,
    /// the payload again for any later read; see [`crate::swap`]): whatever the sandbox
    /// reads at whatever moment, only verified bytes may run.
    SwappedDuringLoad,
    /// Validly signed; while the plugin runs the harness revokes its signer's key
    /// (`revoke_key`), after which the plugin must not run on.
    KeyRevokedWhileRunning,
    /// Validly signed, and nothing else: the plugin runs as any other case's, loaded
    /// through the sandbox's signed loading (what is checked is what happens to it then).
    Signed,
    /// Validly signed, but its manifest asks for every capability and for limits far
    /// beyond any policy ([`OVERREACHING_LIMITS`]): the sandbox's policy decides, and the
    /// plugin must get no more than the case's policy grants.
    Overreaching,
}

/// What an [`PackageForm::Overreaching`] manifest asks for: a gigabyte of storage (the
/// suite's policy allows less than a megabyte), twice the policy's memory, a minute of CPU, a whole
/// CPU's rate, a hundred thousand host calls a second. Beyond the policy, not beyond the
/// machine: a sandbox that grants it all must still be able to start the plugin, so that
/// what it granted shows.
pub const OVERREACHING_LIMITS: RequestedLimits = RequestedLimits {
    memory_mib: Some(1024),
    cpu_seconds: Some(60),
    storage_bytes: Some(1 << 30),
    host_calls_per_second: Some(100_000),
    cpu_percent: Some(100),
};

impl PackageForm {
    /// Every form.
    pub const ALL: [PackageForm; 12] = [
        PackageForm::Unsigned,
        PackageForm::BadSignature,
        PackageForm::UntrustedSigner,
        PackageForm::TamperedBinary,
        PackageForm::RevokedKey,
        PackageForm::RevokedPublicKey,
        PackageForm::RevokedPlugin,
        PackageForm::SwappedAfterLoad,
        PackageForm::SwappedDuringLoad,
        PackageForm::KeyRevokedWhileRunning,
        PackageForm::Signed,
        PackageForm::Overreaching,
    ];

    /// The word used in plugin metadata and reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            PackageForm::Unsigned => "unsigned",
            PackageForm::BadSignature => "bad_signature",
            PackageForm::UntrustedSigner => "untrusted_signer",
            PackageForm::TamperedBinary => "tampered_binary",
            PackageForm::RevokedKey => "revoked_key",
            PackageForm::RevokedPublicKey => "revoked_public_key",
            PackageForm::RevokedPlugin => "revoked_plugin",
            PackageForm::SwappedAfterLoad => "swapped_after_load",
            PackageForm::SwappedDuringLoad => "swapped_during_load",
            PackageForm::KeyRevokedWhileRunning => "key_revoked_while_running",
            PackageForm::Signed => "signed",
            PackageForm::Overreaching => "overreaching",
        }
    }

    /// Parses [`PackageForm::as_str`].
    pub fn from_word(word: &str) -> Option<PackageForm> {
        PackageForm::ALL.into_iter().find(|f| f.as_str() == word)
    }

    /// Whether a sandbox must load the package: it is valid, and what the case tests
    /// happens once it runs. A sandbox that refuses it cannot be judged on that, and one
    /// that refuses every valid package is of no use.
    pub const fn must_load(self) -> bool {
        matches!(
            self,
            PackageForm::SwappedAfterLoad
                | PackageForm::KeyRevokedWhileRunning
                | PackageForm::Signed
        )
    }

    /// Whether the case's code that must never run is in play: the plugin of a package
    /// that must be refused, or the binary swapped for a valid one's. Only then does its
    /// memory show that it ran; a valid package's plugin may use what its policy allows.
    pub const fn carries_payload(self) -> bool {
        self.must_refuse()
            || matches!(
                self,
                PackageForm::SwappedAfterLoad | PackageForm::SwappedDuringLoad
            )
    }

    /// Whether a sandbox must refuse the package at load. (An overreaching one it may run
    /// cut down to its policy, or refuse; one whose file changes during its load it may
    /// refuse, or run from the bytes it verified.)
    pub const fn must_refuse(self) -> bool {
        !matches!(
            self,
            PackageForm::SwappedAfterLoad
                | PackageForm::SwappedDuringLoad
                | PackageForm::KeyRevokedWhileRunning
                | PackageForm::Signed
                | PackageForm::Overreaching
        )
    }
}

/// A package on disk and the trust store to verify it with.
#[derive(Debug, Clone)]
pub struct BuiltPackage {
    /// The package directory.
    pub dir: PathBuf,
    /// The trust store file.
    pub trust: PathBuf,
    /// The id of the publisher key the trust store accepts (`revoke_key` names it).
    pub publisher: String,
}

/// Why a package could not be made (a harness fault: the case is an error, not a verdict).
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// Reading the plugin or writing the package.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// No key could be made.
    #[error("key: {0}")]
    Key(#[from] sbx_package::KeyError),
}

/// Signs `plugin` into `<at>/package` with the defect of `form`, its manifest asking for
/// `log` and the host services `requested` (every one for an overreaching package), and
/// writes `<at>/trust.toml`.
pub fn build(
    form: PackageForm,
    plugin: &Path,
    at: &Path,
    requested: &[String],
) -> Result<BuiltPackage, PackageError> {
    let binary = std::fs::read(plugin)?;
    let publisher = SecretKey::generate()?;
    let stranger = SecretKey::generate()?;
    let signer = match form {
        PackageForm::UntrustedSigner => &stranger,
        _ => &publisher,
    };
    let manifest = Manifest {
        name: "conformance-case".into(),
        version: "1.0.0".into(),
        abi_version: ABI_VERSION,
        sha256: [0; 32],
        capabilities: match form {
            PackageForm::Overreaching => sbx_package::CAPABILITIES.map(str::to_owned).to_vec(),
            _ => std::iter::once("log".to_owned())
                .chain(requested.iter().filter(|c| *c != "log").cloned())
                .collect(),
        },
        limits: match form {
            PackageForm::Overreaching => OVERREACHING_LIMITS,
            _ => RequestedLimits::default(),
        },
    };
    let dir = at.join("package");
    sbx_package::sign(&manifest, &binary, signer, &dir)?;
    match form {
        PackageForm::Unsigned => std::fs::remove_file(dir.join(sbx_package::SIGNATURE_FILE))?,
        PackageForm::BadSignature => {
            let path = dir.join(sbx_package::SIGNATURE_FILE);
            let text = std::fs::read_to_string(&path)?;
            let mut sig =
                sbx_package::SignatureFile::parse(&text).map_err(std::io::Error::other)?;
            sig.signature[17] ^= 0x10;
            std::fs::write(&path, sig.render())?;
        }
        PackageForm::TamperedBinary => {
            let mut tampered = binary.clone();
            tampered.extend_from_slice(b"\0sbx-conformance-tampered\0");
            std::fs::write(dir.join(sbx_package::PLUGIN_FILE), tampered)?;
        }
        _ => {}
    }
    let mut trust = TrustStore {
        publishers: vec![Publisher {
            name: "conformance harness".into(),
            key: publisher.public(),
        }],
        revoked: RevocationList::default(),
    };
    // Revocations are written in capitals, a spelling the trust store's format allows
    // (hex is case-insensitive) and that a verifier comparing text as written misses.
    match form {
        PackageForm::RevokedKey => {
            trust
                .revoked
                .keys
                .insert(publisher.public().id().to_ascii_uppercase());
        }
        PackageForm::RevokedPublicKey => {
            trust.revoked.keys.insert(publisher.public().to_hex());
        }
        PackageForm::RevokedPlugin => {
            trust
                .revoked
                .plugins
                .insert(hex(&sha256(&binary)).to_ascii_uppercase());
        }
        _ => {}
    }
    let trust_path = at.join("trust.toml");
    std::fs::write(&trust_path, trust.render())?;
    Ok(BuiltPackage {
        dir,
        trust: trust_path,
        publisher: publisher.public().id(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each form is refused by `sbx_package::verify` for its own reason, and the valid
    /// forms are signed by the publisher `revoke_key` names: the packages test what they
    /// say.
    #[test]
    fn each_form_has_exactly_its_defect() {
        let tmp = std::env::temp_dir().join(format!("sbx-harness-package-{}", std::process::id()));
        let plugin = tmp.join("plugin.so");
        std::fs::create_dir_all(&tmp).expect("tmp");
        std::fs::write(&plugin, b"\x7fELF not really, but bytes to sign").expect("plugin");
        for form in PackageForm::ALL {
            let at = tmp.join(form.as_str());
            let built = build(form, &plugin, &at, &["storage".into()]).expect("build");
            let trust = sbx_package::TrustStore::load(&built.trust).expect("trust store");
            let result = sbx_package::verify(&built.dir, &trust, ABI_VERSION);
            let kind = result.as_ref().err().map(|e| e.kind());
            let expected = match form {
                PackageForm::Unsigned => Some("unsigned"),
                PackageForm::BadSignature => Some("bad_signature"),
                PackageForm::UntrustedSigner => Some("untrusted_signer"),
                PackageForm::TamperedBinary => Some("tampered_binary"),
                PackageForm::RevokedKey | PackageForm::RevokedPublicKey => Some("revoked_key"),
                PackageForm::RevokedPlugin => Some("revoked_plugin"),
                PackageForm::SwappedAfterLoad
                | PackageForm::SwappedDuringLoad
                | PackageForm::KeyRevokedWhileRunning
                | PackageForm::Signed
                | PackageForm::Overreaching => None,
            };
            assert_eq!(kind, expected, "{form:?}");
            if let Ok(verified) = &result {
                assert_eq!(verified.signer, built.publisher);
            }
            assert_eq!(form.must_refuse(), expected.is_some());
            assert_eq!(PackageForm::from_word(form.as_str()), Some(form));
        }
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
