//! Fuzzing oracles of the publisher-facing parsers, shared by the cargo-fuzz targets in
//! `fuzz/` and the corpus replay tests. Each panics if, and only if, a property breaks.

use std::collections::BTreeSet;
use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};

use crate::{
    CAPABILITIES, MAX_MANIFEST_LEN, Manifest, ManifestError, Publisher, RevocationList, SecretKey,
    SignatureFile, TrustStore, hex, sha256, signed_message, verify_parts,
};

/// The ABI version the oracle's host speaks.
const ABI: u32 = 1;

/// Seeds of the oracle's keys: the trusted publisher, a publisher whose key is revoked, and a
/// key nobody trusts.
const TRUSTED: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const REVOKED: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const STRANGER: &str = "3333333333333333333333333333333333333333333333333333333333333333";

/// Oracle for manifest bytes: [`Manifest::parse`] is total and bounded, and a manifest that
/// parses renders to a canonical text that parses back to itself.
pub fn fuzz_manifest(data: &[u8]) {
    match Manifest::parse(data) {
        Ok(manifest) => {
            assert!(data.len() <= MAX_MANIFEST_LEN);
            let text = manifest.render();
            let again = Manifest::parse(text.as_bytes()).expect("a rendered manifest parses");
            assert_eq!(again, manifest, "render/parse round trip");
            assert_eq!(again.render(), text, "rendering is not canonical");
        }
        Err(ManifestError::TooLarge { len }) => assert!(len > MAX_MANIFEST_LEN),
        Err(_) => assert!(
            data.len() <= MAX_MANIFEST_LEN,
            "an oversized manifest parsed"
        ),
    }
}

/// Oracle for a binary's hardening: [`crate::hardening::inspect`] is total on any bytes, an
/// input that is not a 64-bit little-endian ELF file is refused as such, and what a binary
/// lacks of every mitigation is exactly what it does not show.
pub fn fuzz_hardening(data: &[u8]) {
    use crate::hardening::{Hardening, HardeningError, inspect, missing};
    match inspect(data) {
        Ok(present) => {
            assert!(
                data.starts_with(b"\x7fELF\x02\x01"),
                "a non-ELF64-LE file inspected"
            );
            let lacking = missing(&present, &Hardening::ALL);
            for h in Hardening::ALL {
                assert_ne!(present.contains(&h), lacking.contains(&h), "{h}");
            }
        }
        Err(HardeningError::NotElf64) => {}
        Err(HardeningError::Malformed(_)) => {
            assert!(
                data.starts_with(b"\x7fELF"),
                "a non-ELF file read as a malformed one"
            );
        }
    }
}

/// Oracle for package verification, sound and complete: a package built from `data` (a
/// manifest, valid or raw; a binary; a signature file missing, raw, or made by one of three
/// keys over chosen bytes with an optional bit flipped; a revocation of the plugin) is
/// accepted by [`verify_parts`] if, and only if, the trusted, unrevoked key signed exactly
/// these manifest bytes and this binary, the manifest names the binary's hash and this ABI,
/// and the plugin is not revoked. An accepted package carries exactly the checked bytes.
/// Raw signature files and trust stores are parsed too (total), and a signature file that
/// parses renders back to itself.
pub fn fuzz_package(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(case) = PackageCase::arbitrary(&mut u) else {
        return;
    };
    let trusted = SecretKey::parse(TRUSTED).expect("a valid seed");
    let revoked = SecretKey::parse(REVOKED).expect("a valid seed");
    let stranger = SecretKey::parse(STRANGER).expect("a valid seed");

    if let Some(text) = &case.trust_text {
        let _ = TrustStore::parse(text, Path::new("fuzzed"));
    }
    let binary = case.binary;
    let binary_hash = sha256(&binary);
    let manifest_bytes = match case.manifest {
        ManifestInput::Valid {
            capabilities,
            wrong_abi,
            names_other_binary,
        } => {
            let names = if names_other_binary {
                sha256(b"another binary")
            } else {
                binary_hash
            };
            let caps = CAPABILITIES
                .iter()
                .enumerate()
                .filter(|(i, _)| capabilities & (1 << i) != 0)
                .map(|(_, c)| format!("{c:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "format = 1\nname = \"fuzzed\"\nversion = \"1.0\"\nabi_version = {}\n\
                 sha256 = \"{}\"\ncapabilities = [{caps}]\n",
                if wrong_abi { ABI + 1 } else { ABI },
                hex(&names)
            )
            .into_bytes()
        }
        ManifestInput::Raw(bytes) => bytes,
    };
    let publisher = |name: &str, key: &SecretKey| Publisher {
        name: name.into(),
        key: key.public(),
    };
    let trust = TrustStore {
        publishers: vec![
            publisher("trusted", &trusted),
            publisher("revoked", &revoked),
        ],
        revoked: RevocationList {
            keys: BTreeSet::from([revoked.public().id()]),
            plugins: if case.revoke_plugin {
                BTreeSet::from([hex(&binary_hash)])
            } else {
                BTreeSet::new()
            },
        },
    };

    // Whether the trusted key signed exactly these bytes, unaltered.
    let mut signed_exactly = false;
    let signature = match case.signature {
        SignatureInput::Missing => None,
        SignatureInput::Raw(bytes) => {
            if let Ok(text) = std::str::from_utf8(&bytes)
                && let Ok(parsed) = SignatureFile::parse(text)
            {
                let again = SignatureFile::parse(&parsed.render());
                assert_eq!(again.as_ref(), Ok(&parsed), "signature render/parse");
            }
            Some(bytes)
        }
        SignatureInput::Signed {
            signer,
            over_manifest,
            over_binary,
            flip,
            upper_case_key,
        } => {
            let key = match signer % 3 {
                0 => &trusted,
                1 => &revoked,
                _ => &stranger,
            };
            let signed_manifest = over_manifest.unwrap_or_else(|| manifest_bytes.clone());
            let signed_binary = over_binary.unwrap_or_else(|| binary.clone());
            let mut sig = key.sign(&signed_message(
                &sha256(&signed_manifest),
                &sha256(&signed_binary),
            ));
            if let Some((byte, bit)) = flip {
                sig[usize::from(byte) % sig.len()] ^= 1 << (bit % 8);
            }
            signed_exactly = signer % 3 == 0
                && flip.is_none()
                && signed_manifest == manifest_bytes
                && signed_binary == binary;
            let mut id = key.public().id();
            if upper_case_key {
                id = id.to_ascii_uppercase();
            }
            let file = SignatureFile {
                key: id,
                signature: sig,
            };
            Some(file.render().into_bytes())
        }
    };

    let result = verify_parts(
        Path::new("fuzzed"),
        &manifest_bytes,
        signature.as_deref(),
        || Ok(binary.clone()),
        &trust,
        ABI,
    );
    let manifest_ok = Manifest::parse(&manifest_bytes)
        .is_ok_and(|m| m.sha256 == binary_hash && m.abi_version == ABI);
    let expected = signed_exactly && manifest_ok && !case.revoke_plugin;
    match result {
        Ok(package) => {
            assert!(
                expected,
                "accepted a package the trusted key did not sign as is"
            );
            assert_eq!(package.binary, binary);
            assert_eq!(package.sha256, binary_hash);
            assert_eq!(package.signer, trusted.public().id());
        }
        Err(refusal) => assert!(!expected, "refused a valid package: {refusal}"),
    }
}

#[derive(Debug, Arbitrary)]
struct PackageCase {
    manifest: ManifestInput,
    binary: Vec<u8>,
    signature: SignatureInput,
    revoke_plugin: bool,
    trust_text: Option<String>,
}

#[derive(Debug, Arbitrary)]
enum ManifestInput {
    Valid {
        /// Bit i requests `CAPABILITIES[i]`.
        capabilities: u8,
        wrong_abi: bool,
        names_other_binary: bool,
    },
    Raw(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
enum SignatureInput {
    Missing,
    Raw(Vec<u8>),
    Signed {
        /// 0: the trusted key, 1: the revoked one, 2: a stranger.
        signer: u8,
        /// Bytes signed instead of the manifest.
        over_manifest: Option<Vec<u8>>,
        /// Bytes signed instead of the binary.
        over_binary: Option<Vec<u8>>,
        /// A bit of the signature flipped afterwards.
        flip: Option<(u8, u8)>,
        upper_case_key: bool,
    },
}
