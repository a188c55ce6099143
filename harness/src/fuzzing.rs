//! Fuzzing oracle of the vendor-facing adapter protocol, shared by the cargo-fuzz target
//! `adapter_protocol` and the corpus replay test. It panics if, and only if, a property
//! breaks.

use std::io::Cursor;

use crate::protocol::{
    AdapterMessage, MAX_LINE, ProtocolError, ReadLine, TERMINATION_REASONS, error_line, ok_line,
    parse_line, parse_request, read_line,
};

/// Most lines one input is split into (each is parsed twice).
const MAX_LINES: usize = 64;

/// Oracle for bytes an adapter (or the harness) may write. The input is read as a stream of
/// lines with [`read_line`], which must give back every byte in order, each line within
/// [`MAX_LINE`]; each line goes through both parsers, which are total:
/// - [`parse_line`]: a line over the bound is `TooLong`; a termination reason outside the
///   vocabulary is never accepted; a message re-written the way adapters write it (`ok_line`,
///   `error_line`, the event as JSON) parses back to itself;
/// - [`parse_request`]: a request re-serialised parses back to itself.
pub fn fuzz_adapter_protocol(data: &[u8]) {
    let mut reader = Cursor::new(data);
    let mut consumed = 0usize;
    for _ in 0..MAX_LINES {
        let line = match read_line(&mut reader).expect("reading from memory cannot fail") {
            ReadLine::Eof => break,
            ReadLine::TooLong(len) => {
                assert!(len > MAX_LINE);
                // The length excludes the newline, like a line's.
                consumed += len;
                if data.get(consumed) == Some(&b'\n') {
                    consumed += 1;
                }
                continue;
            }
            ReadLine::Line(line) => line,
        };
        assert!(line.len() <= MAX_LINE);
        let start = consumed;
        consumed += line.len();
        assert_eq!(
            data.get(start..consumed),
            Some(line.as_slice()),
            "a line is not the input's bytes"
        );
        if data.get(consumed) == Some(&b'\n') {
            consumed += 1;
        }
        check_line(&line);
    }
    assert!(consumed <= data.len());
}

fn check_line(line: &[u8]) {
    match parse_line(line) {
        Ok(message) => {
            let rewritten = match &message {
                AdapterMessage::Ok { id, ok } => ok_line(*id, ok.clone()),
                AdapterMessage::Err { id, error } => {
                    if let Some(t) = &error.termination {
                        assert!(TERMINATION_REASONS.contains(&t.reason.as_str()));
                    }
                    error_line(*id, error)
                }
                AdapterMessage::Event(event) => {
                    serde_json::to_string(event).expect("an event serialises")
                }
            };
            // JSON numbers may change spelling (1e2 is 100.0) but not value; compare the
            // re-parsed message, which holds values.
            let again = parse_line(rewritten.as_bytes()).expect("a re-written message parses");
            if !has_float(&message) {
                assert_eq!(again, message, "round trip of {rewritten}");
            }
        }
        Err(ProtocolError::TooLong(len)) => assert!(len > MAX_LINE),
        Err(_) => {}
    }
    if let Ok(request) = parse_request(line) {
        let text = serde_json::to_string(&request).expect("a request serialises");
        let again = parse_request(text.as_bytes()).expect("a re-serialised request parses");
        assert_eq!(again, request, "round trip of {text}");
    }
}

/// Whether an `ok` result holds a floating-point number (whose re-parse may differ in the
/// last bit of a decimal spelling).
fn has_float(message: &AdapterMessage) -> bool {
    fn walk(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Number(n) => n.is_f64(),
            serde_json::Value::Array(a) => a.iter().any(walk),
            serde_json::Value::Object(o) => o.values().any(walk),
            _ => false,
        }
    }
    matches!(message, AdapterMessage::Ok { ok, .. } if walk(ok))
}

#[cfg(test)]
mod tests {
    /// The saved inputs of `adapter_protocol` replay on stable.
    #[test]
    fn fuzz_inputs_replay() {
        let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
        let replayed =
            sbx_ipc::fuzzing::replay(&fuzz, "adapter_protocol", super::fuzz_adapter_protocol);
        assert!(replayed > 0, "the seed corpus is missing");
    }
}
