//! Instruction counts of signed loading's CPU-bound paths (gungraun, on valgrind's
//! callgrind): parsing a manifest, and verifying a whole package (manifest, signature file,
//! trust store, ed25519 signature, hashes of the manifest and of a 64 KiB binary).

use std::collections::BTreeSet;
use std::hint::black_box;
use std::path::Path;

use gungraun::{library_benchmark, library_benchmark_group, main};
use sbx_package::{
    Manifest, Publisher, RevocationList, SecretKey, SignatureFile, TrustStore, VerifiedPackage,
    hex, sha256, signed_message, verify_parts,
};

const ABI: u32 = 1;
const SEED: &str = "1111111111111111111111111111111111111111111111111111111111111111";

/// A package's parts as bytes, signed by the one trusted key.
struct Package {
    manifest: Vec<u8>,
    signature: Vec<u8>,
    binary: Vec<u8>,
    trust: TrustStore,
}

fn manifest_text(binary: &[u8]) -> Vec<u8> {
    format!(
        "format = 1\nname = \"bench\"\nversion = \"1.0\"\nabi_version = {ABI}\n\
         sha256 = \"{}\"\ncapabilities = [\"log\", \"storage\"]\n",
        hex(&sha256(binary))
    )
    .into_bytes()
}

fn manifest() -> Vec<u8> {
    manifest_text(b"binary")
}

fn package() -> Package {
    let key = SecretKey::parse(SEED).expect("a valid seed");
    let binary = vec![0x90; 64 << 10];
    let manifest = manifest_text(&binary);
    let signature = SignatureFile {
        key: key.public().id(),
        signature: key.sign(&signed_message(&sha256(&manifest), &sha256(&binary))),
    }
    .render()
    .into_bytes();
    let trust = TrustStore {
        publishers: vec![Publisher {
            name: "bench".into(),
            key: key.public(),
        }],
        revoked: RevocationList {
            keys: BTreeSet::new(),
            plugins: BTreeSet::new(),
        },
    };
    Package {
        manifest,
        signature,
        binary,
        trust,
    }
}

#[library_benchmark]
#[bench::signed(setup = manifest)]
fn manifest_parse(bytes: Vec<u8>) -> Manifest {
    black_box(Manifest::parse(black_box(&bytes)).expect("parses"))
}

#[library_benchmark]
#[bench::kib64(setup = package)]
fn package_verify(p: Package) -> VerifiedPackage {
    let binary = p.binary;
    black_box(
        verify_parts(
            Path::new("bench"),
            black_box(&p.manifest),
            Some(&p.signature),
            || Ok(binary),
            &p.trust,
            ABI,
        )
        .expect("verifies"),
    )
}

library_benchmark_group!(
    name = loading;
    benchmarks = manifest_parse, package_verify
);

main!(library_benchmark_groups = loading);
