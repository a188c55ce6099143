//! The run as a Markdown summary fit for a pull-request comment: per sandbox its role,
//! certification and counts, then for each candidate the MUST requirements up to the run's
//! level that did not pass and the cases that did not pass, with why.
//!
//! Reasons quote what plugins and adapters wrote; every such text is escaped, so none can
//! turn into a link, an image or markup in the comment.

use std::fmt::Write;

use sbx_harness::model::{Role, RunResult, Verdict};

use crate::one_line;

/// Characters of a reason the comment shows.
const REASON_CHARS: usize = 200;

/// Requirements, and cases, listed per sandbox before the rest is only counted.
const SHOWN: usize = 20;

/// The comment.
pub fn render(run: &RunResult) -> String {
    let mut out = String::from("## Sandbox conformance\n\n");
    out.push_str(
        "| sandbox | role | certified | cases (pass / fail / error / n/a / skipped) | MUST requirements failing |\n\
         |---|---|---|---|---|\n",
    );
    for s in &run.suts {
        let n = |v: Verdict| s.cases.iter().filter(|c| c.verdict == v).count();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} / {} / {} / {} / {} | {} |",
            escape(&s.sut.name),
            s.sut.role,
            crate::certified_as(s),
            n(Verdict::Pass),
            n(Verdict::Fail),
            n(Verdict::Error),
            n(Verdict::NotApplicable),
            n(Verdict::Skipped),
            s.failing_musts(run.level).len()
        );
    }
    for s in run.suts.iter().filter(|s| s.sut.role == Role::Candidate) {
        let musts = s.failing_musts(run.level);
        if !musts.is_empty() {
            let _ = writeln!(
                out,
                "\n### {}: MUST requirements that did not pass\n",
                escape(&s.sut.name)
            );
            for r in musts.iter().take(SHOWN) {
                let _ = writeln!(
                    out,
                    "- `{}` (level {}): {}",
                    r.id,
                    r.level,
                    escape(&one_line(&r.reason, REASON_CHARS))
                );
            }
            if musts.len() > SHOWN {
                let _ = writeln!(out, "- and {} more", musts.len() - SHOWN);
            }
        }
        let failing: Vec<_> = s
            .cases
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::Fail | Verdict::Error))
            .collect();
        if !failing.is_empty() {
            let _ = writeln!(
                out,
                "\n### {}: cases that did not pass\n",
                escape(&s.sut.name)
            );
            out.push_str("| case | verdict | why |\n|---|---|---|\n");
            for c in failing.iter().take(SHOWN) {
                let waived = c.waived.as_deref().map_or(String::new(), |w| {
                    format!(" (waived: {})", escape(&one_line(w, REASON_CHARS)))
                });
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {}{waived} |",
                    c.case,
                    c.verdict.as_str(),
                    escape(&one_line(&c.reason, REASON_CHARS))
                );
            }
            if failing.len() > SHOWN {
                let _ = writeln!(
                    out,
                    "\nand {} more: see `results.json`.",
                    failing.len() - SHOWN
                );
            }
        }
    }
    out
}

/// Text with every character Markdown (GitHub's or GitLab's) gives a meaning escaped.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\`*_{}[]()<>#+-.!|~&".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_plugin_wrote_cannot_become_markup() {
        let escaped = escape("![x](http://evil/p.png) <img> | `code` **b**");
        assert!(!escaped.contains("!["), "{escaped}");
        assert_eq!(
            escaped,
            r"\!\[x\]\(http://evil/p\.png\) \<img\> \| \`code\` \*\*b\*\*"
        );
    }
}
