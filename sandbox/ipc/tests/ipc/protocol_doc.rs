//! `PROTOCOL.md` agrees with the code, so the document cannot drift from the wire format.

use sbx_ipc::ring::RING_CAPACITY;
use sbx_ipc::{HEADER_LEN, INLINE_MAX, LogLevel, MAX_FRAME_LEN, MessageKind, PROTOCOL_VERSION};

const DOC: &str = include_str!("../../PROTOCOL.md");

/// Cells of the first table under `heading`, without its header row, trimmed and without
/// backquotes.
fn table(heading: &str) -> Vec<Vec<String>> {
    let section = DOC
        .split_once(heading)
        .map(|(_, after)| after)
        .unwrap_or_else(|| panic!("PROTOCOL.md has no {heading:?}"));
    section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2)
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().replace('`', ""))
                .collect()
        })
        .collect()
}

#[test]
fn message_table_matches_message_kind() {
    let documented: Vec<(String, String)> = table("## Messages")
        .into_iter()
        .map(|row| (row[0].clone(), row[1].clone()))
        .collect();
    let expected: Vec<(String, String)> = MessageKind::ALL
        .iter()
        .map(|kind| (kind.to_byte().to_string(), kind.name().to_owned()))
        .collect();
    assert_eq!(documented, expected);
}

#[test]
fn bounds_table_matches_the_constants() {
    let documented: Vec<(String, String)> = table("## Bounds")
        .into_iter()
        .map(|row| {
            let value = row[1].split_whitespace().next().unwrap_or_default();
            (row[0].clone(), value.to_owned())
        })
        .collect();
    let expected = [
        ("MAX_FRAME_LEN", MAX_FRAME_LEN.to_string()),
        ("INLINE_MAX", INLINE_MAX.to_string()),
        ("RING_CAPACITY", RING_CAPACITY.to_string()),
        ("HEADER_LEN", HEADER_LEN.to_string()),
        ("PROTOCOL_VERSION", PROTOCOL_VERSION.to_string()),
    ]
    .map(|(name, value)| (name.to_owned(), value));
    assert_eq!(documented, expected);
}

#[test]
fn log_levels_are_documented() {
    let log = table("## Messages")
        .into_iter()
        .find(|row| row[1] == "Log")
        .expect("a Log row");
    for level in LogLevel::ALL {
        let entry = format!("{} {level:?}", level.to_byte());
        assert!(
            log[3].contains(&entry),
            "{entry:?} missing from {:?}",
            log[3]
        );
    }
}
