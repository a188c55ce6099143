//! The plugin author's guide (`docs/plugin-authors.md`) as a test: every code block in it is
//! written, compiled or run, in order, in one directory, so the guide cannot drift from what
//! the sandbox does.
//!
//! - ```` ```c file=NAME ```` (and `cpp`, `toml`): written to NAME; a `toml` file that is a
//!   policy store (it has `format =`) must parse as one;
//! - ```` ```sh ````: run by `bash -eu` (no `pipefail`: a pipeline's status is its last
//!   command's), with `sbx` first on the `PATH`; when a ```` ```text ```` block follows, the
//!   commands' standard output must be exactly it (trailing blank space aside);
//! - any other block, or a text block after anything but commands, fails the test.

use std::path::Path;
use std::process::Command;

use crate::common::runner;

/// A fenced block of the guide: its language, its info string after the language, its text
/// and the line it starts on.
struct Block {
    lang: String,
    info: String,
    text: String,
    line: usize,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (n, line) in markdown.lines().enumerate() {
        match (open.take(), line.strip_prefix("```")) {
            (None, Some(fence)) => {
                let (lang, info) = fence.split_once(' ').unwrap_or((fence, ""));
                open = Some(Block {
                    lang: lang.to_owned(),
                    info: info.trim().to_owned(),
                    text: String::new(),
                    line: n + 1,
                });
            }
            (Some(block), Some("")) => blocks.push(block),
            (Some(mut block), _) => {
                block.text.push_str(line);
                block.text.push('\n');
                open = Some(block);
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "a code block of the guide is not closed");
    blocks
}

fn run_commands(dir: &Path, block: &Block) -> String {
    let sbx = Path::new(env!("CARGO_BIN_EXE_sbx"));
    let path = format!(
        "{}:{}",
        sbx.parent().expect("a folder").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-eu", "-c", &block.text])
        .current_dir(dir)
        .env("PATH", path)
        .env("SBX_RUNNER", runner())
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "the guide's commands at line {} failed ({}):\n{}\n{}{}",
        block.line,
        out.status,
        block.text,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_code_block_of_the_plugin_authors_guide_is_compiled_or_run() {
    let guide = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/plugin-authors.md");
    let markdown = std::fs::read_to_string(&guide).expect("docs/plugin-authors.md");
    let dir = tempfile::tempdir().expect("a directory");
    let mut output: Option<String> = None;
    let mut ran = 0;
    for block in blocks(&markdown) {
        let at = format!("the block at line {} ({})", block.line, block.lang);
        match (block.lang.as_str(), block.info.strip_prefix("file=")) {
            ("c" | "cpp" | "toml", Some(name)) => {
                std::fs::write(dir.path().join(name), &block.text).expect("written");
                if block.lang == "toml" && block.text.contains("format =") {
                    sbx_host::plugin_policy::PolicyStore::parse(&block.text)
                        .unwrap_or_else(|e| panic!("{at}: {e}"));
                }
                output = None;
            }
            ("sh", None) => {
                output = Some(run_commands(dir.path(), &block));
                ran += 1;
            }
            ("text", None) => {
                let got = output
                    .take()
                    .unwrap_or_else(|| panic!("{at} follows no commands"));
                assert_eq!(got.trim_end(), block.text.trim_end(), "{at}");
            }
            _ => panic!("{at}: a block the test does not know how to check"),
        }
    }
    assert!(ran >= 4, "the guide's commands were not found");
}
