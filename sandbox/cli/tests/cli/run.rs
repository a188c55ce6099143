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

/// A usage error exits 2 with one line that names the problem (never the whole usage),
/// and the help that explains it.
#[test]
fn bad_usage_exits_2_with_one_line_naming_the_problem() {
    let template = plugin("template_c");
    let p = template.to_str().unwrap();
    for (args, expect) in [
        (&["run", "--method", "x"][..], "--plugin"),
        (
            &["run", "--plugin", "/nonexistent.so", "--method", "x"][..],
            "'/nonexistent.so'",
        ),
        (
            &["run", "--plugin", p, "--method", "m", "--disable", "bogus"][..],
            "'bogus'",
        ),
        (
            &["run", "--plugin", p, "--method", "m", "--timeout-ms", "0"][..],
            "--timeout-ms",
        ),
        (
            &["stats", "/nonexistent/audit.jsonl"][..],
            "/nonexistent/audit.jsonl",
        ),
        (
            &["inspect", "/nonexistent.sbxpkg"][..],
            "/nonexistent.sbxpkg",
        ),
        (&["verify", "/tmp"][..], "--trust"),
        (&["frobnicate"][..], "frobnicate"),
    ] {
        let out = sbx(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(err.contains("--help`)"), "{args:?}: {err}");
    }
}

/// Every subcommand has its help, which exits 0; `sbx` alone shows the help and exits 2.
#[test]
fn every_subcommand_has_help() {
    for sub in [
        "run",
        "dev",
        "keygen",
        "sign",
        "verify",
        "inspect",
        "host",
        "update",
        "stats",
        "inventory",
        "header",
        "completions",
        "man",
    ] {
        let out = sbx(&[sub, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{sub}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("Usage: sbx {sub}")),
            "{sub}"
        );
    }
    assert_eq!(sbx(&["--help"]).status.code(), Some(0));
    assert_eq!(sbx(&["--version"]).status.code(), Some(0));
    assert_eq!(sbx(&[]).status.code(), Some(2));
}

/// A file that is not a shared object for this machine is a refused load: exit 1, as any
/// plugin that fails.
#[test]
fn a_plugin_that_is_not_an_elf_object_is_refused_with_1() {
    let out = sbx(&[
        "run",
        "--plugin",
        plugin("load_not_elf").to_str().unwrap(),
        "--method",
        "attack",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("activation failed"),
        "{out:?}"
    );
}

/// Completion scripts and the manual page come from the same definition as the parser.
#[test]
fn completions_and_the_manual_page_are_generated() {
    let bash = sbx(&["completions", "bash"]);
    assert!(bash.status.success());
    let script = String::from_utf8_lossy(&bash.stdout);
    assert!(
        script.contains("_sbx()") && script.contains("--plugin"),
        "{script}"
    );
    let man = sbx(&["man"]);
    assert!(man.status.success());
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(page.contains(".TH sbx 1"), "{page}");
    assert!(page.contains("keygen"), "{page}");
}

/// The value of sample `name` of plugin `plugin` in the OpenMetrics exposition `text`, as
/// the Prometheus project's Python client parses it (Debian's python3-prometheus-client),
/// which refuses a malformed exposition.
fn openmetrics_value(text: &str, name: &str, plugin: &str) -> f64 {
    use std::io::Write;
    let read = format!(
        "import sys\n\
         from prometheus_client.openmetrics.parser import text_string_to_metric_families\n\
         print([s.value for f in text_string_to_metric_families(sys.stdin.read())\n\
                for s in f.samples if s.name == {name:?} and s.labels.get('plugin') == {plugin:?}][0])\n"
    );
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", &read])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs: apt-get install -y python3-prometheus-client");
    let mut stdin = child.stdin.take().expect("a pipe");
    stdin.write_all(text.as_bytes()).expect("written");
    drop(stdin);
    let out = child.wait_with_output().expect("the parser ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a number")
}

/// The standard output of a command that must succeed (else its output and errors).
fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The README's worked example: a key, the C template signed, verified, hosted under the
/// example policy, and the audit log read back.
#[test]
fn sign_verify_and_host_the_template_as_the_readme_shows() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    ok(sbx(&["keygen", "--out", &d("publisher")]));
    let template = plugin("template_c");
    ok(sbx(&[
        "sign",
        "--key",
        &d("publisher.key"),
        "--plugin",
        template.to_str().unwrap(),
        "--name",
        "template-c",
        "--version",
        "1.0.0",
        "--capability",
        "log",
        "--out",
        &d("template-c.sbxpkg"),
    ]));
    let verified = ok(sbx(&[
        "verify",
        "--pub",
        &d("publisher.pub"),
        &d("template-c.sbxpkg"),
    ]));
    assert!(
        verified.starts_with("verified template-c 1.0.0"),
        "{verified}"
    );
    // The hardening line the README shows.
    assert!(
        verified.lines().any(|l| l
            == "hardening     relro, bind_now, nx_stack, no_text_relocations, \
                stack_protector, fortify (not shown: ibt, shstk)"),
        "{verified}"
    );
    assert!(ok(sbx(&["inspect", &d("template-c.sbxpkg")])).contains("sha256 matches"));
    let policy = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../policy/plugins.example.toml"
    );
    let out = ok(sbx(&[
        "host",
        "--package",
        &d("template-c.sbxpkg"),
        "--pub",
        &d("publisher.pub"),
        "--policy",
        policy,
        "--storage",
        &d("storage"),
        "--audit",
        &d("audit.jsonl"),
        "--method",
        "reverse",
        "--input",
        "signed",
    ]));
    assert_eq!(out, "dengis");
    let stats = ok(sbx(&["stats", &d("audit.jsonl")]));
    assert!(stats.contains("template-c"), "{stats}");
    assert!(stats.contains("invocations 1"), "{stats}");
    let inventory = ok(sbx(&["inventory", &d("audit.jsonl")]));
    for line in [
        "template-c",
        "  version       1.0.0",
        "  granted       log",
        "  hardening     relro, bind_now, nx_stack, no_text_relocations required",
        "  restarts      0",
        "  last failure  none",
    ] {
        assert!(
            inventory.lines().any(|l| l == line),
            "{line:?} in\n{inventory}"
        );
    }
    // The same figures for a monitoring system, as Prometheus' own parser reads them.
    let metrics = ok(sbx(&["stats", "--openmetrics", &d("audit.jsonl")]));
    assert_eq!(
        openmetrics_value(&metrics, "sbx_plugin_calls_total", "template-c"),
        1.0,
        "{metrics}"
    );
    // A tampered package is refused with its kind, and exit code 1.
    std::fs::write(dir.path().join("template-c.sbxpkg/plugin.so"), b"not it").unwrap();
    let refused = sbx(&[
        "verify",
        "--pub",
        &d("publisher.pub"),
        &d("template-c.sbxpkg"),
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("tampered_binary"));
}

/// Limits asked for at signing land in the signed manifest; a value no manifest may hold
/// is refused before anything is signed.
#[test]
fn sign_records_the_limits_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    assert!(sbx(&["keygen", "--out", &d("publisher")]).status.success());
    let template = plugin("template_c");
    let sign = |extra: &[&str], out: &str| {
        let mut args = vec![
            "sign".to_owned(),
            "--key".into(),
            d("publisher.key"),
            "--plugin".into(),
            template.to_str().unwrap().into(),
            "--name".into(),
            "template-c".into(),
            "--version".into(),
            "1.0.0".into(),
            "--out".into(),
            d(out),
        ];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        sbx(&args)
    };
    let signed = sign(&["--cpu-percent", "20", "--memory-mib", "64"], "capped");
    assert!(signed.status.success(), "{signed:?}");
    let shown = String::from_utf8(sbx(&["inspect", &d("capped")]).stdout).unwrap();
    assert!(
        shown.contains("limits        memory_mib 64, cpu_percent 20"),
        "{shown}"
    );
    for (bad, why) in [
        (["--cpu-percent", "0"], "limits.cpu_percent"),
        (["--cpu-percent", "fast"], "'fast' for '--cpu-percent <N>'"),
    ] {
        let out = sign(&bad, "refused");
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(why),
            "{out:?}"
        );
        assert!(!dir.path().join("refused").exists());
    }
}

/// `--log-level` and `--log-format json` print the sandbox's traces on stderr, one JSON
/// object a line, with the call's span; the output stays alone on stdout.
#[test]
fn traces_go_to_stderr_as_json_lines_at_the_level_asked() {
    let p = plugin("template_c");
    let out = sbx(&[
        "--log-format",
        "json",
        "--log-level",
        "info",
        "run",
        "--plugin",
        p.to_str().unwrap(),
        "--method",
        "reverse",
        "--input",
        "sandbox",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"xobdnas");
    let traces: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let call = traces
        .iter()
        .find(|t| t["fields"]["message"] == "call answered")
        .unwrap_or_else(|| panic!("no call traced: {out:?}"));
    assert_eq!(call["span"]["method"], "reverse");
    assert_eq!(call["fields"]["output_bytes"], 7);
    // At info, the debug events (each confinement layer) are filtered out.
    assert!(traces.iter().all(|t| t["level"] != "DEBUG"), "{traces:?}");
    let bad = sbx(&["--log-level", "sbx_host=[", "header"]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
}

/// A reader that stops reading ends `sbx` quietly, by SIGPIPE as any Unix tool: no panic.
#[test]
fn a_closed_output_pipe_ends_sbx_without_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_sbx"))
        .arg("header")
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("sbx runs");
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `sign` and `verify` show what a binary shows of its hardening, and refuse one that lacks
/// a mitigation asked for, naming it and the flags that give it; nothing is signed then.
#[test]
fn sign_and_verify_hold_a_binary_to_the_hardening_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    assert!(sbx(&["keygen", "--out", &d("publisher")]).status.success());
    let unhardened = plugin("load_unhardened_relro");
    let key = d("publisher.key");
    let sign = |extra: &[&str], out: &str| {
        let out = d(out);
        let mut args = vec![
            "sign",
            "--key",
            &key,
            "--plugin",
            unhardened.to_str().unwrap(),
            "--name",
            "unhardened",
            "--version",
            "1.0.0",
            "--out",
            &out,
        ];
        args.extend_from_slice(extra);
        sbx(&args)
    };
    let refused = sign(&["--require-hardening", "bind_now,relro"], "refused.sbxpkg");
    assert_eq!(refused.status.code(), Some(1));
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("not_hardened") && why.contains("relro (link with -Wl,-z,relro)"),
        "{why}"
    );
    assert!(!dir.path().join("refused.sbxpkg").exists());
    let signed = ok(sign(&[], "unhardened.sbxpkg"));
    assert!(
        signed.contains("(not shown: relro, ibt, shstk)"),
        "{signed}"
    );
    let verify = |required: &str| {
        sbx(&[
            "verify",
            "--pub",
            &d("publisher.pub"),
            "--require-hardening",
            required,
            &d("unhardened.sbxpkg"),
        ])
    };
    assert!(ok(verify("bind_now,nx_stack")).contains("hardening     bind_now"));
    let lacks = verify("fortify,relro");
    assert_eq!(lacks.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&lacks.stderr).contains("lacks relro"));
    // A mitigation no one knows is a usage error, never a silent pass.
    assert_eq!(verify("pie").status.code(), Some(2));
}
