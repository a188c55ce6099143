//! The host process's open descriptors, taken before a test's work and compared after it.
//!
//! A leak is a descriptor that is open after the work and was not before: the same number
//! pointing at the same thing does not count. Another thread of the test process may open a
//! file for a moment (the test harness, a temporary directory being removed, a property
//! test reading its regressions file); such a descriptor closes again, a leaked one never
//! does, so a difference is looked at again for up to a second before it is called a leak.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Every open descriptor of this process, with what it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdCensus(BTreeSet<(i32, PathBuf)>);

impl FdCensus {
    pub fn take() -> Self {
        // The listing's own descriptor is open while it is read; its number depends on what
        // else is open, so it is left out.
        let listing = PathBuf::from(format!("/proc/{}/fd", std::process::id()));
        let entries = std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd");
        FdCensus(
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| {
                    let fd = entry.file_name().to_str()?.parse().ok()?;
                    let target = std::fs::read_link(entry.path()).ok()?;
                    (target != listing).then_some((fd, target))
                })
                .collect(),
        )
    }

    /// Panics, naming `what`, when a descriptor opened since `self` stays open.
    pub fn assert_none_leaked(&self, what: &str) {
        assert_eq!(
            self.leaked_since(),
            Vec::<String>::new(),
            "descriptors leaked by {what}"
        );
    }

    /// Descriptors open now that were not open at `self`, each as `fd -> target`, once they
    /// have stayed open for a second; empty when none did.
    pub fn leaked_since(&self) -> Vec<String> {
        let settle = Instant::now() + Duration::from_secs(1);
        loop {
            let now = FdCensus::take();
            let new: Vec<String> = now
                .0
                .difference(&self.0)
                .map(|(fd, target)| format!("{fd} -> {}", target.display()))
                .collect();
            if new.is_empty() || Instant::now() >= settle {
                return new;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
