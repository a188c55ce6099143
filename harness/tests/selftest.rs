//! The protocol self-test against adapters outside Rust: the Python example must pass it,
//! and adapters that break the contract must fail it (a self-test that cannot fail is no
//! test).

use std::path::{Path, PathBuf};

use sbx_harness::selftest::{Check, run};

fn guard() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sbx-case-guard"))
}

fn echo() -> PathBuf {
    sbx_adversarial_plugins::path("echo")
}

fn failed(checks: &[Check]) -> Vec<&str> {
    checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect()
}

#[test]
fn the_python_example_adapter_passes_the_self_test() {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/adapters/example_adapter.py");
    let command = vec!["python3".to_string(), script.to_string_lossy().into_owned()];
    let checks = run(&guard(), &command, &echo(), "echo").checks;
    assert!(failed(&checks).is_empty(), "{checks:#?}");
    assert!(checks.len() >= 10);
}

#[test]
fn an_adapter_that_says_passed_instead_of_json_fails_it() {
    let script = "import sys\nfor line in sys.stdin:\n    print('passed', flush=True)\n";
    let command = vec!["python3".into(), "-c".into(), script.into()];
    let checks = run(&guard(), &command, &echo(), "echo").checks;
    let bad = failed(&checks);
    assert!(
        bad.contains(&"hello answers name, version, protocol 1 and features"),
        "{bad:?}"
    );
    assert!(
        bad.contains(&"every line the adapter wrote is valid protocol"),
        "{bad:?}"
    );
}

#[test]
fn an_adapter_that_answers_late_or_not_at_all_fails_it() {
    // Answers hello correctly, then nothing: every later request is late.
    let script = "import sys, json\nline = sys.stdin.readline()\nreq = json.loads(line)\nprint(json.dumps({'id': req['id'], 'ok': {'name': 'mute', 'version': '0', 'protocol': 1, 'features': []}}), flush=True)\nimport time\ntime.sleep(600)\n";
    let command = vec!["python3".into(), "-c".into(), script.into()];
    let started = std::time::Instant::now();
    let checks = run(&guard(), &command, &echo(), "echo").checks;
    let bad = failed(&checks);
    assert!(
        !bad.contains(&"hello answers name, version, protocol 1 and features"),
        "{bad:?}"
    );
    assert!(bad.contains(&"load of a benign plugin succeeds"), "{bad:?}");
    assert!(
        bad.contains(&"after bye the adapter exits with status 0 by itself"),
        "{bad:?}"
    );
    // The guard killed the mute adapter: nothing waited for its ten minutes.
    assert!(started.elapsed() < std::time::Duration::from_secs(300));
}

#[test]
fn an_adapter_whose_sandbox_cannot_run_here_says_so_and_still_speaks_the_protocol() {
    let script = r#"
import sys, json
for line in sys.stdin:
    req = json.loads(line)
    if req.get('op') == 'hello':
        ok = {'name': 'absent', 'version': '0', 'protocol': 1, 'features': [],
              'unavailable': 'the tool is not installed'}
        print(json.dumps({'id': req['id'], 'ok': ok}), flush=True)
    elif req.get('op') == 'bye':
        print(json.dumps({'id': req['id'], 'ok': {}}), flush=True)
        break
    else:
        err = {'kind': 'unsupported', 'message': 'cannot run here'}
        print(json.dumps({'id': req['id'], 'error': err}), flush=True)
"#;
    let command = vec!["python3".into(), "-c".into(), script.into()];
    let test = run(&guard(), &command, &echo(), "echo");
    assert_eq!(
        test.hello.and_then(|h| h.unavailable).as_deref(),
        Some("the tool is not installed")
    );
    // Nothing to load: the handshake, the goodbye and the protocol are checked, and hold.
    assert!(failed(&test.checks).is_empty(), "{:#?}", test.checks);
    assert!(
        !test.checks.iter().any(|c| c.name.contains("load")),
        "{:#?}",
        test.checks
    );
}
