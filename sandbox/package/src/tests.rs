//! Every refusal path of `verify`, and totality of the parsers.

use std::path::Path;

use proptest::prelude::*;

use super::*;

fn manifest(name: &str) -> Manifest {
    Manifest {
        name: name.into(),
        version: "1.0.0".into(),
        abi_version: 1,
        sha256: [0; 32],
        capabilities: vec!["log".into(), "storage".into()],
        limits: RequestedLimits::default(),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    pkg: PathBuf,
    key: SecretKey,
    trust: TrustStore,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("echo.sbxpkg");
    let key = SecretKey::generate().expect("key");
    sign(&manifest("echo"), b"\x7fELF plugin bytes", &key, &pkg).expect("sign");
    let trust = TrustStore {
        publishers: vec![Publisher {
            name: "test".into(),
            key: key.public(),
        }],
        revoked: RevocationList::default(),
    };
    Fixture {
        _dir: dir,
        pkg,
        key,
        trust,
    }
}

fn kind(r: Result<VerifiedPackage, VerifyError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.kind(),
    }
}

#[test]
fn a_signed_package_verifies_with_its_bytes() {
    let f = fixture();
    let v = verify(&f.pkg, &f.trust, 1).expect("verifies");
    assert_eq!(v.binary, b"\x7fELF plugin bytes");
    assert_eq!(v.sha256, sha256(b"\x7fELF plugin bytes"));
    assert_eq!(v.signer, f.key.public().id());
    assert_eq!(v.manifest.name, "echo");
}

#[test]
fn each_refusal_is_distinct() {
    let f = fixture();
    let write = |file: &str, bytes: &[u8]| std::fs::write(f.pkg.join(file), bytes).expect("write");

    // Untrusted signer, then revoked key, then revoked plugin.
    assert_eq!(
        kind(verify(&f.pkg, &TrustStore::default(), 1)),
        "untrusted_signer"
    );
    let mut t = f.trust.clone();
    t.revoked.keys.insert(f.key.public().id());
    assert_eq!(kind(verify(&f.pkg, &t, 1)), "revoked_key");
    let mut t = f.trust.clone();
    t.revoked
        .plugins
        .insert(hex(&sha256(b"\x7fELF plugin bytes")));
    assert_eq!(kind(verify(&f.pkg, &t, 1)), "revoked_plugin");
    assert_eq!(kind(verify(&f.pkg, &f.trust, 2)), "wrong_abi");

    // Tampered binary: the signature still covers the manifest and the binary it names.
    write(PLUGIN_FILE, b"\x7fELF evil bytes");
    assert_eq!(kind(verify(&f.pkg, &f.trust, 1)), "tampered_binary");
    write(PLUGIN_FILE, b"\x7fELF plugin bytes");

    // A manifest edited after signing: the signature no longer verifies.
    let original = std::fs::read(f.pkg.join(MANIFEST_FILE)).expect("read");
    let edited = String::from_utf8(original.clone())
        .expect("utf-8")
        .replace("\"log\"", "\"net\"");
    write(MANIFEST_FILE, edited.as_bytes());
    assert_eq!(kind(verify(&f.pkg, &f.trust, 1)), "bad_signature");
    write(MANIFEST_FILE, &original);

    // A publisher that signed a manifest naming another binary.
    let mut m = manifest("echo");
    m.sha256 = sha256(b"another");
    let text = m.render();
    let sig = f.key.sign(&signed_message(
        &sha256(text.as_bytes()),
        &sha256(b"\x7fELF plugin bytes"),
    ));
    write(MANIFEST_FILE, text.as_bytes());
    write(
        SIGNATURE_FILE,
        SignatureFile {
            key: f.key.public().id(),
            signature: sig,
        }
        .render()
        .as_bytes(),
    );
    assert_eq!(kind(verify(&f.pkg, &f.trust, 1)), "manifest_mismatch");

    write(
        SIGNATURE_FILE,
        b"format = 1\nkey = \"zz\"\nsignature = \"00\"\n",
    );
    assert_eq!(kind(verify(&f.pkg, &f.trust, 1)), "malformed_signature");
    std::fs::remove_file(f.pkg.join(SIGNATURE_FILE)).expect("rm");
    assert_eq!(kind(verify(&f.pkg, &f.trust, 1)), "unsigned");

    write(MANIFEST_FILE, b"name = 'x'");
    assert_eq!(kind(verify(&f.pkg, &f.trust, 1)), "malformed_manifest");
    write(MANIFEST_FILE, &vec![b'#'; MAX_MANIFEST_LEN + 1]);
    assert_eq!(kind(verify(&f.pkg, &f.trust, 1)), "oversized_manifest");
    std::fs::remove_file(f.pkg.join(MANIFEST_FILE)).expect("rm");
    assert_eq!(kind(verify(&f.pkg, &f.trust, 1)), "io");
}

#[test]
fn manifest_rules() {
    let ok = manifest("a-b_1").render();
    assert!(Manifest::parse(ok.as_bytes()).is_ok());
    for (from, to) in [
        ("name = \"a-b_1\"", "name = \"../x\""),
        ("version = \"1.0.0\"", "version = \"\""),
        ("\"storage\"", "\"root\""),
        ("\"storage\"", "\"log\""),
        ("format = 1", "format = 2"),
    ] {
        assert!(ok.contains(from), "{from}");
        let bad = ok.replace(from, to);
        assert!(Manifest::parse(bad.as_bytes()).is_err(), "{to}");
    }
    assert!(Manifest::parse(&[0xff, 0xfe]).is_err());
    assert!(Manifest::parse(format!("{ok}\nextra = 1\n").as_bytes()).is_err());
}

#[test]
fn trust_store_parsing() {
    let key = SecretKey::generate().expect("key");
    let text = format!(
        "format = 1\n[[publisher]]\nname = \"a\"\npublic_key = \"{}\"\n[revoked]\nkeys = [\"{}\"]\nplugins = [\"{}\"]\n",
        key.public().to_hex(),
        key.public().to_hex(),
        hex(&[7; 32])
    );
    let t = TrustStore::parse(&text, Path::new("t")).expect("parses");
    assert!(t.publisher(&key.public().id()).is_some());
    assert!(t.revoked.keys.contains(&key.public().id()));
    for bad in [
        "format = 2",
        "format = 1\n[[publisher]]\nname = \"a\"\npublic_key = \"00\"\n",
        "format = 1\n[revoked]\nplugins = [\"xyz\"]\n",
        "format = 1\nunknown = true\n",
    ] {
        assert!(TrustStore::parse(bad, Path::new("t")).is_err(), "{bad}");
    }
    assert_eq!(
        SecretKey::parse(&key.to_hex()).expect("parses").public(),
        key.public()
    );
}

/// Every spelling of a key names one id: the id in either case, the whole public key in
/// either case. Anything else is no key.
#[test]
fn a_key_has_one_canonical_id_however_it_is_spelled() {
    let key = SecretKey::generate().expect("key").public();
    let id = key.id();
    for spelling in [
        id.clone(),
        id.to_ascii_uppercase(),
        key.to_hex(),
        key.to_hex().to_ascii_uppercase(),
    ] {
        assert_eq!(
            canonical_key_id(&spelling).as_deref(),
            Some(id.as_str()),
            "{spelling}"
        );
    }
    for not_a_key in ["", "xyz", &id[1..], &format!("{id}00")] {
        assert_eq!(canonical_key_id(not_a_key), None, "{not_a_key}");
    }
}

proptest! {
    /// The parsers of untrusted text are total: any bytes give a value or an error.
    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Manifest::parse(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        let _ = SignatureFile::parse(&text);
        let _ = TrustStore::parse(&text, Path::new("t"));
        let _ = PublicKey::parse(&text);
    }

    /// A manifest survives render and parse unchanged.
    #[test]
    fn manifests_round_trip(name in "[a-z0-9_-]{1,64}", version in "[0-9A-Za-z.+-]{1,32}",
                            sha in any::<[u8; 32]>(), caps in proptest::sample::subsequence(CAPABILITIES.to_vec(), 0..6)) {
        let m = Manifest {
            name, version, abi_version: 1, sha256: sha,
            capabilities: caps.iter().map(|c| c.to_string()).collect(),
            limits: RequestedLimits { memory_mib: Some(64), cpu_percent: Some(50), ..RequestedLimits::default() },
        };
        prop_assert_eq!(Manifest::parse(m.render().as_bytes()), Ok(m));
    }
}

/// The saved inputs of the publisher-facing fuzz targets replay on stable.
#[test]
fn fuzz_inputs_replay() {
    let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let manifests = sbx_ipc::fuzzing::replay(&fuzz, "manifest", crate::fuzzing::fuzz_manifest);
    let packages = sbx_ipc::fuzzing::replay(&fuzz, "package_verify", crate::fuzzing::fuzz_package);
    let binaries = sbx_ipc::fuzzing::replay(&fuzz, "elf_hardening", crate::fuzzing::fuzz_hardening);
    assert!(
        manifests > 0 && packages > 0 && binaries > 0,
        "the seed corpora are missing"
    );
}

/// A rendered trust store parses back to itself: publishers, revoked key ids, plugin hashes.
#[test]
fn a_trust_store_renders_to_what_it_parses_from() {
    let f = fixture();
    let mut trust = f.trust.clone();
    trust.publishers.push(Publisher {
        name: "a \"quoted\" name".into(),
        key: SecretKey::generate().expect("key").public(),
    });
    trust.revoked.keys.insert(f.key.public().id());
    trust.revoked.plugins.insert(hex(&sha256(b"revoked")));
    let parsed = TrustStore::parse(&trust.render(), std::path::Path::new("rendered"));
    assert_eq!(parsed.expect("parses"), trust);
}
