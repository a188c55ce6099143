//! The protocol self-test: does an adapter speak adapter protocol v1 correctly?
//!
//! It checks the contract, not containment: handshake, load, invoke, the plugin's own
//! error status passed through, errors for an unknown plugin and for a malformed line,
//! unload with a termination record, and `bye` ending the process with status 0. Every
//! line must parse. The conformance run self-tests each adapter before its cases.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::protocol::{
    ErrorKind, HelloResult, InvokeResult, Op, PROTOCOL_VERSION, Policy, PolicyDeadlines,
    PolicyLimits, TERMINATION_REASONS, Termination, decode_bytes, encode_bytes,
};
use crate::session::{Answer, Launch, Session};

/// One check of the self-test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Check {
    /// What is checked.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// What was seen.
    pub detail: String,
}

/// A small policy for the self-test's benign plugin.
pub fn default_policy() -> Policy {
    Policy {
        grants: Vec::new(),
        limits: PolicyLimits {
            memory_bytes: 512 << 20,
            cpu_ms: 3000,
            threads: 32,
            open_files: 32,
            output_bytes: 64 << 10,
            cpu_percent: None,
            storage_bytes: None,
            storage_keys: None,
            host_calls_per_second: None,
            log_bytes_per_second: None,
        },
        deadlines: PolicyDeadlines {
            init_ms: 2000,
            call_ms: 2000,
            shutdown_ms: 1000,
        },
        net_allowlist: Vec::new(),
        config: Default::default(),
        exceptions: Vec::new(),
        restart: None,
        strict: false,
        require_hardening: Vec::new(),
        update: None,
    }
}

/// What the self-test found.
#[derive(Debug, Clone, Default)]
pub struct SelfTest {
    /// The adapter's handshake, when it gave a valid one.
    pub hello: Option<HelloResult>,
    /// The checks, in order.
    pub checks: Vec<Check>,
}

/// Runs the self-test against the adapter `command`, loading `echo` (a plugin whose method
/// `echo_method` returns its input).
pub fn run(guard: &Path, command: &[String], echo: &Path, echo_method: &str) -> SelfTest {
    let mut hello_result = None;
    let checks = run_checks(guard, command, echo, echo_method, &mut hello_result);
    SelfTest {
        hello: hello_result,
        checks,
    }
}

fn run_checks(
    guard: &Path,
    command: &[String],
    echo: &Path,
    echo_method: &str,
    hello_result: &mut Option<HelloResult>,
) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut check = |name: &str, passed: bool, detail: String| {
        checks.push(Check {
            name: name.into(),
            passed,
            detail,
        })
    };
    let cwd = std::env::temp_dir();
    let launch = Launch {
        guard,
        command,
        env: &[],
        cwd: &cwd,
        guard_args: &[],
        bait: None,
    };
    let mut s = match Session::start(&launch) {
        Ok(s) => s,
        Err(e) => {
            check("adapter starts", false, e.to_string());
            return checks;
        }
    };
    let t = Duration::from_secs(10);
    let hello = s.request(
        Op::Hello {
            protocol: PROTOCOL_VERSION,
        },
        t,
    );
    let parsed = match &hello {
        Answer::Ok(v) => serde_json::from_value::<HelloResult>(v.clone()).ok(),
        _ => None,
    };
    check(
        "hello answers name, version, protocol 1 and features",
        parsed
            .as_ref()
            .is_some_and(|h| h.protocol == PROTOCOL_VERSION && !h.name.is_empty()),
        format!("{hello:?}"),
    );
    // An adapter that cannot run its sandbox here has nothing to load: it must still speak
    // the protocol and end as asked.
    let unavailable = parsed.as_ref().is_some_and(|h| h.unavailable.is_some());
    *hello_result = parsed;
    if !unavailable {
        let load = s.request(
            Op::Load {
                plugin: "echo".into(),
                path: echo.to_string_lossy().into_owned(),
                policy: default_policy(),
                config_b64: String::new(),
            },
            t,
        );
        check(
            "load of a benign plugin succeeds",
            matches!(load, Answer::Ok(_)),
            format!("{load:?}"),
        );
        let input = b"adapter self-test \x00\xff bytes".to_vec();
        let invoke = s.request(
            Op::Invoke {
                plugin: "echo".into(),
                method: echo_method.into(),
                input_b64: encode_bytes(&input),
            },
            t,
        );
        let echoed = match &invoke {
            Answer::Ok(v) => serde_json::from_value::<InvokeResult>(v.clone())
                .ok()
                .filter(|r| r.status == 0)
                .and_then(|r| decode_bytes(&r.output_b64)),
            _ => None,
        };
        check(
            "invoke returns status 0 and the plugin's output, byte for byte",
            echoed.as_deref() == Some(&input[..]),
            format!("{invoke:?}"),
        );
        let unknown = s.request(
            Op::Invoke {
                plugin: "echo".into(),
                method: "no-such-method".into(),
                input_b64: String::new(),
            },
            t,
        );
        let status = match &unknown {
            Answer::Ok(v) => serde_json::from_value::<InvokeResult>(v.clone())
                .ok()
                .map(|r| r.status),
            _ => None,
        };
        check(
            "a plugin's error status is passed through (SBX_ERR_UNKNOWN_METHOD = -2)",
            status == Some(-2),
            format!("{unknown:?}"),
        );
        let nobody = s.request(
            Op::Invoke {
                plugin: "no-such-plugin".into(),
                method: echo_method.into(),
                input_b64: String::new(),
            },
            t,
        );
        check(
            "a request for an unknown plugin is an `invalid` error",
            matches!(&nobody, Answer::Err(e) if e.kind == ErrorKind::Invalid),
            format!("{nobody:?}"),
        );
        let garbage = s.request_raw("this is not a request", 0, t);
        check(
            "a malformed request line gets an `invalid` error with id 0",
            matches!(&garbage, Answer::Err(e) if e.kind == ErrorKind::Invalid),
            format!("{garbage:?}"),
        );
        let again = s.request(
            Op::Hello {
                protocol: PROTOCOL_VERSION,
            },
            t,
        );
        check(
            "the adapter keeps answering after a malformed line",
            matches!(again, Answer::Ok(_)),
            format!("{again:?}"),
        );
        let unload = s.request(
            Op::Unload {
                plugin: "echo".into(),
            },
            t,
        );
        let termination = match &unload {
            Answer::Ok(v) => v
                .get("termination")
                .and_then(|t| serde_json::from_value::<Termination>(t.clone()).ok()),
            _ => None,
        };
        check(
            "unload answers a termination record with a known reason",
            termination
                .as_ref()
                .is_some_and(|t| TERMINATION_REASONS.contains(&t.reason.as_str())),
            format!("{unload:?}"),
        );
    }
    let bye = s.request(Op::Bye, t);
    check(
        "bye is answered",
        matches!(bye, Answer::Ok(_)),
        format!("{bye:?}"),
    );
    let finished = s.finish(Duration::from_secs(5));
    let exit = finished.guard.as_ref().and_then(|g| g.adapter_exit_code);
    check(
        "after bye the adapter exits with status 0 by itself",
        exit == Some(0)
            && finished
                .guard
                .as_ref()
                .is_some_and(|g| !g.adapter_killed_by_guard),
        format!("{:?}", finished.guard),
    );
    let errors = s.protocol_errors.clone();
    check(
        "every line the adapter wrote is valid protocol",
        errors.is_empty(),
        errors.join("; "),
    );
    checks
}
