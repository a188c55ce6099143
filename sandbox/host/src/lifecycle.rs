//! The plugin lifecycle as an explicit state machine.
//!
//! Pure data: no process, no I/O. The supervisor asks [`State::apply`] before every step and
//! changes nothing when it refuses, so an illegal request has no effect at all.

use serde::{Deserialize, Serialize};

/// Where a plugin is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Confined and loaded (constructors ran); `sbx_plugin_init` not yet called.
    Loaded,
    /// `sbx_plugin_init` succeeded.
    Initialized,
    /// Accepting invoke calls.
    Running,
    /// Stopped by the host: uses no CPU until resumed.
    Paused,
    /// Ended on the host's request (shutdown or kill). Final.
    Terminated,
    /// Ended by a fault: crash, deadline, protocol violation, failed activation. Final.
    Failed,
}

impl State {
    /// The snake_case name, as audit records write it.
    pub fn name(self) -> &'static str {
        match self {
            State::Loaded => "loaded",
            State::Initialized => "initialized",
            State::Running => "running",
            State::Paused => "paused",
            State::Terminated => "terminated",
            State::Failed => "failed",
        }
    }
}

/// A requested or observed change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// `sbx_plugin_init` succeeded.
    Init,
    /// The host starts sending calls.
    Start,
    /// An invoke call (does not change the state).
    Invoke,
    /// The host stops the process.
    Pause,
    /// The host continues the process.
    Resume,
    /// The host ends the plugin (graceful shutdown or kill).
    Terminate,
    /// The process crashed, missed a deadline or broke the protocol.
    Fault,
}

/// A transition the lifecycle does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {event:?} a plugin that is {from:?}")]
pub struct InvalidTransition {
    /// State at the time of the request.
    pub from: State,
    /// What was requested.
    pub event: Event,
}

impl State {
    /// The state after `event`, or the refusal. Never changes `self`.
    pub fn apply(self, event: Event) -> Result<State, InvalidTransition> {
        use Event as E;
        use State as S;
        let next = match (self, event) {
            (S::Loaded, E::Init) => S::Initialized,
            (S::Initialized, E::Start) => S::Running,
            (S::Running, E::Invoke) => S::Running,
            (S::Running, E::Pause) => S::Paused,
            (S::Paused, E::Resume) => S::Running,
            (S::Loaded | S::Initialized | S::Running | S::Paused, E::Terminate) => S::Terminated,
            (S::Loaded | S::Initialized | S::Running | S::Paused, E::Fault) => S::Failed,
            (from, event) => return Err(InvalidTransition { from, event }),
        };
        Ok(next)
    }

    /// Terminated or Failed: nothing more can happen.
    pub fn is_final(self) -> bool {
        matches!(self, State::Terminated | State::Failed)
    }

    /// Every state, for tests and tables.
    pub const ALL: [State; 6] = [
        State::Loaded,
        State::Initialized,
        State::Running,
        State::Paused,
        State::Terminated,
        State::Failed,
    ];
}

impl Event {
    /// Every event, for tests and tables.
    pub const ALL: [Event; 7] = [
        Event::Init,
        Event::Start,
        Event::Invoke,
        Event::Pause,
        Event::Resume,
        Event::Terminate,
        Event::Fault,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_states_accept_nothing() {
        for s in State::ALL.into_iter().filter(|s| s.is_final()) {
            for e in Event::ALL {
                assert_eq!(s.apply(e), Err(InvalidTransition { from: s, event: e }));
            }
        }
    }

    #[test]
    fn the_happy_path() {
        let mut s = State::Loaded;
        for e in [
            Event::Init,
            Event::Start,
            Event::Invoke,
            Event::Pause,
            Event::Resume,
            Event::Terminate,
        ] {
            s = s.apply(e).unwrap();
        }
        assert_eq!(s, State::Terminated);
    }

    #[test]
    fn invoke_only_while_running() {
        for s in State::ALL {
            assert_eq!(s.apply(Event::Invoke).is_ok(), s == State::Running, "{s:?}");
        }
    }
}
