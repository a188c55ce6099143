//! Exit codes of the runner when it cannot serve (each also sent as an `Error` frame
//! first): the host names why a runner ended from them.

/// Confinement failed.
pub const CONFINEMENT: i32 = 70;
/// The plugin could not be loaded (dlopen, missing symbol, wrong ABI version).
pub const LOAD: i32 = 71;
/// The channel failed or the host sent something the runner cannot process.
pub const CHANNEL: i32 = 72;
/// Strict mode found a confinement layer not in force, and the runner refuses to load
/// the plugin: a refusal of the load, like [`LOAD`], not a fault of the sandbox.
pub const STRICT: i32 = 73;
/// The runner was started with a bad configuration.
pub const USAGE: i32 = 64;
