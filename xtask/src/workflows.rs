//! The CI configuration, read as data and held to what it drives: the GitHub workflows and
//! ClusterFuzzLite's files cannot run here, so their YAML is parsed and each fact they
//! depend on (sandbox names, shard counts, fuzz targets, pinned actions) is checked against
//! the code.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

/// Every workflow of `.github/workflows/`, parsed, by file name.
fn workflows() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.github/workflows");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .expect("the workflows folder")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable");
            let value: Value = serde_norway::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not YAML: {e}", p.display()));
            (p.file_name().unwrap().to_string_lossy().into_owned(), value)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn workflow(name: &str) -> Value {
    workflows()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no workflow {name}"))
        .1
}

#[test]
fn every_workflow_is_a_workflow_with_pinned_actions() {
    let all = workflows();
    assert!(
        all.len() >= 6,
        "{:?}",
        all.iter().map(|w| &w.0).collect::<Vec<_>>()
    );
    for (name, w) in &all {
        assert!(w["name"].is_string(), "{name}: no name");
        assert!(w["on"].is_object(), "{name}: no trigger (`on`)");
        let jobs = w["jobs"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: no jobs"));
        for (job, body) in jobs {
            assert!(body["runs-on"].is_string(), "{name}/{job}: no runs-on");
            let steps = body["steps"]
                .as_array()
                .unwrap_or_else(|| panic!("{name}/{job}: no steps"));
            for step in steps {
                assert!(
                    step["run"].is_string() ^ step["uses"].is_string(),
                    "{name}/{job}: a step needs `run` or `uses`, not both: {step}"
                );
                if let Some(action) = step["uses"].as_str() {
                    let (_, version) = action
                        .split_once('@')
                        .unwrap_or_else(|| panic!("{name}/{job}: {action} is not pinned"));
                    assert!(version.starts_with('v'), "{name}/{job}: {action}");
                }
            }
        }
    }
}

#[test]
fn the_conformance_matrix_runs_built_in_sandboxes_and_merges_every_shard() {
    let w = workflow("conformance-matrix.yml");
    let matrix = &w["jobs"]["shard"]["strategy"]["matrix"];
    let built_in: BTreeSet<String> = sbx_conformance::suts::built_in(Path::new("sbx-adapter"))
        .unwrap()
        .into_iter()
        .map(|b| b.sut.name)
        .collect();
    let sandboxes = matrix["sandbox"].as_array().unwrap();
    for sandbox in sandboxes {
        assert!(built_in.contains(sandbox.as_str().unwrap()), "{sandbox}");
    }
    let shards: Vec<u64> = matrix["shard"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    let n = shards.len() as u64;
    assert_eq!(shards, (1..=n).collect::<Vec<_>>());
    let steps = w["jobs"]["shard"]["steps"].as_array().unwrap();
    let run = steps
        .iter()
        .find_map(|s| s["run"].as_str().filter(|r| r.contains("--shard")));
    assert!(
        run.unwrap()
            .contains(&format!("--shard ${{{{ matrix.shard }}}}/{n}")),
        "the shard's command splits into as many shards as the matrix has"
    );
    let merge = w["jobs"]["merge"]["steps"].as_array().unwrap();
    assert!(merge.iter().any(|s| {
        s["run"]
            .as_str()
            .is_some_and(|r| r.contains("cargo xtask conformance merge"))
    }));
    // The gate counts the reference's builds in the matrix.
    let references = sandboxes
        .iter()
        .filter(|s| s.as_str().unwrap().starts_with("reference"))
        .count();
    assert!(merge.iter().any(|s| {
        s["run"]
            .as_str()
            .is_some_and(|r| r.contains(&format!("length == {references}")))
    }));
}

/// The fuzz targets of `fuzz/Cargo.toml`.
fn fuzz_targets() -> BTreeSet<String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/Cargo.toml");
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
    manifest["bin"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_nightly_fuzzing_covers_every_target() {
    let w = workflow("nightly-fuzz.yml");
    let listed: BTreeSet<String> = w["jobs"]["fuzz"]["strategy"]["matrix"]["target"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, fuzz_targets());
}

#[test]
fn clusterfuzzlite_builds_rust_targets_with_the_actions_it_documents() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.clusterfuzzlite");
    let project: Value =
        serde_norway::from_str(&std::fs::read_to_string(root.join("project.yaml")).unwrap())
            .unwrap();
    assert_eq!(project["language"], "rust");
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    assert!(dockerfile.contains("FROM gcr.io/oss-fuzz-base/base-builder-rust"));
    assert!(dockerfile.contains("COPY .clusterfuzzlite/build.sh $SRC/"));
    for (file, mode) in [
        ("cflite_pr.yml", "code-change"),
        ("cflite_batch.yml", "batch"),
    ] {
        let w = workflow(file);
        let steps = w["jobs"].as_object().unwrap().values().next().unwrap()["steps"]
            .as_array()
            .unwrap()
            .clone();
        let uses: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
        assert!(
            uses.contains(&"google/clusterfuzzlite/actions/build_fuzzers@v1"),
            "{file}"
        );
        assert!(
            uses.contains(&"google/clusterfuzzlite/actions/run_fuzzers@v1"),
            "{file}"
        );
        let run = steps.iter().find(|s| s["id"] == "run").unwrap();
        assert_eq!(run["with"]["mode"], mode, "{file}");
        let build = steps.iter().find(|s| s["id"] == "build").unwrap();
        assert_eq!(build["with"]["language"], "rust", "{file}");
    }
}
