//! The descriptors the host places in the runner before `exec`, by number.

use std::os::fd::RawFd;

/// Descriptor number of the channel in the runner.
pub const CHANNEL_FD: RawFd = 3;
/// Descriptor number of the violation pipe (SIGSYS handler -> host) in the runner.
pub const VIOLATION_FD: RawFd = 4;
/// Descriptor number of the liveness socket in the runner: the host writes a byte on it now
/// and then, during calls too, and a thread of the runner's own writes it back, so that the
/// host tells a runner that still answers (working) from one that does not (hung) before a
/// call's deadline. The plugin shares the process, so an answer is a sign, never a proof.
pub const LIVENESS_FD: RawFd = 5;
/// Tasks of the runner's own beside the thread that runs the plugin's entry points: the
/// thread that answers liveness beats, the runner's first process, which waits outside the
/// plugin's pid namespace, and that namespace's init. The task caps (RLIMIT_NPROC, the
/// cgroup's pids.max) leave room for them, so that the plugin may start as many threads as
/// without them.
pub const RUNNER_OWN_TASKS: u64 = 3;
/// Descriptor number of the sealed plugin memfd in the runner, when loading from one.
pub const PLUGIN_FD: RawFd = 6;
/// Descriptor number of the payload window in the runner, when the host gives one: a memory
/// file of two halves (input, output) sealed against growing and shrinking, for inputs and
/// outputs larger than a frame carries (`sbx-ipc`'s PROTOCOL.md). The plugin's process maps
/// it at its first use and closes the descriptor.
pub const PAYLOAD_WINDOW_FD: RawFd = 7;
/// Descriptor number of the low-latency mode's ring memory in the runner, when the host gives
/// one (`sbx-ipc`'s PROTOCOL.md, "The ring"): the runner maps it before its confinement and
/// closes the descriptor.
pub const RING_FD: RawFd = 8;
