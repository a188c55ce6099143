//! The descriptors the host places in the runner before `exec`, by number.

use std::os::fd::RawFd;

/// Descriptor number of the channel in the runner.
pub const CHANNEL_FD: RawFd = 3;
/// Descriptor number of the violation pipe (SIGSYS handler -> host) in the runner.
pub const VIOLATION_FD: RawFd = 4;
/// Descriptor number of the sealed plugin memfd in the runner, when loading from one.
pub const PLUGIN_FD: RawFd = 5;
