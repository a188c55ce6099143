//! The workspace's structure, checked: which crate may depend on which
//! (`xtask/architecture.toml`, against `cargo metadata`), which crates a crate's whole tree
//! never reaches (the runner links no host code), and no import cycle between the modules of
//! any crate. ARCHITECTURE.md states the rules; these tests keep it true. Each check is a
//! pure function of what it reads, so the tests also show it failing on a broken input.

#![cfg(test)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// `xtask/architecture.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rules {
    /// Workspace crates each crate may depend on.
    depends_on: BTreeMap<String, BTreeSet<String>>,
    /// Crates a crate's whole tree never reaches.
    #[serde(default)]
    never_links: Vec<NeverLinks>,
    /// Crates without processes, threads, sockets or unsafe code.
    pure: Pure,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pure {
    crates: BTreeSet<String>,
}

/// What a pure crate's code may not name: processes, threads, sockets, raw system calls.
const IMPURE_PATHS: [&str; 4] = ["std::process", "std::thread", "std::net", "nix::"];

/// Why the sources under `src` (a crate's `src/`) are not pure: a crate root that does not
/// forbid unsafe code, and each file that names an [`IMPURE_PATHS`] outside its tests.
fn impurities(src: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let root = ["lib.rs", "main.rs"]
        .iter()
        .map(|f| src.join(f))
        .find(|p| p.is_file());
    let forbids = root
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .is_some_and(|t| code_of(&t).contains("#![forbid(unsafe_code)]"));
    if !forbids {
        out.push(format!(
            "{}: the crate root does not forbid unsafe code",
            src.display()
        ));
    }
    let mut files = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    for file in files {
        let code = code_of(&std::fs::read_to_string(&file).unwrap_or_default());
        for bad in IMPURE_PATHS.iter().filter(|p| code.contains(*p)) {
            out.push(format!("{} names {bad}", file.display()));
        }
    }
    out
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeverLinks {
    #[serde(rename = "crate")]
    krate: String,
    crates: BTreeSet<String>,
    why: String,
}

/// The workspace's crates and their normal dependencies on one another.
type CrateGraph = BTreeMap<String, BTreeSet<String>>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

fn rules() -> Rules {
    let path = root().join("xtask/architecture.toml");
    let text = std::fs::read_to_string(&path).expect("xtask/architecture.toml");
    toml::from_str(&text).expect("xtask/architecture.toml parses")
}

/// The workspace's crates (name, directory) and their normal dependencies on each other,
/// from `cargo metadata`.
fn workspace() -> (CrateGraph, BTreeMap<String, PathBuf>) {
    let meta = cargo_metadata::MetadataCommand::new()
        .manifest_path(root().join("Cargo.toml"))
        .no_deps()
        .exec()
        .expect("cargo metadata");
    let members: BTreeSet<String> = meta
        .workspace_packages()
        .iter()
        .map(|p| p.name.to_string())
        .collect();
    let mut graph = CrateGraph::new();
    let mut dirs = BTreeMap::new();
    for p in meta.workspace_packages() {
        let deps = p
            .dependencies
            .iter()
            .filter(|d| d.kind == cargo_metadata::DependencyKind::Normal)
            .filter(|d| members.contains(&d.name))
            .map(|d| d.name.clone())
            .collect();
        graph.insert(p.name.to_string(), deps);
        let dir = p.manifest_path.parent().expect("a manifest's directory");
        dirs.insert(p.name.to_string(), dir.as_std_path().to_path_buf());
    }
    (graph, dirs)
}

/// Every dependency a crate has that its rule does not allow, and every crate with no rule.
fn dependency_violations(graph: &CrateGraph, rules: &Rules) -> Vec<String> {
    let mut out = Vec::new();
    for (krate, deps) in graph {
        match rules.depends_on.get(krate) {
            None => out.push(format!("{krate} has no rule in xtask/architecture.toml")),
            Some(allowed) => out.extend(
                deps.difference(allowed)
                    .map(|d| format!("{krate} depends on {d}, which its rule does not allow")),
            ),
        }
    }
    out
}

/// The crates `krate`'s whole tree reaches (itself excluded).
fn reached(graph: &CrateGraph, krate: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&str> = vec![krate];
    while let Some(k) = todo.pop() {
        for d in graph.get(k).into_iter().flatten() {
            if seen.insert(d.clone()) {
                todo.push(d);
            }
        }
    }
    seen
}

/// Every crate a `never_links` rule forbids that the tree of its crate reaches.
fn link_violations(graph: &CrateGraph, rules: &Rules) -> Vec<String> {
    let mut out = Vec::new();
    for rule in &rules.never_links {
        if !graph.contains_key(&rule.krate) {
            out.push(format!("never_links names {}, not a crate", rule.krate));
            continue;
        }
        let tree = reached(graph, &rule.krate);
        for bad in tree.intersection(&rule.crates) {
            out.push(format!("{}'s tree reaches {bad}: {}", rule.krate, rule.why));
        }
    }
    out
}

/// Text without comments (doc comments included: a link in prose is not an import) and
/// without `#[cfg(test)]` items (tests may reach across modules).
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let code = match line.find("//") {
            // A `//` inside a string (a URL) cuts the line short; what follows is no import.
            Some(at) => &line[..at],
            None => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    let mut kept = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        kept.push_str(&rest[..at]);
        rest = skip_item(&rest[at + "#[cfg(test)]".len()..]);
    }
    kept.push_str(rest);
    kept
}

/// What follows the item at the start of `text`: up to its `;`, or its balanced `{...}`.
fn skip_item(text: &str) -> &str {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_string {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => escaped = false,
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            ';' if depth == 0 => return &text[i + 1..],
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return &text[i + 1..];
                }
            }
            _ => {}
        }
    }
    ""
}

/// The modules of `crate::` paths in `code`: `crate::a::x`, and each item of
/// `crate::{a, b::c}`.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        // `sbx_crate::` or `foo_crate::` is another path.
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                out.extend(first_segment(item.trim()));
            }
        } else {
            out.extend(first_segment(rest));
        }
    }
    out
}

fn first_segment(path: &str) -> Option<String> {
    let name: String = path
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// A crate's modules and the other modules of the same crate each one uses: a module is a
/// file of `src/` (`a.rs`) with its directory (`a/`); binaries (`src/bin/`) are crates of
/// their own and the crate root only declares.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut all = Vec::new();
    files(src, &mut all);
    let module_of = |path: &Path| -> Option<String> {
        let rel = path.strip_prefix(src).ok()?;
        let first = rel.components().next()?.as_os_str().to_str()?;
        match first {
            "bin" | "lib.rs" | "main.rs" => None,
            f => Some(f.trim_end_matches(".rs").to_owned()),
        }
    };
    let modules: BTreeSet<String> = all.iter().filter_map(|p| module_of(p)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for path in &all {
        let Some(module) = module_of(path) else {
            continue;
        };
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let uses: Vec<String> = crate_paths(&code_of(&text))
            .into_iter()
            .filter(|m| modules.contains(m) && *m != module)
            .collect();
        graph.entry(module).or_default().extend(uses);
    }
    graph
}

/// The cycles of a graph: its strongly connected components of more than one node
/// (Tarjan's algorithm), each sorted.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Tarjan<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        out: Vec<Vec<String>>,
    }
    impl<'g> Tarjan<'g> {
        fn visit(&mut self, v: &'g str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.out.push(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.out
}

#[test]
fn every_crate_depends_only_on_what_its_rule_allows() {
    let (graph, _) = workspace();
    let violations = dependency_violations(&graph, &rules());
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_runner_links_no_host_code() {
    let (graph, _) = workspace();
    let rules = rules();
    assert!(
        rules.never_links.iter().any(|r| r.krate == "sbx-runner"),
        "the runner's rule is gone"
    );
    let violations = link_violations(&graph, &rules);
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn no_crate_has_an_import_cycle_between_its_modules() {
    let (_, dirs) = workspace();
    let mut found = Vec::new();
    for (krate, dir) in &dirs {
        for cycle in cycles(&module_graph(&dir.join("src"))) {
            found.push(format!("{krate}: {}", cycle.join(" <-> ")));
        }
    }
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

#[test]
fn the_pure_crates_start_nothing_and_hold_no_unsafe_code() {
    let (_, dirs) = workspace();
    let rules = rules();
    let mut found = Vec::new();
    for krate in &rules.pure.crates {
        let dir = dirs
            .get(krate)
            .unwrap_or_else(|| panic!("[pure] names {krate}, not a crate"));
        found.extend(impurities(&dir.join("src")));
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn an_impure_crate_is_named() {
    let dir = tempfile_dir("impure");
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("io")).expect("dirs");
    std::fs::write(src.join("lib.rs"), "#![forbid(unsafe_code)]\npub mod io;\n").expect("w");
    std::fs::write(
        src.join("io.rs"),
        "// std::process in a comment is no use of it\n#[cfg(test)]\nmod tests { fn f() { std::thread::yield_now(); } }\n",
    )
    .expect("w");
    assert!(impurities(&src).is_empty(), "{:?}", impurities(&src));
    std::fs::write(
        src.join("io/spawn.rs"),
        "fn f() { let _ = std::process::id(); }\n",
    )
    .expect("w");
    std::fs::write(src.join("lib.rs"), "pub mod io;\n").expect("w");
    let found = impurities(&src);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].ends_with("the crate root does not forbid unsafe code"));
    assert!(found[1].ends_with("spawn.rs names std::process"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_dependency_outside_the_rule_is_named() {
    let rules: Rules = toml::from_str(
        r#"
        [depends_on]
        sbx-contract = []
        sbx-runner = ["sbx-contract"]
        sbx-host = ["sbx-contract"]
        [[never_links]]
        crate = "sbx-runner"
        crates = ["sbx-host"]
        why = "w"
        [pure]
        crates = []
        "#,
    )
    .expect("rules");
    let mut graph = CrateGraph::new();
    graph.insert("sbx-contract".into(), BTreeSet::new());
    graph.insert("sbx-host".into(), ["sbx-contract".into()].into());
    graph.insert("sbx-runner".into(), ["sbx-contract".into()].into());
    assert!(dependency_violations(&graph, &rules).is_empty());
    assert!(link_violations(&graph, &rules).is_empty());
    // The runner given the host, directly, and through the contract.
    let mut direct = graph.clone();
    direct.insert(
        "sbx-runner".into(),
        ["sbx-contract".into(), "sbx-host".into()].into(),
    );
    assert_eq!(
        dependency_violations(&direct, &rules),
        ["sbx-runner depends on sbx-host, which its rule does not allow"]
    );
    assert_eq!(
        link_violations(&direct, &rules),
        ["sbx-runner's tree reaches sbx-host: w"]
    );
    let mut through = graph.clone();
    through.insert("sbx-contract".into(), ["sbx-host".into()].into());
    assert_eq!(
        link_violations(&through, &rules),
        ["sbx-runner's tree reaches sbx-host: w"]
    );
    // A crate nobody wrote a rule for.
    let mut unruled = graph;
    unruled.insert("sbx-new".into(), BTreeSet::new());
    assert_eq!(
        dependency_violations(&unruled, &rules),
        ["sbx-new has no rule in xtask/architecture.toml"]
    );
}

#[test]
fn an_import_cycle_is_found_and_comments_and_tests_are_not_imports() {
    let dir = tempfile_dir("cycle");
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("runner")).expect("dirs");
    let write = |name: &str, text: &str| std::fs::write(src.join(name), text).expect("write");
    write(
        "lib.rs",
        "pub mod audit;\npub mod broker;\npub mod runner;\n",
    );
    write(
        "audit.rs",
        "//! See [`crate::runner`].\nuse crate::broker::X;\n#[cfg(test)]\nmod tests { use crate::runner::Y; fn f() { let _ = \"}\"; } }\n",
    );
    write("broker.rs", "pub struct X;\n");
    write("runner.rs", "pub mod serve;\n");
    write("runner/serve.rs", "use crate::{audit, broker::X};\n");
    let graph = module_graph(&src);
    assert_eq!(graph["audit"], ["broker".to_owned()].into());
    assert_eq!(
        graph["runner"],
        ["audit".to_owned(), "broker".to_owned()].into()
    );
    assert!(cycles(&graph).is_empty(), "{graph:?}");
    // broker -> runner closes runner -> broker (and runner -> audit -> broker).
    write(
        "broker.rs",
        "pub struct X;\nfn f() { crate::runner::serve::go(); }\n",
    );
    assert_eq!(
        cycles(&module_graph(&src)),
        [vec![
            "audit".to_owned(),
            "broker".to_owned(),
            "runner".to_owned()
        ]]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fresh directory of the test `name` (the tests need no temp-file crate; they run in
/// parallel, so each has its own).
fn tempfile_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("xtask-architecture-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}
