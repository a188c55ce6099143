//! The sandbox without root, and with a kernel that refuses a layer: it gives up only what
//! privilege or the kernel withholds, says so in the report, and strict mode refuses.

use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::common::{plugin, runner};

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn layer<'a>(record: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    record["enforcement"]["layers"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["layer"] == name))
        .unwrap_or_else(|| panic!("{name} missing from {record}"))
}

/// Copies `sbx`, `sbx-runner` and the probe into a fresh directory every user can read, so
/// an unprivileged host can run them wherever the build tree lives.
fn world_readable_copies() -> (tempfile::TempDir, Command) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("sbx-unpriv")
        .tempdir_in("/tmp")
        .unwrap();
    let copy = |from: std::path::PathBuf, name: &str| {
        let to = dir.path().join(name);
        std::fs::copy(&from, &to).unwrap();
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755)).unwrap();
        to
    };
    let sbx = copy(env!("CARGO_BIN_EXE_sbx").into(), "sbx");
    let runner = copy(runner(), "sbx-runner");
    let probe = copy(plugin("probe"), "probe.so");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = Command::new(sbx);
    cmd.env("SBX_RUNNER", runner)
        .args(["run", "--json", "--method", "ids", "--plugin"])
        .arg(probe);
    (dir, cmd)
}

#[test]
fn an_unprivileged_host_applies_every_layer_but_identity_and_a_process_cap_of_the_plugins_own() {
    let (_dir, mut cmd) = world_readable_copies();
    if nix::unistd::geteuid().is_root() {
        // Run the host itself as an unprivileged user.
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().unwrap();
    let record = json(&out);
    assert_eq!(record["ok"], true, "{record}");
    assert_eq!(layer(&record, "identity")["status"], "not_needed");
    for applied in [
        "namespace.user",
        "namespace.net",
        "capabilities",
        "landlock.fs",
        "seccomp",
    ] {
        assert_eq!(
            layer(&record, applied)["status"],
            "applied",
            "{applied}: {record}"
        );
    }
    // The plugin keeps the host user's uid, but the cap is set inside its own user
    // namespace, where the kernel counts its tasks alone: not shared with the user's.
    let nproc = layer(&record, "rlimit.nproc");
    assert_eq!(nproc["status"], "applied", "{record}");
    assert!(
        nproc["detail"]
            .as_str()
            .unwrap()
            .contains("the plugin's own user namespace"),
        "{record}"
    );
    let ids = record["output"].as_str().unwrap();
    assert!(!ids.starts_with("uid=0 "), "{ids}");
    assert!(ids.contains("eff=0:0 perm=0:0"), "{ids}");
}

/// Runs `sbx` in a user namespace whose limit on nested user namespaces is zero, so the
/// kernel refuses the sandbox's own user namespace.
fn without_user_namespaces(strict: bool) -> serde_json::Value {
    let sbx_path = env!("CARGO_BIN_EXE_sbx");
    let script = format!(
        "echo 0 > /proc/sys/user/max_user_namespaces && exec {sbx_path} run --json --disable identity {} --method ping --plugin {}",
        if strict { "--strict" } else { "" },
        plugin("probe").display()
    );
    let out = Command::new("unshare")
        .args(["--user", "--map-root-user", "sh", "-c", &script])
        .env("SBX_RUNNER", runner())
        .output()
        .expect("unshare(1) from util-linux");
    json(&out)
}

#[test]
fn a_refused_layer_is_reported_not_skipped() {
    let record = without_user_namespaces(false);
    assert_eq!(record["ok"], true, "{record}");
    let user = layer(&record, "namespace.user");
    assert_eq!(user["status"], "unavailable", "{record}");
    assert!(
        user["detail"].as_str().unwrap().contains("ENOSPC"),
        "{user}"
    );
}

#[test]
fn strict_mode_refuses_to_run_without_a_layer() {
    let record = without_user_namespaces(true);
    assert_eq!(record["ok"], false, "{record}");
    let error = record["error"].as_str().unwrap();
    assert!(
        error.contains("strict mode: not in force: namespace.user"),
        "{error}"
    );
    assert_eq!(
        record["termination"]["exit_code"],
        sbx_contract::exit_code::STRICT
    );
}
