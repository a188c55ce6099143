//! `cargo xtask conformance --sign KEY`, `cargo xtask verify-report` and `cargo xtask
//! keygen`: the signed evidence bundle a vendor hands over (`sbx_reports::bundle` signs
//! and checks it; this module gathers its files).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sbx_conformance::suite::{Settings, SuiteCase};
use sbx_harness::model::RunResult;
use sbx_reports::bundle::{self, Subject};

/// The report files of a run's output folder that the bundle carries, under `report/`.
const REPORT_FILES: [&str; 8] = [
    "results.json",
    "report.html",
    "junit.xml",
    "results.tap",
    "summary.txt",
    "comment.md",
    "requirements.md",
    "plugins.md",
];

/// What a bundle is made from.
pub struct Sources<'a> {
    /// The run.
    pub result: &'a RunResult,
    /// The suite's cases (for the plugins the run threw).
    pub cases: &'a [SuiteCase],
    /// The suite's settings (for the benign neighbour plugin).
    pub settings: &'a Settings,
    /// The output folder holding the run's report files.
    pub out: &'a Path,
}

/// Writes `<out>/bundle/`, signs it with the key in `key` and says where it is.
pub fn write_bundle(sources: &Sources<'_>, key: &Path) -> Result<()> {
    let key = bundle::read_secret_key(key).context("--sign")?;
    let dir = sources.out.join("bundle");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir.join("report"))?;
    for file in REPORT_FILES {
        std::fs::copy(sources.out.join(file), dir.join("report").join(file))
            .with_context(|| format!("copying {file} into the bundle"))?;
    }
    std::fs::create_dir_all(dir.join("plugins"))?;
    for plugin in plugins(sources) {
        let name = plugin
            .file_name()
            .context("a plugin without a file name")?
            .to_owned();
        std::fs::copy(&plugin, dir.join("plugins").join(&name))
            .with_context(|| format!("copying {} into the bundle", plugin.display()))?;
    }
    std::fs::write(
        dir.join("README.md"),
        bundle::readme(sources.result, &reproduce(sources.result)),
    )?;
    std::fs::write(dir.join("product.json"), product(sources.result)?)?;
    bundle::seal(&dir, &recorded(sources.result), &key)?;
    println!("    signed evidence bundle: {}", dir.display());
    Ok(())
}

/// The command that runs the suite again as `result` ran it (one machine for a merged run),
/// each word quoted for a shell where it needs to be.
fn reproduce(result: &RunResult) -> String {
    let names: Vec<&str> = result.suts.iter().map(|s| s.sut.name.as_str()).collect();
    let mut words = vec![
        "cargo".to_owned(),
        "xtask".into(),
        "conformance".into(),
        "--matrix".into(),
        names.join(","),
        "--level".into(),
        result.level.to_string(),
    ];
    if let Some(filter) = &result.filter {
        words.extend(["--filter".to_owned(), filter.clone()]);
    }
    words
        .iter()
        .map(|w| shell_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `word` as a shell reads it back: bare when it is plain, else in single quotes; control
/// characters (which no name or filter needs) shown as `?`.
fn shell_word(word: &str) -> String {
    let word: String = word
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_,./:=+#".contains(c));
    if plain {
        word
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The plugin files of the run's cases and its neighbour, each once.
fn plugins(sources: &Sources<'_>) -> BTreeSet<PathBuf> {
    let ran: BTreeSet<&str> = sources
        .result
        .suts
        .iter()
        .flat_map(|s| s.cases.iter().map(|c| c.case.as_str()))
        .collect();
    sources
        .cases
        .iter()
        .filter(|c| ran.contains(c.case.id.as_str()))
        .map(|c| c.spec.path())
        .chain(std::iter::once(sources.settings.neighbour.clone()))
        .collect()
}

/// Each sandbox as it described itself (handshake, features) and as the harness hashed it.
fn product(result: &RunResult) -> Result<String> {
    let built_in = sbx_conformance::suts::built_in(Path::new("sbx-adapter"))?;
    let sandboxes: Vec<serde_json::Value> = result
        .suts
        .iter()
        .map(|s| {
            let summary = built_in
                .iter()
                .find(|b| b.sut.name == s.sut.name)
                .map(|b| b.summary.clone());
            serde_json::json!({
                "sandbox": s.sut,
                "summary": summary,
                "certified_level": s.certified_level,
                "held_back_by": s.held_back_by,
            })
        })
        .collect();
    Ok(serde_json::to_string_pretty(&serde_json::json!({ "sandboxes": sandboxes }))? + "\n")
}

/// The binaries not carried: the harness's on each machine that ran (the program that ran
/// the suite, the case guard, as each machine hashed them) and each sandbox's, named
/// `harness/FILE` and `sandbox/NAME/FILE` (`#2`, `#3`... when machines' builds differ).
fn recorded(result: &RunResult) -> Vec<Subject> {
    let mut out: Vec<Subject> = Vec::new();
    let mut add = |name: String, sha256: &str| {
        let same_name = |s: &&Subject| {
            s.name == name
                || s.name
                    .strip_prefix(name.as_str())
                    .is_some_and(|r| r.starts_with('#'))
        };
        if out
            .iter()
            .any(|s| same_name(&s) && s.digest.get("sha256").is_some_and(|d| d == sha256))
        {
            return;
        }
        let taken = out.iter().filter(same_name).count();
        let name = if taken == 0 {
            name
        } else {
            format!("{name}#{}", taken + 1)
        };
        out.push(Subject::new(name, sha256));
    };
    let file_name = |path: &str| {
        Path::new(path)
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    };
    for execution in &result.executions {
        for binary in &execution.harness {
            add(
                format!("harness/{}", file_name(&binary.path)),
                &binary.sha256,
            );
        }
    }
    for sut in &result.suts {
        for binary in &sut.sut.binaries {
            add(
                format!("sandbox/{}/{}", sut.sut.name, file_name(&binary.path)),
                &binary.sha256,
            );
        }
    }
    out
}

const VERIFY_USAGE: &str = "\
usage: cargo xtask verify-report BUNDLE --pub KEY

    Checks a signed evidence bundle (written by cargo xtask conformance --sign): the
    signature of its attestation.dsse.json by the public key in KEY (64 hex digits), the
    in-toto statement it holds, and the sha256 of every file of the bundle. Names every
    thing that does not match, and fails if any does.
";

/// `cargo xtask verify-report BUNDLE --pub KEY`.
pub fn verify_report(args: &[String]) -> Result<()> {
    let mut folder = None;
    let mut key = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--pub" => key = Some(PathBuf::from(it.next().context("--pub needs a key file")?)),
            "--help" | "-h" => {
                print!("{VERIFY_USAGE}");
                return Ok(());
            }
            other if other.starts_with("--") => bail!("unknown option `{other}`\n\n{VERIFY_USAGE}"),
            other if folder.is_none() => folder = Some(PathBuf::from(other)),
            other => bail!("one bundle at a time (`{other}`)\n\n{VERIFY_USAGE}"),
        }
    }
    let (Some(folder), Some(key)) = (folder, key) else {
        bail!("verify-report takes a bundle and --pub KEY\n\n{VERIFY_USAGE}");
    };
    if !folder.is_dir() {
        bail!("{}: not a folder", folder.display());
    }
    let key = bundle::read_public_key(&key)?;
    let found = bundle::verify(&folder, &key);
    for subject in &found.recorded {
        println!(
            "recorded  {} sha256 {}",
            subject.name,
            subject.digest.get("sha256").map_or("?", String::as_str)
        );
    }
    for problem in &found.problems {
        println!("MISMATCH  {problem}");
    }
    if !found.problems.is_empty() {
        bail!(
            "{}: {} problem(s); {} file(s) matched",
            folder.display(),
            found.problems.len(),
            found.files_checked
        );
    }
    println!(
        "{}: signed by key {}; {} file(s) match their signed sha256",
        folder.display(),
        bundle::key_id(&key),
        found.files_checked
    );
    Ok(())
}

/// `cargo xtask keygen NAME`: NAME.key (the secret seed, mode 0600) and NAME.pub.
pub fn keygen(args: &[String]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let [name] = args else {
        bail!("usage: cargo xtask keygen NAME (writes NAME.key and NAME.pub)");
    };
    let key = bundle::generate_secret_key().context("reading /dev/urandom")?;
    let secret = format!("{name}.key");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&secret)
        .and_then(|mut f| writeln!(f, "{}", hex::encode(key.to_bytes())))
        .with_context(|| format!("writing {secret} (an existing key is never overwritten)"))?;
    let public = format!("{name}.pub");
    std::fs::write(
        &public,
        format!("{}\n", hex::encode(key.verifying_key().as_bytes())),
    )
    .with_context(|| format!("writing {public}"))?;
    println!(
        "{secret} (secret), {public} (key id {})",
        bundle::key_id(&key.verifying_key())
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_is_quoted_for_the_shell_and_kept_on_one_line() {
        assert_eq!(shell_word("FS-001,net_"), "FS-001,net_");
        assert_eq!(shell_word("a'b; rm -rf /"), r"'a'\''b; rm -rf /'");
        assert_eq!(shell_word("x\ny"), "'x?y'");
        assert_eq!(shell_word(""), "''");
    }
}
