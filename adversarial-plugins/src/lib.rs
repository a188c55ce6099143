//! The hostile plugin suite: C and C++ plugins that attack a sandbox, built as
//! shared objects, and the metadata that says what each one attacks, how the
//! harness sees that it worked, and what the reference sandbox must do with it.
//!
//! Every plugin is one source file, `<family>/<name>.{c,cpp}`, with its
//! `<name>.toml` next to it; the template plugins of `sandbox/templates` are part
//! of the table too (family `template`). `build.rs` validates the metadata,
//! compiles every plugin and generates the table this crate exposes.
//!
//! **Architecture invariant:** this crate only describes and builds plugins. It
//! never loads or runs one: that is the harness's job, behind isolation.

mod vocabulary;

use std::path::PathBuf;

pub use vocabulary::{
    Artifact, Evidence, Family, Grant, Language, Outcome, Package, Stage, Surface, Termination,
};

/// One plugin of the suite, as its metadata describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginSpec {
    /// The file stem of its source; unique across the suite.
    pub name: &'static str,
    /// Its family (and directory).
    pub family: Family,
    /// The language of its source.
    pub language: Language,
    /// Its source file, relative to the workspace root.
    pub source: &'static str,
    /// One line saying what it does.
    pub summary: &'static str,
    /// The requirement ids it attacks (of `conformance/requirements.toml`); empty when not hostile.
    pub attacks: &'static [&'static str],
    /// When the attack runs.
    pub stage: Stage,
    /// What the harness observes when the attack worked; empty when not hostile.
    pub evidence: &'static [Evidence],
    /// Host services the harness grants for its case (`log` is always granted).
    pub grants: &'static [Grant],
    /// The method the harness invokes (`attack` for hostile plugins).
    pub method: &'static str,
    /// What the built `.so` is (a normal shared object, or a malformed one).
    pub artifact: Artifact,
    /// For the signature cases: how the harness packages it (loaded by `load_package`).
    pub package: Option<Package>,
    /// What the system must offer for the attack to do harm at all (probed by the harness).
    pub inert_unless: Option<Surface>,
    /// Its code may end its own process by an exit (or by executing a program that exits):
    /// a sandbox that reports any other plugin's end as an exit hides what ended it.
    pub exits: bool,
    /// What the reference sandbox must do with it.
    pub expect: Expectation,
    /// For a plugin the reference's filter ends: the system call it refuses (the first the
    /// attack makes that the filter does not allow), which the reference's termination
    /// must name.
    pub refused_syscall: Option<&'static str>,
    /// For a plugin the reference refuses to load: a word of the cause its refusal names
    /// (the missing export, the unresolved symbol, the verification's verdict), which the
    /// reference's refusal must contain.
    pub refusal_cause: Option<&'static str>,
    /// False for the benign and template plugins.
    pub hostile: bool,
}

impl PluginSpec {
    /// The built shared object.
    pub fn path(&self) -> PathBuf {
        path(self.name)
    }
}

/// What the reference sandbox must do with a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expectation {
    /// The runner is terminated, for this reason.
    Killed(Termination),
    /// The attempts are refused; the plugin goes on and answers.
    Denied,
    /// The plugin hits a quota, is refused beyond it, and goes on.
    SurvivedLimit,
    /// The plugin is never started (load or init refused).
    RefusedLoad,
    /// The plugin runs to completion; nothing it did reaches beyond it.
    CompletedHarmless,
}

impl Expectation {
    /// The outcome without its termination reason.
    pub const fn outcome(self) -> Outcome {
        match self {
            Expectation::Killed(_) => Outcome::Killed,
            Expectation::Denied => Outcome::Denied,
            Expectation::SurvivedLimit => Outcome::SurvivedLimit,
            Expectation::RefusedLoad => Outcome::RefusedLoad,
            Expectation::CompletedHarmless => Outcome::CompletedHarmless,
        }
    }

    /// Why the runner ends, when it is killed.
    pub const fn termination(self) -> Option<Termination> {
        match self {
            Expectation::Killed(termination) => Some(termination),
            _ => None,
        }
    }
}

mod generated {
    #[allow(unused_imports)] // which items the generated table names depends on the suite
    use super::{
        Artifact, Evidence, Expectation, Family, Grant, Language, Package, PluginSpec, Stage,
        Surface, Termination,
    };

    include!(concat!(env!("OUT_DIR"), "/plugins.rs"));
}

/// Every plugin of the suite (hostile, benign and templates), sorted by name.
pub fn all() -> &'static [PluginSpec] {
    generated::PLUGINS
}

/// The plugin called `name`.
pub fn get(name: &str) -> Option<&'static PluginSpec> {
    let plugins = all();
    plugins
        .binary_search_by(|spec| spec.name.cmp(name))
        .ok()
        .map(|index| &plugins[index])
}

/// Where the shared object of the plugin called `name` is built (`<plugin_dir>/<name>.so`).
/// The name is not checked: use [`get`] for that.
pub fn path(name: &str) -> PathBuf {
    plugin_dir().join(format!("{name}.so"))
}

/// The directory holding every built `.so`.
pub fn plugin_dir() -> PathBuf {
    PathBuf::from(concat!(env!("OUT_DIR"), "/plugins"))
}

/// The directory of the plugin ABI header, `sbx_plugin.h`.
pub fn include_dir() -> PathBuf {
    PathBuf::from(generated::SANDBOX_INCLUDE_DIR)
}

/// The directory of `attack.h`, the helpers the hostile plugins share.
pub fn attack_include_dir() -> PathBuf {
    PathBuf::from(generated::ATTACK_INCLUDE_DIR)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    fn hostile() -> impl Iterator<Item = &'static PluginSpec> {
        all().iter().filter(|spec| spec.hostile)
    }

    #[test]
    fn every_shared_object_exists() {
        for spec in all() {
            let path = spec.path();
            let meta = std::fs::metadata(&path)
                .unwrap_or_else(|e| panic!("{}: {} missing: {e}", spec.name, path.display()));
            assert!(meta.len() > 0, "{}: {} is empty", spec.name, path.display());
        }
    }

    #[test]
    fn shared_objects_are_elf_unless_malformed_on_purpose() {
        for spec in all() {
            let bytes = std::fs::read(spec.path()).unwrap();
            let is_elf = bytes.starts_with(b"\x7fELF");
            assert_eq!(
                is_elf,
                spec.artifact != Artifact::SourceText,
                "{}: artifact {}",
                spec.name,
                spec.artifact
            );
        }
    }

    #[test]
    fn names_are_unique_and_sorted() {
        let names: Vec<_> = all().iter().map(|spec| spec.name).collect();
        let unique: BTreeSet<_> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len(), "duplicate plugin names");
        assert!(
            names.windows(2).all(|w| w[0] < w[1]),
            "the table is not sorted"
        );
    }

    #[test]
    fn get_finds_every_plugin_and_nothing_else() {
        for spec in all() {
            assert_eq!(get(spec.name), Some(spec));
        }
        assert_eq!(get("no_such_plugin"), None);
    }

    #[test]
    fn the_suite_is_large_enough() {
        let hostile: Vec<_> = hostile().collect();
        assert!(
            hostile.len() >= 70,
            "only {} hostile plugins",
            hostile.len()
        );
        let cpp = hostile
            .iter()
            .filter(|s| s.language == Language::Cpp)
            .count();
        assert!(cpp >= 15, "only {cpp} hostile C++ plugins");
    }

    #[test]
    fn every_family_is_covered() {
        for family in Family::ALL {
            assert!(
                all().iter().any(|spec| spec.family == *family),
                "no plugin of family {family}"
            );
        }
    }

    #[test]
    fn templates_and_benign_plugins_are_not_hostile() {
        for spec in all() {
            let harmless = matches!(
                spec.family,
                Family::Template | Family::Benign | Family::Probe
            );
            assert_eq!(spec.hostile, !harmless, "{}", spec.name);
            if harmless {
                assert_eq!(spec.expect, Expectation::CompletedHarmless, "{}", spec.name);
                assert!(
                    spec.attacks.is_empty() && spec.evidence.is_empty(),
                    "{}",
                    spec.name
                );
            }
        }
        for name in [
            "template_c",
            "template_cpp",
            "echo",
            "compute",
            "storage_user",
            "cpp_threads",
        ] {
            assert!(get(name).is_some_and(|s| !s.hostile), "{name} missing");
        }
    }

    #[test]
    fn hostile_plugins_say_what_they_attack_and_how_it_shows() {
        for spec in hostile() {
            assert!(!spec.attacks.is_empty(), "{}", spec.name);
            assert!(!spec.evidence.is_empty(), "{}", spec.name);
            assert_eq!(spec.method, "attack", "{}", spec.name);
        }
    }

    /// Every id a plugin attacks is in the requirement catalog (the build refuses one that
    /// is not; this keeps the table it generated honest). That each requirement is attacked
    /// by a plugin (or served by a benign case the catalog lists) is checked where the
    /// catalog is read, in `sbx-conformance`.
    #[test]
    fn every_attacked_id_is_in_the_catalog() {
        let catalog = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/requirements.toml"),
        )
        .unwrap();
        let ids: BTreeSet<&str> = catalog
            .lines()
            .filter_map(|l| l.trim().strip_prefix("id = \""))
            .filter_map(|rest| rest.strip_suffix('"'))
            .collect();
        assert!(ids.len() >= 50, "only {} ids in the catalog", ids.len());
        for id in all().iter().flat_map(|s| s.attacks.iter().copied()) {
            assert!(ids.contains(id), "{id} is attacked and not in the catalog");
        }
    }

    #[test]
    fn sources_and_headers_exist() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        for spec in all() {
            assert!(
                root.join(spec.source).is_file(),
                "{}: {}",
                spec.name,
                spec.source
            );
        }
        assert!(include_dir().join("sbx_plugin.h").is_file());
        assert!(attack_include_dir().join("attack.h").is_file());
    }

    #[test]
    fn expectation_splits_into_outcome_and_termination() {
        let killed = Expectation::Killed(Termination::SeccompViolation);
        assert_eq!(killed.outcome(), Outcome::Killed);
        assert_eq!(killed.termination(), Some(Termination::SeccompViolation));
        assert_eq!(Expectation::Denied.outcome(), Outcome::Denied);
        assert_eq!(Expectation::Denied.termination(), None);
    }

    #[test]
    fn vocabulary_words_round_trip() {
        for e in Evidence::ALL {
            assert_eq!(Evidence::from_word(e.as_str()), Some(*e));
        }
        for f in Family::ALL {
            assert_eq!(Family::from_word(f.as_str()), Some(*f));
        }
        for t in Termination::ALL {
            assert_eq!(Termination::from_word(t.as_str()), Some(*t));
        }
        assert_eq!(Outcome::from_word("exploded"), None);
    }
}
