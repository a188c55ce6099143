//! The result model's JSON Schema (`reports/result.schema.json`): derived from the model's
//! types, committed so that a reader without this code knows the format, and checked both
//! ways: the committed file is what the types derive (a test), and every `results.json` the
//! harness writes is valid against it ([`validate`], run before the file is written).

use sbx_harness::model::{RESULT_SCHEMA_VERSION, RunResult};

/// The committed schema.
pub const SCHEMA: &str = include_str!("../result.schema.json");

/// The schema the model's types derive, as the committed file holds it.
pub fn derived() -> String {
    let mut schema = schemars::schema_for!(RunResult);
    schema.insert(
        "title".into(),
        format!("sbx-conformance results, schema_version {RESULT_SCHEMA_VERSION}").into(),
    );
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
    text.push('\n');
    text
}

/// Why a document is not a valid result: each violation with where it is.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The committed schema does not compile (a defect of this crate).
    #[error("the committed result schema is not a valid JSON Schema: {0}")]
    Schema(String),
    /// The document breaks it.
    #[error("not a valid result ({} violation(s)): {}", .0.len(), .0.join("; "))]
    Invalid(Vec<String>),
}

/// Checks `document` against the committed schema.
pub fn validate(document: &serde_json::Value) -> Result<(), SchemaError> {
    let schema: serde_json::Value =
        serde_json::from_str(SCHEMA).map_err(|e| SchemaError::Schema(e.to_string()))?;
    let validator =
        jsonschema::validator_for(&schema).map_err(|e| SchemaError::Schema(e.to_string()))?;
    let violations: Vec<String> = validator
        .iter_errors(document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if violations.is_empty() {
        Ok(())
    } else {
        Err(SchemaError::Invalid(violations))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regenerate with `UPDATE_RESULT_SCHEMA=1 cargo test -p sbx-reports schema`.
    #[test]
    fn the_committed_schema_is_the_models() {
        let derived = derived();
        if std::env::var_os("UPDATE_RESULT_SCHEMA").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/result.schema.json");
            std::fs::write(path, &derived).unwrap();
            return;
        }
        assert!(
            SCHEMA == derived,
            "reports/result.schema.json is not what the model derives: a change of the model \
             is a change of the schema (and of RESULT_SCHEMA_VERSION). Regenerate it with \
             UPDATE_RESULT_SCHEMA=1 cargo test -p sbx-reports schema"
        );
    }

    #[test]
    fn a_run_is_valid_and_a_broken_one_is_not() {
        let run = serde_json::to_value(crate::fixture::run(true)).unwrap();
        validate(&run).unwrap();
        let mut keyless = run.clone();
        keyless["suts"][0]["sut"]
            .as_object_mut()
            .unwrap()
            .remove("binaries");
        let err = validate(&keyless).unwrap_err().to_string();
        assert!(err.contains("binaries"), "{err}");
        let mut wrong = run.clone();
        wrong["suts"][0]["cases"][0]["verdict"] = "passed".into();
        let err = validate(&wrong).unwrap_err().to_string();
        assert!(err.contains("/suts/0/cases/0/verdict"), "{err}");
        let mut wrong = run;
        wrong["executions"][0]["host"]["cgroup"] = "v3".into();
        assert!(validate(&wrong).is_err());
    }
}
