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
struct NeverLinks {
    #[serde(rename = "crate")]
    krate: String,
    crates: BTreeSet<String>,
    why: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pure {
    crates: BTreeSet<String>,
}

/// What a pure crate's code may not name: processes, threads, sockets, clocks, raw system
/// calls (`libc`'s constants are data; a call of one of its functions is not).
const IMPURE_PATHS: [&[&str]; 7] = [
    &["std", "process"],
    &["std", "thread"],
    &["std", "net"],
    &["std", "os", "unix", "net"],
    &["std", "time"],
    &["nix"],
    &["rustix"],
];

/// Why the sources under `src` (a crate's `src/`) are not pure: a crate root (`lib.rs`,
/// `main.rs`, `bin/*.rs`) that does not forbid unsafe code, each path of [`IMPURE_PATHS`]
/// and each call into `libc` outside the tests.
fn impurities(src: &Path) -> Vec<String> {
    let files = match rust_files(src) {
        Ok(files) => files,
        Err(e) => return vec![e],
    };
    let mut out = Vec::new();
    for file in files {
        let named = match read_paths(&file) {
            Ok(named) => named,
            Err(e) => {
                out.push(e);
                continue;
            }
        };
        let rel = file.strip_prefix(src).unwrap_or(&file);
        let is_root = matches!(rel.to_str(), Some("lib.rs" | "main.rs"))
            || rel.parent() == Some(Path::new("bin"));
        if is_root && !named.forbids_unsafe {
            out.push(format!(
                "{}: the crate root does not forbid unsafe code",
                file.display()
            ));
        }
        for path in &named.paths {
            let starts = |prefix: &[&str]| {
                path.len() >= prefix.len() && path.iter().zip(prefix).all(|(a, b)| a == b)
            };
            if let Some(bad) = IMPURE_PATHS.iter().find(|p| starts(p)) {
                out.push(format!("{} names {}", file.display(), bad.join("::")));
            }
        }
        for call in named
            .calls
            .iter()
            .filter(|c| c.first().is_some_and(|s| s == "libc"))
        {
            out.push(format!("{} calls {}", file.display(), call.join("::")));
        }
    }
    out.sort();
    out.dedup();
    out
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

/// What one Rust file names outside its `#[cfg(test)]` items (tests may reach across
/// modules): comments and strings are not code, so a doc link is no import.
#[derive(Debug, Default)]
struct Named {
    /// Every path: each `use` tree flattened (`use a::{b, c::d}` names `a::b` and
    /// `a::c::d`), each path of an expression, type or pattern, and each `a::b` run of
    /// tokens in a macro's arguments.
    paths: Vec<Vec<String>>,
    /// The paths of the functions it calls.
    calls: Vec<Vec<String>>,
    /// `pub use` items: the name each makes visible, and the path it names.
    reexports: Vec<(String, Vec<String>)>,
    /// The file forbids unsafe code (`#![forbid(unsafe_code)]`).
    forbids_unsafe: bool,
}

/// Whether the attributes make an item (or, inner, a file) test-only: `cfg(test)` exactly
/// (`cfg(any(test, feature = ..))` builds outside tests too).
fn test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Path>()
                .is_ok_and(|p| p.is_ident("test"))
    })
}

fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    use syn::Item;
    match item {
        Item::Const(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::ExternCrate(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::ForeignMod(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::TraitAlias(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Union(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

/// `use` trees flattened: each path with the name it makes visible.
fn flatten(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
    use syn::UseTree;
    match tree {
        UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten(&p.tree, prefix, out);
            prefix.pop();
        }
        UseTree::Name(n) => {
            let mut path = prefix.clone();
            path.push(n.ident.to_string());
            out.push((n.ident.to_string(), path));
        }
        UseTree::Rename(r) => {
            let mut path = prefix.clone();
            path.push(r.ident.to_string());
            out.push((r.rename.to_string(), path));
        }
        UseTree::Glob(_) => {
            let mut path = prefix.clone();
            path.push("*".into());
            out.push(("*".into(), path));
        }
        UseTree::Group(g) => {
            for tree in &g.items {
                flatten(tree, prefix, out);
            }
        }
    }
}

/// The `a :: b :: c` runs of a macro's tokens, groups included.
fn token_paths(tokens: proc_macro2::TokenStream, out: &mut Vec<Vec<String>>) {
    use proc_macro2::TokenTree;
    let mut run: Vec<String> = Vec::new();
    let mut colons = 0;
    let end = |run: &mut Vec<String>, out: &mut Vec<Vec<String>>| {
        if run.len() > 1 {
            out.push(std::mem::take(run));
        }
        run.clear();
    };
    for token in tokens {
        match token {
            TokenTree::Ident(ident) => {
                if run.is_empty() || colons == 2 {
                    run.push(ident.to_string());
                } else {
                    end(&mut run, out);
                    run.push(ident.to_string());
                }
                colons = 0;
            }
            TokenTree::Punct(p) if p.as_char() == ':' && !run.is_empty() && colons < 2 => {
                colons += 1;
            }
            TokenTree::Group(g) => {
                end(&mut run, out);
                colons = 0;
                token_paths(g.stream(), out);
            }
            _ => {
                end(&mut run, out);
                colons = 0;
            }
        }
    }
    end(&mut run, out);
}

impl<'ast> syn::visit::Visit<'ast> for Named {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        if !test_only(item_attrs(item)) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut flat = Vec::new();
        flatten(&item.tree, &mut Vec::new(), &mut flat);
        if matches!(item.vis, syn::Visibility::Public(_)) {
            self.reexports.extend(flat.iter().cloned());
        }
        self.paths.extend(flat.into_iter().map(|(_, path)| path));
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.paths
            .push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let syn::Expr::Path(p) = &*call.func {
            self.calls.push(
                p.path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect(),
            );
        }
        syn::visit::visit_expr_call(self, call);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        token_paths(mac.tokens.clone(), &mut self.paths);
        syn::visit::visit_macro(self, mac);
    }
}

/// What the Rust file at `path` names; an error when it cannot be read or parsed (a check
/// that cannot read a file must not pass it).
fn read_paths(path: &Path) -> Result<Named, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = syn::parse_file(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut named = Named {
        forbids_unsafe: file.attrs.iter().any(|a| {
            a.path().is_ident("forbid")
                && a.parse_args::<syn::Path>()
                    .is_ok_and(|p| p.is_ident("unsafe_code"))
        }),
        ..Named::default()
    };
    if !test_only(&file.attrs) {
        syn::visit::visit_file(&mut named, &file);
    }
    Ok(named)
}

/// The Rust files under `dir`, sorted (a directory that cannot be listed fails the check).
fn rust_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    crate::cargo_mutants::rust_files(dir).map_err(|e| format!("{}: {e}", dir.display()))
}

/// A crate's modules and the other modules of the same crate each one uses: a module is a
/// file of `src/` (`a.rs`, `a/mod.rs`) with its directory (`a/`); binaries (`src/bin/`) are
/// crates of their own and the crate root only declares. A path into the crate root that
/// names what the root re-exports (`pub use a::X` makes `crate::X` a use of `a`) is a use of
/// the module it comes from; `super::` in a module's own file is the crate root.
fn module_graph(src: &Path) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let all = rust_files(src)?;
    // The module a file belongs to, and whether it is that module's own file.
    let module_of = |path: &Path| -> Option<(String, bool)> {
        let rel = path.strip_prefix(src).ok()?;
        let parts: Vec<&str> = rel.iter().filter_map(|p| p.to_str()).collect();
        match parts.as_slice() {
            ["bin", ..] | ["lib.rs"] | ["main.rs"] => None,
            [file] => Some((file.trim_end_matches(".rs").to_owned(), true)),
            [dir, "mod.rs"] => Some(((*dir).to_owned(), true)),
            [dir, ..] => Some(((*dir).to_owned(), false)),
            [] => None,
        }
    };
    let modules: BTreeSet<String> = all
        .iter()
        .filter_map(|p| module_of(p))
        .map(|m| m.0)
        .collect();
    // What the crate root re-exports, by the name it makes visible.
    let mut reexported: BTreeMap<String, String> = BTreeMap::new();
    for root in ["lib.rs", "main.rs"]
        .map(|f| src.join(f))
        .iter()
        .filter(|p| p.is_file())
    {
        for (name, path) in read_paths(root)?.reexports {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            let module = match path.as_slice() {
                ["crate" | "self", m, ..] | [m, ..] => *m,
                [] => continue,
            };
            if modules.contains(module) {
                reexported.insert(name, module.to_owned());
            }
        }
    }
    let mut graph: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for path in &all {
        let Some((module, own_file)) = module_of(path) else {
            continue;
        };
        let mut uses = BTreeSet::new();
        for named in read_paths(path)?.paths {
            let into_root = match named.first().map(String::as_str) {
                Some("crate") => true,
                Some("super") => own_file,
                _ => false,
            };
            let Some(next) = named.get(1).filter(|_| into_root) else {
                continue;
            };
            let used = if modules.contains(next) {
                Some(next.clone())
            } else {
                reexported.get(next).cloned()
            };
            uses.extend(used.filter(|m| *m != module));
        }
        graph.entry(module).or_default().extend(uses);
    }
    Ok(graph)
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
        let graph = module_graph(&dir.join("src")).unwrap_or_else(|e| panic!("{krate}: {e}"));
        for cycle in cycles(&graph) {
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
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("io")).expect("dirs");
    let write = |name: &str, text: &str| std::fs::write(src.join(name), text).expect("write");
    write("lib.rs", "#![forbid(unsafe_code)]\npub mod io;\n");
    write(
        "io.rs",
        "// std::process in a comment is no use of it\nconst S: &str = \"std::net\";\n\
         const N: i32 = libc::EPERM;\n\
         #[cfg(test)]\nmod tests { fn f() { std::thread::yield_now(); } }\n",
    );
    assert!(impurities(&src).is_empty(), "{:?}", impurities(&src));
    // Each way of naming a process, a thread or a socket, and a call into libc.
    write("io/spawn.rs", "fn f() { let _ = std::process::id(); }\n");
    write("io/group.rs", "use std::{fs, thread};\n");
    write(
        "io/mac.rs",
        "fn f() { let _ = format!(\"{:?}\", std::net::Ipv4Addr::LOCALHOST); }\n",
    );
    write(
        "io/call.rs",
        "fn f() { let _ = unsafe { libc::getpid() }; }\n",
    );
    write("lib.rs", "pub mod io;\n");
    let found = impurities(&src);
    let ends = [
        "call.rs calls libc::getpid",
        "group.rs names std::thread",
        "mac.rs names std::net",
        "spawn.rs names std::process",
        "the crate root does not forbid unsafe code",
    ];
    assert_eq!(found.len(), ends.len(), "{found:?}");
    for end in ends {
        assert!(found.iter().any(|f| f.ends_with(end)), "{end}: {found:?}");
    }
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
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("runner")).expect("dirs");
    let write = |name: &str, text: &str| std::fs::write(src.join(name), text).expect("write");
    write(
        "lib.rs",
        "pub mod audit;\npub mod broker;\npub mod runner;\npub use broker::{X, Z as Zed};\n",
    );
    write(
        "audit.rs",
        "//! See [`crate::runner`].\nuse crate::broker::X;\nconst S: &str = \"crate::runner\";\n\
         #[cfg(test)]\nmod tests { use crate::runner::Y; fn f() { let _ = '}'; } }\n",
    );
    write("broker.rs", "pub struct X;\npub struct Z;\n");
    write("runner.rs", "pub mod serve;\n");
    write(
        "runner/serve.rs",
        "use crate::{audit::{self}, broker::X};\n",
    );
    let graph = module_graph(&src).expect("parsed");
    assert_eq!(graph["audit"], ["broker".to_owned()].into());
    assert_eq!(
        graph["runner"],
        ["audit".to_owned(), "broker".to_owned()].into()
    );
    assert!(cycles(&graph).is_empty(), "{graph:?}");
    // Each way broker can reach runner closes runner -> broker (and runner -> audit ->
    // broker): a path, a macro's argument, `super::` in a module's own file, and a name the
    // crate root re-exports.
    for broker in [
        "pub struct X;\npub struct Z;\nfn f() { crate::runner::serve::go(); }\n",
        "pub struct X;\npub struct Z;\nfn f() -> bool { matches!(1, crate::runner::ONE) }\n",
        "pub struct X;\npub struct Z;\nuse super::runner::serve;\n",
    ] {
        write("broker.rs", broker);
        assert_eq!(
            cycles(&module_graph(&src).expect("parsed")),
            [vec![
                "audit".to_owned(),
                "broker".to_owned(),
                "runner".to_owned()
            ]],
            "{broker}"
        );
    }
    write("broker.rs", "pub struct X;\npub struct Z;\n");
    write(
        "lib.rs",
        "pub mod audit;\npub mod broker;\npub mod runner;\npub use runner::R;\n",
    );
    write("runner.rs", "pub mod serve;\npub struct R;\n");
    write("audit.rs", "use crate::R;\n");
    write("runner/serve.rs", "use crate::audit;\n");
    assert_eq!(
        cycles(&module_graph(&src).expect("parsed")),
        [vec!["audit".to_owned(), "runner".to_owned()]]
    );
    // A file that does not parse fails the check instead of passing it.
    write("broker.rs", "fn {");
    assert!(module_graph(&src).is_err());
}
