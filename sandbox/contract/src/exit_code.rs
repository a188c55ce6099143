//! Exit codes of the runner when it cannot serve (each also sent as an `Error` frame
//! first): the host names why a runner ended from them.

/// Confinement failed, or strict mode found a layer missing.
pub const CONFINEMENT: i32 = 70;
/// The plugin could not be loaded (dlopen, missing symbol, wrong ABI version).
pub const LOAD: i32 = 71;
/// The channel failed or the host sent something the runner cannot process.
pub const CHANNEL: i32 = 72;
/// The runner was started with a bad configuration.
pub const USAGE: i32 = 64;
