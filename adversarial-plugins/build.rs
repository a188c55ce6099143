//! Builds the plugin suite and the table that describes it.
//!
//! In order:
//! 1. compiles the plugin ABI header (`sandbox/include/sbx_plugin.h`) and the
//!    attack helpers (`include/attack.h`) alone, as C11 and as C++17, so a header
//!    that stops compiling fails the build;
//! 2. reads the requirement ids of the catalog (`conformance/requirements.toml`);
//! 3. finds every plugin: `../sandbox/templates/<name>.{c,cpp}` (family
//!    `template`) and `<family>/<name>.{c,cpp}`, each with its `<name>.toml`,
//!    and validates the metadata (every problem is reported, naming its file);
//! 4. compiles each plugin to `$OUT_DIR/plugins/<name>.so` with the compiler the
//!    `cc` crate finds (a plugin is rebuilt only when an input or its command changed);
//! 5. writes `$OUT_DIR/plugins.rs`, the table `src/lib.rs` includes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;
use std::{env, fs};

use serde::Deserialize;

#[allow(dead_code)]
#[path = "src/vocabulary.rs"]
mod vocabulary;

use vocabulary::{
    Artifact, Evidence, Family, Grant, Language, Outcome, Package, Stage, Surface, Termination,
};

/// Flags every plugin is compiled with (after `-std=`). A plugin's
/// `extra_cflags` come after these and the source, so they can override them.
const PLUGIN_FLAGS: &[&str] = &[
    "-shared",
    "-fPIC",
    "-O2",
    "-g0",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-fstack-protector-strong",
    "-D_FORTIFY_SOURCE=2",
    "-Wl,-z,relro,-z,now",
];

/// Flags the headers are checked with, alone.
const HEADER_FLAGS: &[&str] = &["-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only"];

/// Requirement-ID prefixes, as in the catalog (`conformance/requirements.toml`).
const REQUIREMENT_PREFIXES: &[&str] = &[
    "LOAD", "SIGN", "FS", "NET", "PROC", "SYS", "RES", "IPC", "CAP", "LIFE", "FAULT", "LEAK",
    "AUDIT", "COMPAT", "UPDATE",
];

/// Directories of this crate that are not plugin families.
const NON_FAMILY_DIRS: &[&str] = &["src", "include", "target"];

/// The longest method name the host accepts (`SBX_MAX_METHOD_LEN`).
const MAX_METHOD_LEN: usize = 256;
/// The longest system call name the metadata may give (Linux's are at most 22 bytes).
const MAX_SYSCALL_NAME_LEN: usize = 32;

/// The longest word a refusal's cause may be given by (an export's or a symbol's name).
const MAX_CAUSE_WORD_LEN: usize = 64;

/// ELF machine number of AArch64, for `artifact = "wrong_machine"`.
const EM_AARCH64: u16 = 183;

fn main() {
    if let Err(message) = run() {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let paths = Paths::from_env()?;
    let compilers = Compilers::find()?;
    // The whole crate directory, so a new family directory is noticed too (cargo
    // scans a watched directory recursively); plugins are rebuilt only when stale.
    watch(&paths.crate_dir);
    watch(&paths.crate_dir.join("build.rs"));
    watch(&paths.crate_dir.join("src/vocabulary.rs"));

    check_headers(&paths, &compilers)?;
    let catalog = read_catalog(&paths.requirements)?;
    let plugins = discover(&paths, &catalog)?;

    fs::create_dir_all(&paths.out_plugins)
        .map_err(|e| format!("creating {}: {e}", paths.out_plugins.display()))?;
    // Every header a plugin may include: a change to any of them rebuilds every plugin.
    let header_inputs = headers(&paths);
    for plugin in &plugins {
        build_plugin(plugin, &paths, &compilers, &header_inputs)?;
    }
    write_table(&plugins, &paths)
}

/// Every path the build uses.
struct Paths {
    /// `adversarial-plugins/`.
    crate_dir: PathBuf,
    /// The workspace root, for the relative source paths in the table.
    workspace: PathBuf,
    /// `sandbox/include/`: the plugin ABI header.
    sandbox_include: PathBuf,
    /// `adversarial-plugins/include/`: `attack.h` and the payload headers.
    attack_include: PathBuf,
    /// `sandbox/templates/`.
    templates: PathBuf,
    /// `sandbox/host/tests/probe/`: the sandbox's confinement probe.
    probe: PathBuf,
    /// `conformance/requirements.toml`: the requirement catalog, whose ids plugins attack.
    requirements: PathBuf,
    /// `$OUT_DIR`.
    out_dir: PathBuf,
    /// `$OUT_DIR/plugins/`: the built shared objects.
    out_plugins: PathBuf,
}

impl Paths {
    fn from_env() -> Result<Paths, String> {
        let crate_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR")?);
        let crate_dir = crate_dir
            .canonicalize()
            .map_err(|e| format!("resolving {}: {e}", crate_dir.display()))?;
        let workspace = crate_dir
            .parent()
            .ok_or("the crate directory has no parent")?
            .to_path_buf();
        let out_dir = PathBuf::from(env_var("OUT_DIR")?);
        Ok(Paths {
            sandbox_include: workspace.join("sandbox/include"),
            attack_include: crate_dir.join("include"),
            templates: workspace.join("sandbox/templates"),
            probe: workspace.join("sandbox/host/tests/probe"),
            requirements: workspace.join("conformance/requirements.toml"),
            out_plugins: out_dir.join("plugins"),
            out_dir,
            crate_dir,
            workspace,
        })
    }
}

fn env_var(name: &str) -> Result<String, String> {
    env::var(name).map_err(|e| format!("environment variable {name}: {e}"))
}

fn watch(path: &Path) {
    println!("cargo:rerun-if-changed={}", path.display());
}

/// The C and C++ compilers, as the `cc` crate finds them (honouring CC, CXX...).
struct Compilers {
    c: PathBuf,
    cpp: PathBuf,
}

impl Compilers {
    fn find() -> Result<Compilers, String> {
        let c = cc::Build::new()
            .cargo_metadata(false)
            .try_get_compiler()
            .map_err(|e| format!("finding the C compiler: {e}"))?;
        let cpp = cc::Build::new()
            .cpp(true)
            .cargo_metadata(false)
            .try_get_compiler()
            .map_err(|e| format!("finding the C++ compiler: {e}"))?;
        Ok(Compilers {
            c: c.path().to_path_buf(),
            cpp: cpp.path().to_path_buf(),
        })
    }

    fn for_language(&self, language: Language) -> (&Path, &'static str, &'static str) {
        match language {
            Language::C => (&self.c, "c", "-std=c11"),
            Language::Cpp => (&self.cpp, "c++", "-std=c++17"),
        }
    }
}

/// The ABI header and every header of `include/` (`attack.h` and the payloads), sorted.
fn headers(paths: &Paths) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(&paths.attack_include)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "h"))
        .collect();
    found.sort();
    found.insert(0, paths.sandbox_include.join("sbx_plugin.h"));
    found
}

/// Compiles each header alone as C11 and as C++17.
fn check_headers(paths: &Paths, compilers: &Compilers) -> Result<(), String> {
    for header in &headers(paths) {
        watch(header);
        for language in Language::ALL {
            let (compiler, x, std) = compilers.for_language(*language);
            let mut command = Command::new(compiler);
            command
                .args(["-x", x, std])
                .args(HEADER_FLAGS)
                .arg("-I")
                .arg(&paths.sandbox_include)
                .arg("-I")
                .arg(&paths.attack_include)
                .arg(header);
            run_compiler(&mut command, header)?;
        }
    }
    Ok(())
}

fn run_compiler(command: &mut Command, input: &Path) -> Result<(), String> {
    let output = command.output().map_err(|e| {
        format!(
            "{}: cannot run the compiler ({command:?}): {e}",
            input.display()
        )
    })?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{}: compilation failed ({})\ncommand: {command:?}\n{}{}",
        input.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// Reads the requirement ids of the catalog (`conformance/requirements.toml`).
fn read_catalog(path: &Path) -> Result<BTreeSet<String>, String> {
    /// The part of `conformance/requirements.toml` the build needs: the ids.
    #[derive(serde::Deserialize)]
    struct Catalog {
        requirement: Vec<Requirement>,
    }
    #[derive(serde::Deserialize)]
    struct Requirement {
        id: String,
    }
    watch(path);
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let catalog: Catalog = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut ids = BTreeSet::new();
    for Requirement { id } in catalog.requirement {
        if let Err(problem) = check_requirement_id(&id) {
            return Err(format!("{}: {problem}", path.display()));
        }
        if !ids.insert(id.clone()) {
            return Err(format!("{}: {id} listed twice", path.display()));
        }
    }
    if ids.is_empty() {
        return Err(format!("{}: no requirement IDs found", path.display()));
    }
    Ok(ids)
}

/// Checks `^[A-Z]+-[0-9]{3}$` and a known prefix.
fn check_requirement_id(id: &str) -> Result<(), String> {
    let Some((prefix, number)) = id.split_once('-') else {
        return Err(format!(
            "requirement ID {id:?} does not match ^[A-Z]+-[0-9]{{3}}$"
        ));
    };
    let shaped = !prefix.is_empty()
        && prefix.bytes().all(|b| b.is_ascii_uppercase())
        && number.len() == 3
        && number.bytes().all(|b| b.is_ascii_digit());
    if !shaped {
        return Err(format!(
            "requirement ID {id:?} does not match ^[A-Z]+-[0-9]{{3}}$"
        ));
    }
    if !REQUIREMENT_PREFIXES.contains(&prefix) {
        return Err(format!(
            "requirement ID {id:?} has an unknown prefix (known: {})",
            REQUIREMENT_PREFIXES.join(", ")
        ));
    }
    Ok(())
}

/// A metadata file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetadata {
    name: String,
    family: String,
    summary: String,
    attacks: Vec<String>,
    stage: String,
    evidence: Vec<String>,
    #[serde(default)]
    extra_cflags: Vec<String>,
    #[serde(default)]
    debian_packages: Vec<String>,
    #[serde(default)]
    grants: Vec<String>,
    method: Option<String>,
    artifact: Option<String>,
    package: Option<String>,
    inert_unless: Option<String>,
    #[serde(default)]
    exits: bool,
    expect: RawExpect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    outcome: String,
    termination: Option<String>,
    syscall: Option<String>,
    refusal_cause: Option<String>,
}

/// A validated plugin.
struct Plugin {
    name: String,
    family: Family,
    language: Language,
    source: PathBuf,
    /// The source path relative to the workspace root.
    source_rel: String,
    summary: String,
    attacks: Vec<String>,
    stage: Stage,
    evidence: Vec<Evidence>,
    extra_cflags: Vec<String>,
    /// Debian packages its build needs (the headers and libraries of `extra_cflags`).
    debian_packages: Vec<String>,
    grants: Vec<Grant>,
    method: String,
    artifact: Artifact,
    package: Option<Package>,
    inert_unless: Option<Surface>,
    exits: bool,
    outcome: Outcome,
    termination: Option<Termination>,
    refused_syscall: Option<String>,
    refusal_cause: Option<String>,
}

impl Plugin {
    fn hostile(&self) -> bool {
        !matches!(
            self.family,
            Family::Benign | Family::Template | Family::Probe
        )
    }
}

/// A source file and its metadata file, found side by side.
struct Candidate {
    family: Family,
    language: Language,
    source: PathBuf,
    metadata: PathBuf,
}

/// Finds and validates every plugin; reports every problem at once.
fn discover(paths: &Paths, catalog: &BTreeSet<String>) -> Result<Vec<Plugin>, String> {
    let mut problems = Vec::new();
    let mut candidates = Vec::new();
    collect_dir(
        &paths.templates,
        Family::Template,
        &mut candidates,
        &mut problems,
    );
    collect_dir(&paths.probe, Family::Probe, &mut candidates, &mut problems);

    let entries = fs::read_dir(&paths.crate_dir)
        .map_err(|e| format!("{}: {e}", paths.crate_dir.display()))?;
    let mut family_dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", paths.crate_dir.display()))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !path.is_dir() || name.starts_with('.') || NON_FAMILY_DIRS.contains(&name.as_str()) {
            continue;
        }
        match Family::from_word(&name) {
            Some(Family::Template | Family::Probe) | None => problems.push(format!(
                "{}: not a plugin family directory (families: {})",
                path.display(),
                words(
                    Family::ALL
                        .iter()
                        .filter(|f| !matches!(f, Family::Template | Family::Probe))
                )
            )),
            Some(family) => family_dirs.push((family, path)),
        }
    }
    family_dirs.sort();
    for (family, dir) in &family_dirs {
        collect_dir(dir, *family, &mut candidates, &mut problems);
    }

    let mut plugins = Vec::new();
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for candidate in candidates {
        match validate(&candidate, paths, catalog) {
            Ok(plugin) => {
                if let Some(first) = seen.get(&plugin.name) {
                    problems.push(format!(
                        "{}: plugin name {:?} is already used by {}",
                        candidate.metadata.display(),
                        plugin.name,
                        first.display()
                    ));
                } else {
                    seen.insert(plugin.name.clone(), candidate.metadata.clone());
                    plugins.push(plugin);
                }
            }
            Err(mut errors) => problems.append(&mut errors),
        }
    }
    if !problems.is_empty() {
        return Err(format!(
            "{} problem(s) in the plugin suite:\n  {}",
            problems.len(),
            problems.join("\n  ")
        ));
    }
    plugins.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(plugins)
}

/// The value `word` names in a vocabulary (its `from_word` and `ALL`), or a problem
/// naming the metadata `key` and the words it knows.
fn known_word<T: std::fmt::Display>(
    key: &str,
    word: &str,
    from_word: fn(&str) -> Option<T>,
    all: &[T],
    problem: &mut impl FnMut(String),
) -> Option<T> {
    let value = from_word(word);
    if value.is_none() {
        problem(format!("unknown {key} {word:?} (known: {})", words(all)));
    }
    value
}

fn words<'a, T: std::fmt::Display + 'a>(items: impl IntoIterator<Item = &'a T>) -> String {
    items
        .into_iter()
        .map(|item| item.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Pairs every `<stem>.{c,cpp}` of `dir` with its `<stem>.toml`.
fn collect_dir(
    dir: &Path,
    family: Family,
    candidates: &mut Vec<Candidate>,
    problems: &mut Vec<String>,
) {
    watch(dir);
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            problems.push(format!("{}: {e}", dir.display()));
            return;
        }
    };
    let mut sources: BTreeMap<String, Vec<(Language, PathBuf)>> = BTreeMap::new();
    let mut metadata: BTreeSet<String> = BTreeSet::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        watch(&path);
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match path.extension().and_then(|e| e.to_str()) {
            Some("c") => sources.entry(stem).or_default().push((Language::C, path)),
            Some("cpp") => sources.entry(stem).or_default().push((Language::Cpp, path)),
            Some("toml") => {
                metadata.insert(stem);
            }
            _ => problems.push(format!(
                "{}: unexpected file (a family directory holds <name>.c or <name>.cpp and <name>.toml)",
                path.display()
            )),
        }
    }
    for stem in &metadata {
        if !sources.contains_key(stem) {
            problems.push(format!(
                "{}: metadata without a source ({stem}.c or {stem}.cpp)",
                dir.join(format!("{stem}.toml")).display()
            ));
        }
    }
    for (stem, mut files) in sources {
        if files.len() > 1 {
            problems.push(format!(
                "{}: both {stem}.c and {stem}.cpp exist",
                dir.display()
            ));
            continue;
        }
        let (language, source) = files.remove(0);
        let metadata_path = dir.join(format!("{stem}.toml"));
        if !metadata.contains(&stem) {
            problems.push(format!(
                "{}: source without metadata (expected {})",
                source.display(),
                metadata_path.display()
            ));
            continue;
        }
        candidates.push(Candidate {
            family,
            language,
            source,
            metadata: metadata_path,
        });
    }
}

/// Parses and checks one metadata file; every problem names the file.
fn validate(
    candidate: &Candidate,
    paths: &Paths,
    catalog: &BTreeSet<String>,
) -> Result<Plugin, Vec<String>> {
    let file = candidate.metadata.display().to_string();
    let text = fs::read_to_string(&candidate.metadata).map_err(|e| vec![format!("{file}: {e}")])?;
    let raw: RawMetadata =
        toml::from_str(&text).map_err(|e| vec![format!("{file}: {}", e.to_string().trim_end())])?;
    let mut problems = Vec::new();
    let mut problem = |message: String| problems.push(format!("{file}: {message}"));

    let stem = candidate
        .source
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if raw.name != stem {
        problem(format!(
            "name {:?} differs from the file stem {stem:?}",
            raw.name
        ));
    }
    let name_ok = !raw.name.is_empty()
        && raw
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !name_ok {
        problem(format!("name {:?} must be [a-z0-9_]+", raw.name));
    }

    match Family::from_word(&raw.family) {
        Some(family) if family == candidate.family => {}
        Some(family) => problem(format!(
            "family {family} does not match the directory (family {})",
            candidate.family
        )),
        None => problem(format!(
            "unknown family {:?} (known: {})",
            raw.family,
            words(Family::ALL)
        )),
    }
    let hostile = !matches!(
        candidate.family,
        Family::Benign | Family::Template | Family::Probe
    );

    if raw.summary.trim().is_empty() || raw.summary.contains('\n') {
        problem("summary must be one non-empty line".to_string());
    }

    let mut attacks = Vec::new();
    for id in &raw.attacks {
        if let Err(message) = check_requirement_id(id) {
            problem(message);
        } else if !catalog.contains(id) {
            problem(format!(
                "requirement ID {id} is not in conformance/requirements.toml"
            ));
        } else if attacks.contains(id) {
            problem(format!("requirement ID {id} listed twice"));
        } else {
            attacks.push(id.clone());
        }
    }

    let stage = known_word(
        "stage",
        &raw.stage,
        Stage::from_word,
        Stage::ALL,
        &mut problem,
    );

    let mut evidence = Vec::new();
    for word in &raw.evidence {
        match Evidence::from_word(word) {
            Some(e) if evidence.contains(&e) => problem(format!("evidence {e} listed twice")),
            Some(e) => evidence.push(e),
            None => problem(format!(
                "unknown evidence {word:?} (known: {})",
                words(Evidence::ALL)
            )),
        }
    }

    let mut grants = Vec::new();
    for word in &raw.grants {
        match Grant::from_word(word) {
            Some(g) if grants.contains(&g) => problem(format!("grant {g} listed twice")),
            Some(g) => grants.push(g),
            None => problem(format!(
                "unknown grant {word:?} (known: {})",
                words(Grant::ALL)
            )),
        }
    }

    let artifact = match raw.artifact.as_deref() {
        None => Some(Artifact::SharedObject),
        Some(word) => known_word(
            "artifact",
            word,
            Artifact::from_word,
            Artifact::ALL,
            &mut problem,
        ),
    };
    let package = raw.package.as_deref().and_then(|word| {
        known_word(
            "package",
            word,
            Package::from_word,
            Package::ALL,
            &mut problem,
        )
    });
    let inert_unless = raw.inert_unless.as_deref().and_then(|word| {
        known_word(
            "inert_unless",
            word,
            Surface::from_word,
            Surface::ALL,
            &mut problem,
        )
    });

    let method = raw.method.clone().unwrap_or_else(|| "attack".to_string());
    if method.is_empty() || method.len() > MAX_METHOD_LEN {
        problem(format!("method must be 1 to {MAX_METHOD_LEN} bytes"));
    }

    let outcome = known_word(
        "outcome",
        &raw.expect.outcome,
        Outcome::from_word,
        Outcome::ALL,
        &mut problem,
    );
    let termination = raw.expect.termination.as_deref().and_then(|word| {
        known_word(
            "termination",
            word,
            Termination::from_word,
            Termination::ALL,
            &mut problem,
        )
    });
    match (outcome, &raw.expect.termination) {
        (Some(Outcome::Killed), None) => {
            problem("outcome killed needs a termination".to_string());
        }
        (Some(outcome), Some(_)) if outcome != Outcome::Killed => {
            problem(format!(
                "termination is only for outcome killed, not {outcome}"
            ));
        }
        _ => {}
    }
    if let Some(call) = &raw.expect.syscall {
        if termination != Some(Termination::SeccompViolation) {
            problem("syscall is only for termination seccomp_violation".to_string());
        }
        if call.is_empty()
            || call.len() > MAX_SYSCALL_NAME_LEN
            || !call
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            problem(format!(
                "syscall {call:?} is not a system call's name (1 to {MAX_SYSCALL_NAME_LEN} \
                 lower-case letters, digits and underscores)"
            ));
        }
    }

    if let Some(word) = &raw.expect.refusal_cause {
        if outcome != Some(Outcome::RefusedLoad) {
            problem("refusal_cause is only for outcome refused_load".to_string());
        }
        if word.is_empty()
            || word.len() > MAX_CAUSE_WORD_LEN
            || !word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            problem(format!(
                "refusal_cause {word:?} is not one word (1 to {MAX_CAUSE_WORD_LEN} letters, \
                 digits and underscores)"
            ));
        }
    }

    if hostile {
        if attacks.is_empty() {
            problem("a hostile plugin attacks at least one requirement".to_string());
        }
        if evidence.is_empty() {
            problem("a hostile plugin names the evidence of its success".to_string());
        }
    } else {
        if !attacks.is_empty() || !evidence.is_empty() {
            problem(format!(
                "a {} plugin attacks nothing: attacks and evidence stay empty",
                candidate.family
            ));
        }
        if outcome.is_some_and(|o| o != Outcome::CompletedHarmless) {
            problem(format!(
                "a {} plugin must be expected to complete harmlessly",
                candidate.family
            ));
        }
    }
    if let Some(artifact) = artifact
        && artifact != Artifact::SharedObject
    {
        // A malformed object never runs: the loader refuses it, or dies parsing it.
        if outcome.is_some_and(|o| !matches!(o, Outcome::RefusedLoad | Outcome::Killed)) {
            problem(format!(
                "artifact {artifact} can only be refused at load or kill the runner while loading"
            ));
        }
        if stage.is_some_and(|s| s != Stage::Constructor) {
            problem(format!(
                "artifact {artifact} acts while loading: stage is constructor"
            ));
        }
        if artifact == Artifact::SourceText && !raw.extra_cflags.is_empty() {
            problem("artifact source_text is not compiled: extra_cflags stay empty".to_string());
        }
    }

    let source_rel = candidate
        .source
        .strip_prefix(&paths.workspace)
        .unwrap_or(&candidate.source)
        .to_string_lossy()
        .into_owned();
    match (stage, artifact, outcome, problems.is_empty()) {
        (Some(stage), Some(artifact), Some(outcome), true) => Ok(Plugin {
            name: raw.name,
            family: candidate.family,
            language: candidate.language,
            source: candidate.source.clone(),
            source_rel,
            summary: raw.summary,
            attacks,
            stage,
            evidence,
            extra_cflags: raw.extra_cflags,
            debian_packages: raw.debian_packages,
            grants,
            method,
            artifact,
            package,
            inert_unless,
            exits: raw.exits,
            outcome,
            termination,
            refused_syscall: raw.expect.syscall,
            refusal_cause: raw.expect.refusal_cause,
        }),
        _ => Err(problems),
    }
}

/// Builds `$OUT_DIR/plugins/<name>.so`, unless it is newer than its inputs and
/// was made by the same command.
fn build_plugin(
    plugin: &Plugin,
    paths: &Paths,
    compilers: &Compilers,
    header_inputs: &[PathBuf],
) -> Result<(), String> {
    let output = paths.out_plugins.join(format!("{}.so", plugin.name));
    let stamp = paths.out_plugins.join(format!("{}.cmd", plugin.name));
    let (compiler, _, std) = compilers.for_language(plugin.language);

    let mut command = Command::new(compiler);
    let intermediate = paths.out_plugins.join(format!("{}.full.so", plugin.name));
    command
        .arg(std)
        .args(PLUGIN_FLAGS)
        .arg("-I")
        .arg(&paths.sandbox_include)
        .arg("-I")
        .arg(&paths.attack_include)
        .arg("-o")
        .arg(&intermediate)
        .arg(&plugin.source)
        .args(&plugin.extra_cflags);
    let recipe = format!("{:?} {command:?}", plugin.artifact);

    let mut inputs = vec![plugin.source.clone()];
    inputs.extend(header_inputs.iter().cloned());
    if is_up_to_date(&output, &stamp, &recipe, &inputs) {
        return Ok(());
    }

    match plugin.artifact {
        Artifact::SourceText => {
            fs::copy(&plugin.source, &output)
                .map_err(|e| format!("copying {} as a .so: {e}", plugin.source.display()))?;
        }
        Artifact::SharedObject | Artifact::Truncated | Artifact::WrongMachine => {
            run_compiler(&mut command, &plugin.source).map_err(|e| {
                if plugin.debian_packages.is_empty() {
                    e
                } else {
                    format!(
                        "{e}\n{} is built on Debian's {}: apt-get install -y \
                         --no-install-recommends {}",
                        plugin.name,
                        plugin.debian_packages.join(", "),
                        plugin.debian_packages.join(" ")
                    )
                }
            })?;
            let mut bytes = fs::read(&intermediate)
                .map_err(|e| format!("reading {}: {e}", intermediate.display()))?;
            match plugin.artifact {
                Artifact::Truncated => bytes.truncate(bytes.len() / 2),
                Artifact::WrongMachine => {
                    if bytes.len() < 20 || &bytes[..4] != b"\x7fELF" {
                        return Err(format!(
                            "{}: the compiler did not make an ELF file",
                            plugin.source.display()
                        ));
                    }
                    bytes[18..20].copy_from_slice(&EM_AARCH64.to_le_bytes());
                }
                Artifact::SharedObject | Artifact::SourceText => {}
            }
            fs::write(&output, &bytes).map_err(|e| format!("writing {}: {e}", output.display()))?;
            fs::remove_file(&intermediate)
                .map_err(|e| format!("removing {}: {e}", intermediate.display()))?;
        }
    }
    fs::write(&stamp, &recipe).map_err(|e| format!("writing {}: {e}", stamp.display()))
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn is_up_to_date(output: &Path, stamp: &Path, recipe: &str, inputs: &[PathBuf]) -> bool {
    let Some(built) = modified(output) else {
        return false;
    };
    if fs::read_to_string(stamp).ok().as_deref() != Some(recipe) {
        return false;
    }
    inputs
        .iter()
        .all(|input| modified(input).is_some_and(|changed| changed <= built))
}

/// An optional text as the Rust literal of an `Option<&'static str>`.
fn optional_str(text: &Option<String>) -> String {
    text.as_ref()
        .map_or("None".to_string(), |t| format!("Some({t:?})"))
}

/// Writes `$OUT_DIR/plugins.rs`: the table of every plugin, sorted by name.
fn write_table(plugins: &[Plugin], paths: &Paths) -> Result<(), String> {
    let mut out = String::new();
    out.push_str("// Generated by build.rs from the metadata next to each plugin source.\n\n");
    let _ = writeln!(
        out,
        "pub(crate) const SANDBOX_INCLUDE_DIR: &str = {:?};",
        paths.sandbox_include.display().to_string()
    );
    let _ = writeln!(
        out,
        "pub(crate) const ATTACK_INCLUDE_DIR: &str = {:?};\n",
        paths.attack_include.display().to_string()
    );
    out.push_str("pub(crate) static PLUGINS: &[PluginSpec] = &[\n");
    for p in plugins {
        let expect = match (p.outcome, p.termination) {
            (Outcome::Killed, Some(t)) => format!("Expectation::Killed(Termination::{t:?})"),
            (outcome, _) => format!("Expectation::{outcome:?}"),
        };
        let list = |items: Vec<String>| format!("&[{}]", items.join(", "));
        let _ = writeln!(
            out,
            "    PluginSpec {{\n        name: {name:?},\n        family: Family::{family:?},\n        \
             language: Language::{language:?},\n        source: {source:?},\n        \
             summary: {summary:?},\n        attacks: {attacks},\n        stage: Stage::{stage:?},\n        \
             evidence: {evidence},\n        grants: {grants},\n        method: {method:?},\n        \
             artifact: Artifact::{artifact:?},\n        package: {package},\n        inert_unless: {inert_unless},\n        \
             exits: {exits},\n        expect: {expect},\n        \
             refused_syscall: {refused_syscall},\n        refusal_cause: {refusal_cause},\n        \
             hostile: {hostile},\n    }},",
            name = p.name,
            family = p.family,
            language = p.language,
            source = p.source_rel,
            summary = p.summary,
            attacks = list(p.attacks.iter().map(|a| format!("{a:?}")).collect()),
            stage = p.stage,
            evidence = list(
                p.evidence
                    .iter()
                    .map(|e| format!("Evidence::{e:?}"))
                    .collect()
            ),
            grants = list(p.grants.iter().map(|g| format!("Grant::{g:?}")).collect()),
            method = p.method,
            artifact = p.artifact,
            package = p
                .package
                .map_or("None".to_string(), |k| format!("Some(Package::{k:?})")),
            inert_unless = p
                .inert_unless
                .map_or("None".to_string(), |s| format!("Some(Surface::{s:?})")),
            exits = p.exits,
            refused_syscall = optional_str(&p.refused_syscall),
            refusal_cause = optional_str(&p.refusal_cause),
            hostile = p.hostile(),
        );
    }
    out.push_str("];\n");
    let path = paths.out_dir.join("plugins.rs");
    fs::write(&path, out).map_err(|e| format!("writing {}: {e}", path.display()))
}
