//! Which requirements each kind of harm breaks (`conformance/harms.toml`), parsed and
//! checked against the catalog: every harm kind maps somewhere, and to known requirements.

use std::collections::{BTreeMap, BTreeSet};

use sbx_harness::model::HarmKind;
use serde::Deserialize;

use crate::catalog::Requirement;

/// The map shipped with the suite.
pub const HARMS: &str = include_str!("../harms.toml");

/// What a harm bears on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum BearsOn {
    /// The requirements the case that saw it attacks.
    Attacked,
    /// This requirement, wherever it is seen.
    Requirement(String),
}

/// Every harm kind and the requirements it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarmMap(BTreeMap<HarmKind, BTreeSet<BearsOn>>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    harm: BTreeMap<String, Vec<String>>,
}

/// A harm map that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HarmMapError {
    /// Not valid TOML of the expected shape.
    #[error("harms.toml: {0}")]
    Syntax(#[from] toml::de::Error),
    /// Valid TOML, wrong content.
    #[error("harms.toml: {0}")]
    Invalid(String),
}

impl HarmMap {
    /// Parses the map and checks it against `catalog`.
    pub fn parse(text: &str, catalog: &[Requirement]) -> Result<HarmMap, HarmMapError> {
        let file: File = toml::from_str(text)?;
        let known: BTreeSet<&str> = catalog.iter().map(|r| r.id.as_str()).collect();
        let mut map = BTreeMap::new();
        for (word, targets) in &file.harm {
            let kind = HarmKind::ALL
                .iter()
                .copied()
                .find(|k| k.as_str() == word)
                .ok_or_else(|| HarmMapError::Invalid(format!("unknown harm kind `{word}`")))?;
            if targets.is_empty() {
                return Err(HarmMapError::Invalid(format!("`{word}` breaks nothing")));
            }
            let mut set = BTreeSet::new();
            for t in targets {
                set.insert(match t.as_str() {
                    "attacked" => BearsOn::Attacked,
                    id if known.contains(id) => BearsOn::Requirement(id.to_owned()),
                    other => {
                        return Err(HarmMapError::Invalid(format!(
                            "`{word}` names `{other}`, neither `attacked` nor a requirement"
                        )));
                    }
                });
            }
            map.insert(kind, set);
        }
        if let Some(missing) = HarmKind::ALL.iter().find(|k| !map.contains_key(k)) {
            return Err(HarmMapError::Invalid(format!(
                "harm kind `{}` maps to no requirement",
                missing.as_str()
            )));
        }
        Ok(HarmMap(map))
    }

    /// Whether a harm of `kind`, seen in a case attacking `attacked`, bears on `requirement`.
    pub fn bears_on(&self, kind: HarmKind, attacked: &[&str], requirement: &str) -> bool {
        self.0.get(&kind).is_some_and(|set| {
            set.iter().any(|b| match b {
                BearsOn::Attacked => attacked.contains(&requirement),
                BearsOn::Requirement(id) => id == requirement,
            })
        })
    }

    /// The requirements a harm of `kind` breaks wherever it is seen (not those of the case).
    pub fn named(&self, kind: HarmKind) -> impl Iterator<Item = &str> {
        self.0
            .get(&kind)
            .into_iter()
            .flatten()
            .filter_map(|b| match b {
                BearsOn::Requirement(id) => Some(id.as_str()),
                BearsOn::Attacked => None,
            })
    }

    /// Whether a harm of `kind` bears on any requirement a case attacking `attacked` attacks.
    pub fn bears_on_attacked(&self, kind: HarmKind, attacked: &[&str]) -> bool {
        attacked.iter().any(|r| self.bears_on(kind, attacked, r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;

    #[test]
    fn the_shipped_map_maps_every_harm_kind_to_known_requirements() {
        let catalog = catalog::parse(catalog::CATALOG).unwrap();
        let map = HarmMap::parse(HARMS, &catalog).unwrap();
        assert!(map.bears_on(HarmKind::DescriptorLeaked, &["FS-001"], "FS-005"));
        assert!(!map.bears_on(HarmKind::DescriptorLeaked, &["FS-001"], "FS-001"));
        assert!(map.bears_on(HarmKind::SecretInOutput, &["FS-001"], "FS-001"));
        assert!(!map.bears_on(HarmKind::SecretInOutput, &["FS-001"], "FS-005"));
    }

    #[test]
    fn a_map_missing_a_kind_or_naming_an_unknown_requirement_is_refused() {
        let catalog = catalog::parse(catalog::CATALOG).unwrap();
        let missing = HARMS.replace("terminal_injected = [\"attacked\"]\n", "");
        assert!(matches!(
            HarmMap::parse(&missing, &catalog),
            Err(HarmMapError::Invalid(m)) if m.contains("terminal_injected")
        ));
        let unknown = HARMS.replace("[\"LEAK-003\"]", "[\"LEAK-999\"]");
        assert!(matches!(
            HarmMap::parse(&unknown, &catalog),
            Err(HarmMapError::Invalid(m)) if m.contains("LEAK-999")
        ));
    }
}
