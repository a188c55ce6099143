//! The rules of an update ([`crate::host::Host::update`]), kept apart from the processes
//! they move: whether an offered version may replace the installed one, and how the new
//! version's probation ends. Pure functions of their inputs, so property tests cover them.

use std::cmp::Ordering;

use crate::plugin_policy::UpdatePolicy;

/// Why an update was refused before anything of the new version ran.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateRefusal {
    /// The package is another plugin's.
    #[error("the package is plugin {offered}, not {installed}")]
    OtherPlugin {
        /// The plugin updated.
        installed: String,
        /// The package's manifest's name.
        offered: String,
    },
    /// A version is not Semantic Versioning: which one is newer cannot be told.
    #[error("version {version:?} is not a semantic version ({why})")]
    NotSemver {
        /// The version as written.
        version: String,
        /// The parser's reason.
        why: String,
    },
    /// The offered version is the installed one: an update must change it.
    #[error("version {0} is installed already")]
    SameVersion(String),
    /// The offered version is below the installed one, and the policy allows no downgrade.
    #[error(
        "version {offered} is below the installed {installed}, and the policy allows no downgrade"
    )]
    Downgrade {
        /// The version running.
        installed: String,
        /// The version offered.
        offered: String,
    },
    /// Another update of the plugin is still in its probation.
    #[error("the update to {0} is still in its probation")]
    InProbation(String),
}

impl UpdateRefusal {
    /// A word for the kind of refusal (the audit log's `reason`).
    pub fn kind(&self) -> &'static str {
        match self {
            UpdateRefusal::OtherPlugin { .. } => "other_plugin",
            UpdateRefusal::NotSemver { .. } => "not_semver",
            UpdateRefusal::SameVersion(_) => "same_version",
            UpdateRefusal::Downgrade { .. } => "downgrade",
            UpdateRefusal::InProbation(_) => "in_probation",
        }
    }
}

/// Whether `offered` may replace `installed` under `policy`: a newer version may; an
/// older one only when the policy allows downgrades; the same one never (its bytes may
/// differ, which a version is there to tell).
pub fn check_version(
    installed: &str,
    offered: &str,
    policy: &UpdatePolicy,
) -> Result<(), UpdateRefusal> {
    let parse = |v: &str| {
        semver::Version::parse(v).map_err(|e| UpdateRefusal::NotSemver {
            version: v.to_owned(),
            why: e.to_string(),
        })
    };
    match parse(offered)?.cmp_precedence(&parse(installed)?) {
        Ordering::Greater => Ok(()),
        Ordering::Less if policy.allow_downgrade => Ok(()),
        Ordering::Less => Err(UpdateRefusal::Downgrade {
            installed: installed.to_owned(),
            offered: offered.to_owned(),
        }),
        Ordering::Equal => Err(UpdateRefusal::SameVersion(offered.to_owned())),
    }
}

/// How a call of a version on probation ended, as the probation counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEnd {
    /// Answered (an error status the plugin returned is an answer).
    Answered,
    /// Its process ended with a fault that may be transient (a crash, a deadline, a limit).
    TransientFault,
    /// Its process was killed for attacking (a seccomp kill, a protocol violation).
    Attack,
}

/// What follows a call on probation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Still on probation.
    Continue,
    /// Probation served: the update is final.
    Commit,
    /// The new version failed beyond its budget, or attacked: back to the previous one.
    RollBack,
}

/// A new version's probation: its first calls, and the faults among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probation {
    /// Calls still to serve.
    pub calls_left: u32,
    /// Faults so far.
    pub faults: u32,
    /// Faults allowed.
    pub budget: u32,
}

impl Probation {
    /// The probation `policy` sets; `None` when it sets none (the update is final at once).
    pub fn new(policy: &UpdatePolicy) -> Option<Probation> {
        (policy.probation_calls > 0).then_some(Probation {
            calls_left: policy.probation_calls,
            faults: 0,
            budget: policy.failure_budget,
        })
    }

    /// Counts one call that ended so.
    pub fn record(&mut self, end: CallEnd) -> Verdict {
        self.calls_left = self.calls_left.saturating_sub(1);
        match end {
            CallEnd::Attack => return Verdict::RollBack,
            CallEnd::TransientFault => {
                self.faults += 1;
                if self.faults > self.budget {
                    return Verdict::RollBack;
                }
            }
            CallEnd::Answered => {}
        }
        if self.calls_left == 0 {
            Verdict::Commit
        } else {
            Verdict::Continue
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy(allow_downgrade: bool) -> UpdatePolicy {
        UpdatePolicy {
            allow_downgrade,
            ..UpdatePolicy::default()
        }
    }

    #[test]
    fn versions_are_ordered_as_semantic_versions() {
        let p = policy(false);
        assert_eq!(check_version("1.0.0", "1.1.0", &p), Ok(()));
        // Not as text: 1.10 is newer than 1.9.
        assert_eq!(check_version("1.9.0", "1.10.0", &p), Ok(()));
        // A release is newer than its pre-release; build metadata does not count.
        assert_eq!(check_version("2.0.0-rc.1", "2.0.0", &p), Ok(()));
        assert!(matches!(
            check_version("1.0.0+a", "1.0.0+b", &p),
            Err(UpdateRefusal::SameVersion(_))
        ));
        assert!(matches!(
            check_version("1.0.0", "0.9.0", &p),
            Err(UpdateRefusal::Downgrade { .. })
        ));
        assert_eq!(check_version("1.0.0", "0.9.0", &policy(true)), Ok(()));
        assert!(matches!(
            check_version("1.0", "1.1.0", &p),
            Err(UpdateRefusal::NotSemver { .. })
        ));
    }

    proptest! {
        /// A probation ends in a rollback exactly when a call attacked or the faults passed
        /// the budget, and in a commit exactly when every call was served without that; it
        /// never goes on past its calls.
        #[test]
        fn probation_ends_as_its_calls_decide(
            calls in 1u32..12,
            budget in 0u32..4,
            ends in proptest::collection::vec(0u8..3, 1..16),
        ) {
            let mut p = Probation::new(&UpdatePolicy {
                allow_downgrade: false,
                probation_calls: calls,
                failure_budget: budget,
            })
            .expect("a probation");
            let (mut faults, mut served) = (0, 0);
            for e in ends {
                let end = match e {
                    0 => CallEnd::Answered,
                    1 => CallEnd::TransientFault,
                    _ => CallEnd::Attack,
                };
                served += 1;
                faults += u32::from(end == CallEnd::TransientFault);
                let verdict = p.record(end);
                let expected = if end == CallEnd::Attack || faults > budget {
                    Verdict::RollBack
                } else if served == calls {
                    Verdict::Commit
                } else {
                    Verdict::Continue
                };
                prop_assert_eq!(verdict, expected);
                if verdict != Verdict::Continue {
                    break;
                }
            }
        }
    }

    #[test]
    fn no_probation_calls_means_final_at_once() {
        assert_eq!(
            Probation::new(&UpdatePolicy {
                allow_downgrade: false,
                probation_calls: 0,
                failure_budget: 0,
            }),
            None
        );
    }
}
