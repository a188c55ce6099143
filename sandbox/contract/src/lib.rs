//! What the two sides of the trust boundary agree on. The host (`sbx-host`) and the runner
//! (`sbx-runner`, which shares a process with the plugin) depend on this crate and never on
//! each other: the plugin ABI ([`abi`], mirroring `include/sbx_plugin.h`), the runner's
//! configuration ([`config`]), the descriptors the host places ([`fds`]), the runner's exit
//! codes ([`exit_code`]), the framed channel over the socketpair ([`channel`]) and its low-latency form over
//! shared-memory rings ([`ring`]), and the
//! report of what confinement put in force ([`enforcement`]), and the development mode's
//! report of a refused system call ([`development`]).

pub mod abi;
pub mod channel;
pub mod config;
pub mod development;
pub mod enforcement;
pub mod exit_code;
pub mod fds;
pub mod memory;
pub mod ring;

/// The plugin ABI header, for tools that install or print it.
pub const PLUGIN_HEADER: &str = include_str!("../../include/sbx_plugin.h");
