//! Confinement policies kept as data: the seccomp policy file and its compiler.

pub mod seccomp;
