//! The C and C++ template plugins answer through the sandbox.

use sbx_host::SandboxError;

use crate::common::{call, config, running};

#[test]
fn c_template_answers_invoke_calls() {
    let mut p = running(config("template_c"));
    assert_eq!(call(&mut p, "echo", "hello"), "hello");
    assert_eq!(call(&mut p, "reverse", "abc"), "cba");
    assert_eq!(call(&mut p, "len", "abcd"), "4");
    let logs: Vec<_> = p.logs().map(|l| l.message.clone()).collect();
    assert!(
        logs.iter().any(|l| l.contains("template_c ready")),
        "{logs:?}"
    );
    let record = p.shutdown().expect("shutdown");
    assert_eq!(record.reason.kind(), sbx_host::TerminationKind::Exit);
    assert_eq!(record.exit_code, Some(0));
}

#[test]
fn cpp_template_answers_and_keeps_exceptions_inside() {
    let mut p = running(config("template_cpp"));
    assert_eq!(call(&mut p, "echo", "hi"), "hi");
    assert_eq!(call(&mut p, "upper", "MiXed"), "MIXED");
    let counts = call(&mut p, "word_count", "b a b");
    assert!(counts.contains('a') && counts.contains('b'), "{counts}");
    // Empty input makes the C++ code throw internally; the ABI sees an error status.
    match p.invoke("word_count", b"") {
        Err(SandboxError::Plugin { code, .. }) => {
            assert_eq!(code, sbx_contract::abi::ERR_INVALID_ARGUMENT)
        }
        other => panic!("expected a plugin error, got {other:?}"),
    }
    // ... and the plugin is still serving.
    assert_eq!(call(&mut p, "echo", "still here"), "still here");
    assert_eq!(p.shutdown().expect("shutdown").exit_code, Some(0));
}

#[test]
fn unknown_method_is_a_typed_plugin_error() {
    let mut p = running(config("template_c"));
    match p.invoke("no_such_method", b"") {
        Err(SandboxError::Plugin { code, name, .. }) => {
            assert_eq!(code, sbx_contract::abi::ERR_UNKNOWN_METHOD);
            assert_eq!(name, "SBX_ERR_UNKNOWN_METHOD");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(p.stats().errors, 1);
}
