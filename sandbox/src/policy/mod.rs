//! Policies kept as data: the seccomp policy file and its compiler, and the plugin policy
//! store (grants, limits, restarts, exceptions).

pub mod plugins;
pub mod seccomp;
