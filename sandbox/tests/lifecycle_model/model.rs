//! The reference model: [`State::apply`], driven by generated [`Transition`]s.
//!
//! The model decides, for every transition in every state, whether it is legal and where
//! it leads. The rules are a type parameter ([`Rules`]) so the same generator and the same
//! checks can run against a deliberately broken rule set and show that they catch it.

use std::fmt::Debug;
use std::marker::PhantomData;

use proptest::prelude::*;
use proptest::sample::select;
use proptest_state_machine::ReferenceStateMachine;
use sbx_sandbox::{Event, InvalidTransition, State};

/// One request the test makes of the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// `Plugin::init`.
    Init,
    /// `Plugin::start`.
    Start,
    /// `invoke("ping")`, answered "pong".
    Invoke,
    /// `invoke("error")`: the plugin returns an error status and keeps running.
    PluginError,
    /// `Plugin::pause`.
    Pause,
    /// `Plugin::resume`.
    Resume,
    /// `Plugin::shutdown` (graceful).
    Terminate,
    /// `Plugin::kill`.
    Kill,
    /// `invoke("segfault")`: the process dies of SIGSEGV.
    PluginCrash,
    /// `invoke("hang")`: the call deadline expires and the host kills the process.
    DeadlineExpiry,
}

impl Transition {
    /// Every transition with its weight in generation. The order is also the shrinking
    /// order (towards the front). Ending transitions weigh little so that cases spend most
    /// of their steps in live states; the deadline, the only slow step, weighs as little.
    const WEIGHTED: [(Transition, usize); 10] = [
        (Transition::Init, 5),
        (Transition::Start, 5),
        (Transition::Invoke, 5),
        (Transition::PluginError, 3),
        (Transition::Pause, 5),
        (Transition::Resume, 5),
        (Transition::Terminate, 1),
        (Transition::Kill, 1),
        (Transition::PluginCrash, 1),
        (Transition::DeadlineExpiry, 1),
    ];

    /// The lifecycle events this request amounts to, in order: a crash or a missed
    /// deadline is an invoke call that ends in a fault.
    pub fn events(self) -> &'static [Event] {
        match self {
            Transition::Init => &[Event::Init],
            Transition::Start => &[Event::Start],
            Transition::Invoke | Transition::PluginError => &[Event::Invoke],
            Transition::Pause => &[Event::Pause],
            Transition::Resume => &[Event::Resume],
            Transition::Terminate | Transition::Kill => &[Event::Terminate],
            Transition::PluginCrash | Transition::DeadlineExpiry => &[Event::Invoke, Event::Fault],
        }
    }
}

/// A lifecycle rule set.
pub trait Rules: Debug + 'static {
    /// The state after `event`, or the refusal.
    fn apply(from: State, event: Event) -> Result<State, InvalidTransition>;
}

/// The sandbox's own rules: [`State::apply`].
#[derive(Debug)]
pub struct Reference;

impl Rules for Reference {
    fn apply(from: State, event: Event) -> Result<State, InvalidTransition> {
        from.apply(event)
    }
}

/// Deliberately wrong: claims a running plugin may be resumed (it must be refused).
#[derive(Debug)]
pub struct ResumeWhileRunning;

impl Rules for ResumeWhileRunning {
    fn apply(from: State, event: Event) -> Result<State, InvalidTransition> {
        match (from, event) {
            (State::Running, Event::Resume) => Ok(State::Running),
            _ => from.apply(event),
        }
    }
}

/// What the rules say of `transition` from `from`: the state it leads to, or the refusal
/// of its first illegal event.
pub fn verdict<R: Rules>(from: State, transition: Transition) -> Result<State, InvalidTransition> {
    transition
        .events()
        .iter()
        .try_fold(from, |state, &event| R::apply(state, event))
}

/// The last step the model took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The state before it.
    pub from: State,
    /// Where it led, or why it was refused.
    pub verdict: Result<State, InvalidTransition>,
}

/// The model's state: the lifecycle state and the step that led to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Model {
    /// Current lifecycle state.
    pub state: State,
    /// The last step, `None` before the first one.
    pub last: Option<Step>,
}

/// The reference state machine over the rules `R`.
#[derive(Debug)]
pub struct Lifecycle<R>(PhantomData<R>);

impl<R: Rules> ReferenceStateMachine for Lifecycle<R> {
    type State = Model;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model {
            state: State::Loaded,
            last: None,
        })
        .boxed()
    }

    /// Any transition may come in any state, illegal ones included; in a live state, two
    /// draws in three are among the transitions the rules allow, so that cases get past
    /// `Loaded` and spend their steps in every state.
    fn transitions(model: &Model) -> BoxedStrategy<Transition> {
        let weighted = |allowed: &dyn Fn(Transition) -> bool| -> Vec<Transition> {
            Transition::WEIGHTED
                .iter()
                .filter(|(t, _)| allowed(*t))
                .flat_map(|&(t, weight)| std::iter::repeat_n(t, weight))
                .collect()
        };
        let any = select(weighted(&|_| true));
        let from = model.state;
        let legal = weighted(&|t| verdict::<R>(from, t).is_ok());
        if legal.is_empty() {
            return any.boxed();
        }
        prop_oneof![1 => any, 2 => select(legal)].boxed()
    }

    fn apply(model: Model, transition: &Transition) -> Model {
        let verdict = verdict::<R>(model.state, *transition);
        Model {
            state: verdict.unwrap_or(model.state),
            last: Some(Step {
                from: model.state,
                verdict,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_and_errors_are_invoke_calls() {
        for from in State::ALL {
            let invoke = from.apply(Event::Invoke);
            assert_eq!(verdict::<Reference>(from, Transition::PluginError), invoke);
            let crash = verdict::<Reference>(from, Transition::PluginCrash);
            assert_eq!(crash.is_ok(), from == State::Running, "{from:?}");
            if let Err(refusal) = crash {
                assert_eq!(refusal.event, Event::Invoke);
            }
        }
    }

    #[test]
    fn the_broken_rules_differ_in_exactly_one_place() {
        let mut differences = Vec::new();
        for from in State::ALL {
            for (t, _) in Transition::WEIGHTED {
                if verdict::<Reference>(from, t) != verdict::<ResumeWhileRunning>(from, t) {
                    differences.push((from, t));
                }
            }
        }
        assert_eq!(differences, [(State::Running, Transition::Resume)]);
    }
}
