//! Integration tests of the reference sandbox: one binary, a module per topic.

mod broker;
mod common;
mod confinement;
mod fuzz_replay;
mod host;
mod lifecycle;
mod low_latency;
mod packages;
mod pool;
mod supervision;
mod templates;
