//! `sbx run` as the README shows it.

use std::process::Command;

use crate::common::{plugin, runner};

fn sbx(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sbx"))
        .env("SBX_RUNNER", runner())
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn sbx_run_hosts_the_c_template() {
    let p = plugin("template_c");
    let out = sbx(&[
        "run",
        "--plugin",
        p.to_str().unwrap(),
        "--method",
        "reverse",
        "--input",
        "sandbox",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"xobdnas");
    assert!(String::from_utf8_lossy(&out.stderr).contains("template_c ready"));
}

#[test]
fn sbx_run_hosts_the_cpp_template() {
    let p = plugin("template_cpp");
    let out = sbx(&[
        "run",
        "--plugin",
        p.to_str().unwrap(),
        "--method",
        "upper",
        "--input",
        "sandbox",
        "--report",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"SANDBOX");
    assert!(String::from_utf8_lossy(&out.stderr).contains("seccomp"));
}

#[test]
fn a_killed_plugin_exits_1_with_its_record() {
    let p = plugin("probe");
    let out = sbx(&["run", "--plugin", p.to_str().unwrap(), "--method", "socket"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("seccomp_violation") && err.contains("\"socket\""),
        "{err}"
    );
}

#[test]
fn bad_usage_exits_2_with_a_reason() {
    for (args, expect) in [
        (&["run", "--method", "x"][..], "--plugin is required"),
        (
            &["run", "--plugin", "/nonexistent.so", "--method", "x"][..],
            "/nonexistent.so",
        ),
        (
            &[
                "run",
                "--plugin",
                "x",
                "--method",
                "m",
                "--disable",
                "bogus",
            ][..],
            "unknown layer `bogus`",
        ),
        (
            &["run", "--plugin", "x", "--method", "m", "--timeout-ms", "0"][..],
            "not a positive integer",
        ),
        (&["frobnicate"][..], "unknown command"),
    ] {
        let out = sbx(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{args:?}: {err}");
    }
}
