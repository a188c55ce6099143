//! The seccomp policy, as data: `seccomp.toml` (one file, reviewed like code) and its
//! compilation to BPF per stage ([`seccomp`]), with the x86-64 system call table
//! ([`syscalls`]) the runner's filters and the host's termination records both name calls by.
//! Pure: no process, descriptor or clock is touched here.

#![forbid(unsafe_code)]

pub mod seccomp;
pub mod syscalls;
