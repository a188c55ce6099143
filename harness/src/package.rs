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
    /// An update: the installed version (the suite's `update_installed`, signed as
    /// [`INSTALLED_VERSION`]) is what loads; the case's plugin is then offered in its place
    /// as [`NEXT_VERSION`] by the same publisher, and must take over.
    UpdateValid,
    /// An update whose new version fails in its init: it must be rolled back.
    UpdateFailsInit,
    /// An update whose new version faults in its first calls beyond the policy's failure
    /// budget: it must be rolled back.
    UpdateFailsCalls,
    /// An update signed by a key the trust store does not hold: it must be refused.
    UpdateOtherSigner,
    /// An update to [`OLDER_VERSION`], below the installed one, under a policy without
    /// downgrades: it must be refused.
    UpdateDowngrade,
}

/// The version the update cases install first.
pub const INSTALLED_VERSION: &str = "1.0.0";
/// The version they offer next.
pub const NEXT_VERSION: &str = "1.1.0";
/// The version a downgrade offers.
pub const OLDER_VERSION: &str = "0.9.0";
/// What the installed version stores at its init (its configuration): every version
/// answers it back while it is kept.
pub const INSTALLED_STATE: &str = "stored by the installed version 1.0.0";

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
    pub const ALL: [PackageForm; 17] = [
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
        PackageForm::UpdateValid,
        PackageForm::UpdateFailsInit,
        PackageForm::UpdateFailsCalls,
        PackageForm::UpdateOtherSigner,
        PackageForm::UpdateDowngrade,
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
            PackageForm::UpdateValid => "update_valid",
            PackageForm::UpdateFailsInit => "update_fails_init",
            PackageForm::UpdateFailsCalls => "update_fails_calls",
            PackageForm::UpdateOtherSigner => "update_other_signer",
            PackageForm::UpdateDowngrade => "update_downgrade",
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
        ) || self.is_update()
    }

    /// Whether the case is an update: what loads is the installed version, and the
    /// case's plugin is the new version offered in its place.
    pub const fn is_update(self) -> bool {
        matches!(
            self,
            PackageForm::UpdateValid
                | PackageForm::UpdateFailsInit
                | PackageForm::UpdateFailsCalls
                | PackageForm::UpdateOtherSigner
                | PackageForm::UpdateDowngrade
        )
    }

    /// Whether a sandbox must refuse the update before any of it runs.
    pub const fn update_must_be_refused(self) -> bool {
        matches!(
            self,
            PackageForm::UpdateOtherSigner | PackageForm::UpdateDowngrade
        )
    }

    /// Whether a sandbox must roll the update back once it ran and failed.
    pub const fn update_must_roll_back(self) -> bool {
        matches!(
            self,
            PackageForm::UpdateFailsInit | PackageForm::UpdateFailsCalls
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
        ) && !self.is_update()
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
    /// An update case's new version, offered in place of the package in `dir`.
    pub update: Option<PathBuf>,
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

/// A trust store that accepts `publisher` alone and revokes nothing.
fn trusting(publisher: &SecretKey) -> TrustStore {
    TrustStore {
        publishers: vec![Publisher {
            name: "conformance harness".into(),
            key: publisher.public(),
        }],
        revoked: RevocationList::default(),
    }
}

/// The manifest of a case's package at `version`: its name, asking for `log` and the host
/// services `requested`, and no limits of its own.
fn case_manifest(version: &str, requested: &[String]) -> Manifest {
    Manifest {
        name: "conformance-case".into(),
        version: version.into(),
        abi_version: ABI_VERSION,
        sha256: [0; 32],
        capabilities: std::iter::once("log".to_owned())
            .chain(requested.iter().filter(|c| *c != "log").cloned())
            .collect(),
        limits: RequestedLimits::default(),
    }
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
    let manifest = match form {
        PackageForm::Overreaching => Manifest {
            capabilities: sbx_package::CAPABILITIES.map(str::to_owned).to_vec(),
            limits: OVERREACHING_LIMITS,
            ..case_manifest(INSTALLED_VERSION, requested)
        },
        _ => case_manifest(INSTALLED_VERSION, requested),
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
    let mut trust = trusting(&publisher);
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
        update: None,
    })
}

/// For an update case (`form` one of [`PackageForm::is_update`]): signs `installed` as
/// [`INSTALLED_VERSION`] into `<at>/package` and `new` into `<at>/update` as the form
/// offers it (its version, its signer), both asking for `log` and `requested`, and writes
/// `<at>/trust.toml`, which holds the installed version's publisher alone.
pub fn build_update(
    form: PackageForm,
    installed: &Path,
    new: &Path,
    at: &Path,
    requested: &[String],
) -> Result<BuiltPackage, PackageError> {
    let publisher = SecretKey::generate()?;
    let stranger = SecretKey::generate()?;
    let manifest = |version: &str| case_manifest(version, requested);
    let dir = at.join("package");
    sbx_package::sign(
        &manifest(INSTALLED_VERSION),
        &std::fs::read(installed)?,
        &publisher,
        &dir,
    )?;
    let (version, signer) = match form {
        PackageForm::UpdateDowngrade => (OLDER_VERSION, &publisher),
        PackageForm::UpdateOtherSigner => (NEXT_VERSION, &stranger),
        _ => (NEXT_VERSION, &publisher),
    };
    let update = at.join("update");
    sbx_package::sign(&manifest(version), &std::fs::read(new)?, signer, &update)?;
    let trust_path = at.join("trust.toml");
    std::fs::write(&trust_path, trusting(&publisher).render())?;
    Ok(BuiltPackage {
        dir,
        trust: trust_path,
        publisher: publisher.public().id(),
        update: Some(update),
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
        for form in PackageForm::ALL.into_iter().filter(|f| !f.is_update()) {
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
                _ => unreachable!("update forms are built by build_update"),
            };
            assert_eq!(kind, expected, "{form:?}");
            if let Ok(verified) = &result {
                assert_eq!(verified.signer, built.publisher);
            }
            assert_eq!(form.must_refuse(), expected.is_some());
            assert_eq!(PackageForm::from_word(form.as_str()), Some(form));
        }
        // An update's installed version verifies; its new version verifies only where the
        // form says it must be taken, and then at the version the form offers.
        for form in PackageForm::ALL.into_iter().filter(|f| f.is_update()) {
            let at = tmp.join(form.as_str());
            let built =
                build_update(form, &plugin, &plugin, &at, &["storage".into()]).expect("build");
            let trust = sbx_package::TrustStore::load(&built.trust).expect("trust store");
            let installed =
                sbx_package::verify(&built.dir, &trust, ABI_VERSION).expect("installed");
            assert_eq!(installed.manifest.version, INSTALLED_VERSION);
            let update = built.update.as_deref().expect("an update");
            match sbx_package::verify(update, &trust, ABI_VERSION) {
                Ok(new) => {
                    assert_eq!(new.manifest.name, installed.manifest.name);
                    let expected = match form {
                        PackageForm::UpdateDowngrade => OLDER_VERSION,
                        _ => NEXT_VERSION,
                    };
                    assert_eq!(new.manifest.version, expected, "{form:?}");
                }
                Err(e) => {
                    assert_eq!(form, PackageForm::UpdateOtherSigner);
                    assert_eq!(e.kind(), "untrusted_signer");
                }
            }
            assert!(form.must_load() && !form.must_refuse() && !form.carries_payload());
        }
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
