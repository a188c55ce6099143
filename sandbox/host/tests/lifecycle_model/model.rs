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
use sbx_host::{Event, InvalidTransition, State};

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
    /// `invoke("sleep")` of a fraction of the call deadline, during which another thread
    /// pauses the plugin for longer than the deadline and resumes it: the call is not
    /// charged for the pause, and answers.
    PauseDuringCall,
    /// `invoke("hang")`, during which another thread kills the plugin through its
    /// `Controller`: the host asked for the end, so it is Terminated, not Failed.
    KillDuringCall,
}

impl Transition {
    /// Every transition.
    pub const ALL: [Transition; 12] = [
        Transition::Init,
        Transition::Start,
        Transition::Invoke,
        Transition::PluginError,
        Transition::Pause,
        Transition::Resume,
        Transition::Terminate,
        Transition::Kill,
        Transition::PluginCrash,
        Transition::DeadlineExpiry,
        Transition::PauseDuringCall,
        Transition::KillDuringCall,
    ];

    /// Weight among the transitions the rules allow: the five that end a plugin are rare,
    /// so that a case spends about twenty steps in live states before it ends, and so is a
    /// pause during a call, which costs more than the call deadline.
    fn weight(self) -> usize {
        match self {
            Transition::Terminate
            | Transition::Kill
            | Transition::PluginCrash
            | Transition::DeadlineExpiry
            | Transition::PauseDuringCall
            | Transition::KillDuringCall => 1,
            Transition::PluginError => 10,
            _ => 20,
        }
    }

    /// The lifecycle events this request amounts to, in order: a crash or a missed
    /// deadline is an invoke call that ends in a fault.
    pub fn events(self) -> &'static [Event] {
        match self {
            Transition::Init => &[Event::Init],
            Transition::Start => &[Event::Start],
            Transition::Invoke | Transition::PluginError | Transition::PauseDuringCall => {
                &[Event::Invoke]
            }
            Transition::Pause => &[Event::Pause],
            Transition::Resume => &[Event::Resume],
            Transition::Terminate | Transition::Kill => &[Event::Terminate],
            Transition::PluginCrash | Transition::DeadlineExpiry => &[Event::Invoke, Event::Fault],
            Transition::KillDuringCall => &[Event::Invoke, Event::Terminate],
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

    /// Any transition may come in any state. In a live state one draw in four is among
    /// the transitions the rules refuse (uniformly) and three in four among those they
    /// allow (by [`Transition::weight`]); in a final state every transition is refused.
    /// The order of [`Transition::ALL`] is also the order shrinking tries.
    fn transitions(model: &Model) -> BoxedStrategy<Transition> {
        let from = model.state;
        let (allowed, refused): (Vec<Transition>, Vec<Transition>) = Transition::ALL
            .into_iter()
            .partition(|&t| verdict::<R>(from, t).is_ok());
        let allowed: Vec<Transition> = allowed
            .into_iter()
            .flat_map(|t| std::iter::repeat_n(t, t.weight()))
            .collect();
        match (allowed.is_empty(), refused.is_empty()) {
            (true, _) => select(refused).boxed(),
            (false, true) => select(allowed).boxed(),
            (false, false) => prop_oneof![1 => select(refused), 3 => select(allowed)].boxed(),
        }
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
    use std::collections::BTreeMap;

    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    use super::*;

    /// With as many cases as the property runs, the generator asks for every transition in
    /// every state, and a good share of the steps are taken in live states.
    #[test]
    fn the_generator_reaches_every_transition_in_every_state() {
        let mut runner = TestRunner::new_with_rng(
            Config::default(),
            TestRng::deterministic_rng(RngAlgorithm::ChaCha),
        );
        let strategy = Lifecycle::<Reference>::sequential_strategy(crate::STEPS);
        let mut seen: BTreeMap<(usize, usize), usize> = BTreeMap::new();
        let index = |s: State| State::ALL.iter().position(|&x| x == s).unwrap();
        for _ in 0..crate::CASES {
            let (mut model, transitions, _) = strategy.new_tree(&mut runner).unwrap().current();
            for t in transitions {
                let column = Transition::ALL.iter().position(|&x| x == t).unwrap();
                *seen.entry((index(model.state), column)).or_default() += 1;
                model = <Lifecycle<Reference> as ReferenceStateMachine>::apply(model, &t);
            }
        }
        let all: usize = seen.values().sum();
        let live: usize = seen
            .iter()
            .filter(|((state, _), _)| !State::ALL[*state].is_final())
            .map(|(_, n)| n)
            .sum();
        eprintln!("{all} steps, {live} in live states; steps per transition (columns) and state:");
        eprintln!("{:12}{:?}", "", Transition::ALL);
        for (row, state) in State::ALL.iter().enumerate() {
            let counts: Vec<usize> = (0..Transition::ALL.len())
                .map(|column| seen.get(&(row, column)).copied().unwrap_or(0))
                .collect();
            eprintln!("{:12}{counts:?}", format!("{state:?}"));
        }
        assert_eq!(
            seen.len(),
            State::ALL.len() * Transition::ALL.len(),
            "{seen:?}"
        );
        assert!(live * 3 > all, "only {live} of {all} steps in live states");
    }

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
            for t in Transition::ALL {
                if verdict::<Reference>(from, t) != verdict::<ResumeWhileRunning>(from, t) {
                    differences.push((from, t));
                }
            }
        }
        assert_eq!(differences, [(State::Running, Transition::Resume)]);
    }
}
