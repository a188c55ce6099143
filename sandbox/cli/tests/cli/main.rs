//! Integration tests of `sbx`, the reference sandbox's command line.

mod common;
mod dev;
mod guide;
mod run;
mod unprivileged;
