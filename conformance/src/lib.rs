//! The conformance suite: the requirement catalog, the cases (one per plugin of the
//! hostile suite), the sandboxes under test with their expectations, and the run that
//! turns them into the typed results of `sbx_harness::model`.
//!
//! Data lives in files next to this crate (`requirements.toml`, `cases.toml`,
//! `suts.toml`, `expectations/`), not in code.

pub mod catalog;
pub mod harms;
pub mod host;
pub mod merge;
pub mod run;
pub mod suite;
pub mod surface;
pub mod suts;
