//! The sandboxes under test (`conformance/suts.toml`) and their expectations files
//! (`conformance/expectations/<name>.toml`).

use std::path::{Path, PathBuf};

use sbx_harness::case::Sut;
use sbx_harness::model::Verdict;
use serde::Deserialize;

/// The built-in sandboxes.
pub const SUTS: &str = include_str!("../suts.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SutFile {
    name: String,
    role: sbx_harness::model::Role,
    command: Vec<String>,
    #[serde(default)]
    compare_expectations: bool,
    /// Files it runs besides the adapter's executable; `{bin}` is the adapter's folder.
    #[serde(default)]
    binaries: Vec<String>,
    summary: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    sut: Vec<SutFile>,
}

/// A built-in sandbox.
#[derive(Debug, Clone)]
pub struct BuiltIn {
    /// How to run it.
    pub sut: Sut,
    /// One line.
    pub summary: String,
}

/// Problems with sandboxes and expectations.
#[derive(Debug, thiserror::Error)]
pub enum SutError {
    /// A data file does not parse.
    #[error("{file}: {source}")]
    Parse {
        /// The file.
        file: String,
        /// Why.
        source: toml::de::Error,
    },
    /// A name that is neither built in nor an executable path.
    #[error("unknown sandbox `{0}`: not built in ({1}) and not an executable file")]
    Unknown(String, String),
    /// A data file breaks a rule.
    #[error("{0}")]
    Invalid(String),
}

/// Every built-in sandbox, `{adapter}` replaced by the adapter binary.
pub fn built_in(adapter: &Path) -> Result<Vec<BuiltIn>, SutError> {
    let file: File = toml::from_str(SUTS).map_err(|source| SutError::Parse {
        file: "suts.toml".into(),
        source,
    })?;
    let bin = adapter
        .parent()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default();
    let adapter = adapter.to_string_lossy();
    file.sut
        .into_iter()
        .map(|s| {
            Ok(BuiltIn {
                sut: Sut {
                    name: s.name,
                    role: s.role,
                    command: s
                        .command
                        .iter()
                        .map(|a| a.replace("{adapter}", &adapter))
                        .collect(),
                    compare_expectations: s.compare_expectations,
                    binaries: s
                        .binaries
                        .iter()
                        .map(|b| b.replace("{bin}", &bin))
                        .collect(),
                },
                summary: s.summary,
            })
        })
        .collect()
}

/// A sandbox by name (built in) or by path (a vendor's adapter executable, a candidate).
pub fn resolve(name: &str, adapter: &Path) -> Result<Sut, SutError> {
    let all = built_in(adapter)?;
    if let Some(b) = all.iter().find(|b| b.sut.name == name) {
        return Ok(b.sut.clone());
    }
    if name == "mutants" {
        return Err(SutError::Invalid(
            "`mutants` is a group: use it in --matrix".into(),
        ));
    }
    let path = PathBuf::from(name);
    if path.is_file() {
        let abs = std::fs::canonicalize(&path).unwrap_or(path);
        let stem = abs
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "adapter".into());
        return Ok(Sut {
            name: stem,
            role: sbx_harness::model::Role::Candidate,
            command: vec![abs.to_string_lossy().into_owned()],
            compare_expectations: false,
            binaries: Vec::new(),
        });
    }
    let names: Vec<_> = all.iter().map(|b| b.sut.name.clone()).collect();
    Err(SutError::Unknown(name.to_owned(), names.join(", ")))
}

/// A sandbox given by path that is a build of the reference (the mutation oracle's mutated
/// trees): held, as the built-in `reference` is, to the reactions each plugin's metadata
/// expects of the reference. A name that is built in is refused: only a path is a build.
pub fn reference_build(path: &str, adapter: &Path) -> Result<Sut, SutError> {
    if built_in(adapter)?.iter().any(|b| b.sut.name == path) || !Path::new(path).is_file() {
        return Err(SutError::Invalid(format!(
            "a reference build is an adapter executable given by path, not `{path}`"
        )));
    }
    Ok(Sut {
        compare_expectations: true,
        ..resolve(path, adapter)?
    })
}

/// Expands a `--matrix` list: names, paths, and the groups `mutants` and `all`.
pub fn matrix(list: &str, adapter: &Path) -> Result<Vec<Sut>, SutError> {
    let all = built_in(adapter)?;
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match item {
            "all" => out.extend(all.iter().map(|b| b.sut.clone())),
            "mutants" => out.extend(
                all.iter()
                    .filter(|b| b.sut.role == sbx_harness::model::Role::Mutant)
                    .map(|b| b.sut.clone()),
            ),
            other => out.push(resolve(other, adapter)?),
        }
    }
    out.dedup_by(|a, b| a.name == b.name);
    Ok(out)
}

/// One entry of an expectations file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Known {
    /// A case...
    #[serde(default)]
    pub case: Option<String>,
    /// ...or a requirement.
    #[serde(default)]
    pub requirement: Option<String>,
    /// The verdict expected instead of pass.
    pub verdict: Verdict,
    /// Why (required).
    pub why: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KnownFile {
    #[serde(default)]
    known: Vec<Known>,
}

/// Reads `<dir>/<sut>.toml`; no file means no known failures.
pub fn expectations(dir: &Path, sut: &str) -> Result<Vec<Known>, SutError> {
    // A name read from a results file (a shard to merge) picks a file in `dir` only.
    let plain = !sut.is_empty()
        && !sut.starts_with('.')
        && sut
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !plain {
        return Err(SutError::Invalid(format!(
            "`{sut}` is not a sandbox name (letters, digits, `-`, `_`, `.`)"
        )));
    }
    let path = dir.join(format!("{sut}.toml"));
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Vec::new());
    };
    let file: KnownFile = toml::from_str(&text).map_err(|source| SutError::Parse {
        file: path.display().to_string(),
        source,
    })?;
    for k in &file.known {
        if k.case.is_some() == k.requirement.is_some() {
            return Err(SutError::Invalid(format!(
                "{}: each entry names exactly one case or requirement",
                path.display()
            )));
        }
        if k.why.trim().is_empty() {
            return Err(SutError::Invalid(format!(
                "{}: every entry needs a justification (`why`)",
                path.display()
            )));
        }
        if k.verdict == Verdict::Pass {
            return Err(SutError::Invalid(format!(
                "{}: an expectation of `pass` is the default, not an entry",
                path.display()
            )));
        }
    }
    Ok(file.known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expectations_file_is_named_by_a_plain_sandbox_name_only() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("expectations");
        for name in ["../suts", "/etc/passwd", ".hidden", "", "a b"] {
            assert!(expectations(&dir, name).is_err(), "{name}");
        }
        assert!(expectations(&dir, "reference").is_ok());
    }

    #[test]
    fn built_ins_resolve_and_groups_expand() {
        let a = Path::new("/x/sbx-adapter");
        assert_eq!(
            resolve("reference", a).unwrap().command,
            vec!["/x/sbx-adapter", "reference"]
        );
        assert!(matches!(resolve("nonsense", a), Err(SutError::Unknown(..))));
        let m = matrix("reference,mutants", a).unwrap();
        assert_eq!(m[0].name, "reference");
        assert!(
            m.len() > 5
                && m[1..]
                    .iter()
                    .all(|s| s.role == sbx_harness::model::Role::Mutant)
        );
    }

    #[test]
    fn only_a_path_is_a_reference_build_and_it_is_held_to_the_reference() {
        let a = Path::new("/x/sbx-adapter");
        let exe = std::env::current_exe().unwrap();
        let build = reference_build(exe.to_str().unwrap(), a).unwrap();
        assert!(build.compare_expectations);
        assert!(
            !resolve(exe.to_str().unwrap(), a)
                .unwrap()
                .compare_expectations
        );
        assert!(matches!(
            reference_build("reference", a),
            Err(SutError::Invalid(_))
        ));
        assert!(matches!(
            reference_build("/no/such/adapter", a),
            Err(SutError::Invalid(_))
        ));
    }

    #[test]
    fn expectations_need_a_reason_and_one_target() {
        let dir = std::env::temp_dir().join(format!("sbx-exp-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("a.toml"),
            "[[known]]\ncase = \"x\"\nverdict = \"fail\"\nwhy = \"\"\n",
        )
        .unwrap();
        assert!(
            expectations(&dir, "a")
                .unwrap_err()
                .to_string()
                .contains("justification")
        );
        std::fs::write(
            dir.join("b.toml"),
            "[[known]]\nverdict = \"fail\"\nwhy = \"w\"\n",
        )
        .unwrap();
        assert!(
            expectations(&dir, "b")
                .unwrap_err()
                .to_string()
                .contains("exactly one")
        );
        std::fs::write(
            dir.join("c.toml"),
            "[[known]]\ncase = \"x\"\nverdict = \"fail\"\nwhy = \"w\"\n",
        )
        .unwrap();
        assert_eq!(expectations(&dir, "c").unwrap().len(), 1);
        assert!(expectations(&dir, "missing").unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
