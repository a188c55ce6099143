//! The requirement catalog (`conformance/requirements.toml`), parsed and checked.

use std::collections::BTreeSet;

use serde::Deserialize;

/// The catalog shipped with the suite.
pub const CATALOG: &str = include_str!("../requirements.toml");

/// The families, in report order.
pub const FAMILIES: &[&str] = &[
    "loading_and_signatures",
    "filesystem",
    "network",
    "process_and_privilege",
    "syscall_surface",
    "resource_quotas",
    "ipc_channel",
    "capabilities_and_broker",
    "lifecycle",
    "fault_isolation",
    "information_leaks",
    "diagnostics_and_audit",
    "compatibility",
    "updates",
];

/// Names of the certification levels.
pub const LEVELS: &[(u8, &str)] = &[(1, "contained"), (2, "governed"), (3, "certified")];

/// One requirement.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Stable id, `FAMILY-NNN`.
    pub id: String,
    /// One of [`FAMILIES`].
    pub family: String,
    /// `MUST`, `SHOULD` or `MAY`.
    pub rfc: String,
    /// Certification level, 1 to 3.
    pub level: u8,
    /// The requirement in one sentence.
    pub title: String,
    /// The sentence of the design documents it comes from.
    pub source: String,
    /// Cases beyond the plugins whose metadata attacks it.
    #[serde(default)]
    pub cases: Vec<String>,
    /// Cases in which it is observed, not attacked: a harm that `harms.toml` names it for
    /// fails it there, and nothing else of the case bears on it (the case's own attack
    /// fails what the case attacks).
    #[serde(default)]
    pub observed_in: Vec<String>,
}

impl Requirement {
    /// Every case that tests it beyond the plugins that attack it.
    pub fn listed_cases(&self) -> impl Iterator<Item = &String> {
        self.cases.iter().chain(&self.observed_in)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    requirement: Vec<Requirement>,
}

/// A catalog that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Not valid TOML of the expected shape.
    #[error("requirements.toml: {0}")]
    Parse(#[from] toml::de::Error),
    /// A requirement breaks a rule.
    #[error("requirement {id}: {problem}")]
    Invalid {
        /// The requirement.
        id: String,
        /// What is wrong.
        problem: String,
    },
}

/// Parses and checks a catalog.
pub fn parse(text: &str) -> Result<Vec<Requirement>, CatalogError> {
    let file: File = toml::from_str(text)?;
    let mut seen = BTreeSet::new();
    for r in &file.requirement {
        let bad = |problem: String| CatalogError::Invalid {
            id: r.id.clone(),
            problem,
        };
        let well_formed = r.id.split_once('-').is_some_and(|(p, n)| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_uppercase())
                && n.len() == 3
                && n.bytes().all(|b| b.is_ascii_digit())
        });
        if !well_formed {
            return Err(bad("id is not FAMILY-NNN".into()));
        }
        if !seen.insert(r.id.clone()) {
            return Err(bad("duplicate id".into()));
        }
        if !FAMILIES.contains(&r.family.as_str()) {
            return Err(bad(format!("unknown family `{}`", r.family)));
        }
        if !["MUST", "SHOULD", "MAY"].contains(&r.rfc.as_str()) {
            return Err(bad(format!(
                "rfc must be MUST, SHOULD or MAY, not `{}`",
                r.rfc
            )));
        }
        if !(1..=3).contains(&r.level) {
            return Err(bad(format!("level {} is not 1, 2 or 3", r.level)));
        }
        if r.title.trim().is_empty() || r.source.trim().is_empty() {
            return Err(bad("title and source must not be empty".into()));
        }
    }
    Ok(file.requirement)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalog_is_valid() {
        let reqs = parse(CATALOG).unwrap();
        assert!(reqs.len() >= 100, "{}", reqs.len());
    }

    #[test]
    fn every_case_a_requirement_lists_is_a_plugin_of_the_suite() {
        for req in parse(CATALOG).unwrap() {
            for case in req.listed_cases() {
                assert!(
                    sbx_adversarial_plugins::get(case).is_some(),
                    "{} lists case {case}, which is no plugin",
                    req.id
                );
            }
        }
    }

    /// A requirement no plugin attacks and no case serves could never fail.
    #[test]
    fn every_requirement_is_attacked_or_served() {
        let attacked: BTreeSet<&str> = sbx_adversarial_plugins::all()
            .iter()
            .flat_map(|s| s.attacks.iter().copied())
            .collect();
        for req in parse(CATALOG).unwrap() {
            assert!(
                attacked.contains(req.id.as_str()) || req.listed_cases().next().is_some(),
                "no plugin attacks {} and no case serves it",
                req.id
            );
        }
    }

    #[test]
    fn every_attacked_id_is_in_the_catalog() {
        let ids: BTreeSet<_> = parse(CATALOG).unwrap().into_iter().map(|r| r.id).collect();
        for spec in sbx_adversarial_plugins::all() {
            for id in spec.attacks {
                assert!(
                    ids.contains(*id),
                    "{} attacks {id}, which is not in the catalog",
                    spec.name
                );
            }
        }
    }

    #[test]
    fn malformed_catalogs_are_refused_with_the_reason() {
        let one = |body: &str| format!("[[requirement]]\n{body}\n");
        let ok = "id = \"FS-001\"\nfamily = \"filesystem\"\nrfc = \"MUST\"\nlevel = 1\ntitle = \"t\"\nsource = \"s\"";
        assert!(parse(&one(ok)).is_ok());
        for (broken, word) in [
            (ok.replace("FS-001", "fs-1"), "FAMILY-NNN"),
            (ok.replace("filesystem", "disks"), "family"),
            (ok.replace("MUST", "MUSTNT"), "rfc"),
            (ok.replace("level = 1", "level = 4"), "level"),
            (ok.replace("title = \"t\"", "title = \" \""), "empty"),
        ] {
            let e = parse(&one(&broken)).unwrap_err().to_string();
            assert!(e.contains(word), "{e}");
        }
        assert!(matches!(
            parse("[[requirement]]\nid = 1"),
            Err(CatalogError::Parse(_))
        ));
        let dup = format!("{}{}", one(ok), one(ok));
        assert!(parse(&dup).unwrap_err().to_string().contains("duplicate"));
    }
}
