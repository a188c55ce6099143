//! Signed loading: the runner loads the verified bytes sealed in a memfd, never the path.

use sbx_contract::abi;
use sbx_host::{Plugin, SandboxConfig};
use sbx_package::{Manifest, PLUGIN_FILE, Publisher, RequestedLimits, SecretKey, TrustStore};

use crate::common::{call, plugin, runner};

/// Signs the suite's plugin `name` into a package in `dir`; returns the trust store.
pub fn signed(name: &str, dir: &std::path::Path, capabilities: &[&str]) -> TrustStore {
    signed_as(&name.replace('_', "-"), name, dir, capabilities)
}

/// Signs the suite's plugin `plugin_name` as a package named `name`.
pub fn signed_as(
    name: &str,
    plugin_name: &str,
    dir: &std::path::Path,
    capabilities: &[&str],
) -> TrustStore {
    let key = SecretKey::generate().expect("key");
    signed_version(name, plugin_name, "1.0.0", &key, dir, capabilities);
    trusting(&key)
}

/// Signs the suite's plugin `plugin_name` with `key` as version `version` of the package
/// `name`.
pub fn signed_version(
    name: &str,
    plugin_name: &str,
    version: &str,
    key: &SecretKey,
    dir: &std::path::Path,
    capabilities: &[&str],
) {
    let binary = std::fs::read(plugin(plugin_name)).expect("plugin bytes");
    let manifest = Manifest {
        name: name.to_owned(),
        version: version.into(),
        abi_version: abi::ABI_VERSION,
        sha256: [0; 32],
        capabilities: capabilities.iter().map(|c| c.to_string()).collect(),
        limits: RequestedLimits::default(),
    };
    sbx_package::sign(&manifest, &binary, key, dir).expect("sign");
}

/// A trust store accepting `key` alone.
pub fn trusting(key: &SecretKey) -> TrustStore {
    TrustStore {
        publishers: vec![Publisher {
            name: "test".into(),
            key: key.public(),
        }],
        ..TrustStore::default()
    }
}

#[test]
fn the_verified_bytes_run_even_if_the_file_is_swapped_after_verification() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("pkg");
    let trust = signed("template_c", &pkg, &[]);
    let verified = sbx_package::verify(&pkg, &trust, abi::ABI_VERSION).expect("verifies");
    // After verification, the file on disk becomes another plugin (the probe).
    std::fs::copy(plugin("probe"), pkg.join(PLUGIN_FILE)).expect("swap");
    let config = SandboxConfig::for_package(&verified)
        .expect("seal")
        .runner(runner())
        .build()
        .expect("config");
    let mut p = Plugin::spawn(&config).expect("spawn");
    p.init(b"").expect("init");
    p.start().expect("start");
    // The template answers echo; the probe would answer "pong" to ping and refuse echo.
    assert_eq!(call(&mut p, "echo", "sealed"), "sealed");
    assert!(p.invoke("ping", b"").is_err());
    assert_eq!(p.name(), "template-c");
}

#[test]
fn the_sealed_descriptor_is_closed_before_the_plugin_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("pkg");
    let trust = signed("probe", &pkg, &[]);
    let verified = sbx_package::verify(&pkg, &trust, abi::ABI_VERSION).expect("verifies");
    let config = SandboxConfig::for_package(&verified)
        .expect("seal")
        .runner(runner())
        .build()
        .expect("config");
    let mut p = Plugin::spawn(&config).expect("spawn");
    p.init(b"").expect("init");
    p.start().expect("start");
    // Descriptor 6, the sealed plugin, is gone; 5 is the liveness socket, 7 the payload
    // window.
    assert_eq!(call(&mut p, "fds", ""), "ok 0 1 2 3 4 5 7 ");
}
