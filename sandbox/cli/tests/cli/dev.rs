//! `sbx dev`: the development mode on the suite's hostile plugins. Each one the reference
//! ends for a refused system call is run twice: under `sbx dev` its refused call is
//! reported with its arguments and the rule that refused it, the plugin goes on, and a
//! summary ends the report; under `sbx run` it is still killed, naming the same call.

use std::process::Command;

use sbx_adversarial_plugins::{Expectation, Termination};

use crate::common::{plugin, runner};

/// What an `attack` method is told: every target the harness names, at places that exist
/// and reach nothing of value.
const ATTACK_INPUT: &str = "secret_path=/etc/hostname\nsecret_dir=/etc\n\
    forbidden_dir=/nonexistent/forbidden\ntcp_port=9\nudp_port=9\nunix_name=sbx-dev-test\n\
    host_pid=1\ntoken_env=SBX_DEV_TEST\nstorage_bytes=0\nhost_call_rate=0\nstorage_keys=0\n";

fn sbx(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sbx"))
        .env("SBX_RUNNER", runner())
        .args(args)
        .output()
        .expect("sbx runs")
}

#[test]
fn sbx_dev_reports_what_sbx_run_kills_for() {
    let killed_for_a_call = sbx_adversarial_plugins::all().iter().filter(|p| {
        matches!(p.expect, Expectation::Killed(Termination::SeccompViolation))
            && p.refused_syscall.is_some()
            && p.package.is_none()
            && p.inert_unless.is_none()
    });
    let mut checked = 0;
    let mut not_refused_in_dev = Vec::new();
    for spec in killed_for_a_call {
        let syscall = spec.refused_syscall.expect("filtered on it");
        let path = plugin(spec.name);
        let path = path.to_str().expect("utf-8 path");
        let call = |mode: &str| {
            sbx(&[
                "--log-level",
                "off",
                mode,
                "--plugin",
                path,
                "--method",
                spec.method,
                "--input",
                ATTACK_INPUT,
                "--timeout-ms",
                "2000",
            ])
        };
        let run = call("run");
        let run_err = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{}: {run_err}", spec.name);
        assert!(
            run_err.contains("\"kind\":\"seccomp_violation\""),
            "{}: sbx run did not end it for a refused call: {run_err}",
            spec.name
        );
        let dev = call("dev");
        let dev_err = String::from_utf8_lossy(&dev.stderr);
        assert!(dev_err.contains("\nsummary:\n"), "{}: {dev_err}", spec.name);
        // The refused call with its arguments and the rule, or (a call the kill list names,
        // which ends the plugin in every mode) its kill, naming it.
        let reported = dev_err
            .lines()
            .any(|l| l.starts_with(&format!("refused {syscall}(0x")) && l.contains("): "));
        let killed = dev_err.contains(&format!("\"syscall_name\":\"{syscall}\""));
        if !reported && !killed {
            not_refused_in_dev.push(format!("{} ({syscall}): {dev_err}", spec.name));
        }
        if reported {
            assert!(
                dev_err.contains(&format!("#   {syscall}(")),
                "{}: the summary does not list the refused call: {dev_err}",
                spec.name
            );
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} plugins checked");
    assert!(not_refused_in_dev.is_empty(), "{not_refused_in_dev:#?}");
}

#[test]
fn sbx_dev_is_refused_in_strict_mode() {
    let out = sbx(&[
        "dev",
        "--strict",
        "--plugin",
        plugin("template_c").to_str().expect("utf-8"),
        "--method",
        "reverse",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refused in strict mode"),
        "{out:?}"
    );
}

/// A host call the plugin is not granted is explained, and the summary asks for it.
#[test]
fn sbx_dev_explains_a_denied_host_call_and_asks_for_it() {
    let out = sbx(&[
        "dev",
        "--plugin",
        plugin("probe").to_str().expect("utf-8"),
        "--method",
        "put",
        "--input",
        "k=v",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("storage_put was denied: the plugin is not granted `storage`"),
        "{err}"
    );
    assert!(
        err.contains("capabilities = [\"log\", \"storage\"]"),
        "{err}"
    );
}

/// Plugins built with AddressSanitizer and with UBSan run in the development mode (ASan's
/// runtime preloaded for it, its shadow memory beyond any address space bound), and what
/// their runtimes report reaches the author, on stderr.
#[test]
fn sbx_dev_hands_on_what_a_sanitizer_reports() {
    for (plugin_name, report) in [
        (
            "sanitized_address",
            "ERROR: AddressSanitizer: heap-buffer-overflow",
        ),
        (
            "sanitized_undefined",
            "runtime error: signed integer overflow",
        ),
    ] {
        let out = sbx(&[
            "--log-level",
            "off",
            "dev",
            "--plugin",
            plugin(plugin_name).to_str().expect("utf-8"),
            "--method",
            "overflow",
            "--input",
            "abc",
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.lines()
                .any(|l| l.starts_with("[plugin stderr]") && l.contains(report)),
            "{plugin_name}: {err}"
        );
    }
}
