//! The conformance harness engine: the adapter protocol, the case guard, the observers,
//! the case procedure and the result model.
//!
//! It knows nothing of any particular suite: `sbx-conformance` turns the requirement
//! catalog and the plugin suite into [`case::Case`]s and aggregates their results.
//!
//! **Architecture invariant:** no verdict depends on what the sandbox under test says
//! about itself. The adapter's answers decide only between outcomes (refused, killed,
//! survived); harm is observed by the harness (canaries, listeners, file snapshots, the
//! case guard's process tree and rusage).

pub mod case;
pub mod fuzzing;
pub mod guard;
pub mod handed;
pub mod model;
pub mod observe;
pub mod outer;
pub mod package;
pub mod procfs;
pub mod protocol;
pub mod selftest;
pub mod session;
pub mod swap;
