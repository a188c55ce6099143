//! Liveness beats on the runner's own socket (`sbx_contract::fds::LIVENESS_FD`): the host
//! writes a byte now and then while it waits for an answer, and a thread of the runner's
//! writes it back, during calls too. So the host can tell, before a call's deadline, a
//! runner that still answers (the plugin is busy or blocked in its call: working) from one
//! that answers nothing (hung), and records which when the deadline is missed. The plugin
//! shares the runner's process: an answer is a sign, never a proof, and the deadline still
//! ends the call either way.

use std::os::fd::OwnedFd;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// How often a beat is sent while the host waits.
pub const BEAT_INTERVAL: Duration = Duration::from_millis(100);

/// How long after its last answer a runner still counts as answering: a beat a little late
/// on a busy machine is no sign of a hang.
const ANSWERED_WITHIN: Duration = Duration::from_millis(500);

/// What the beats say of a runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Liveness {
    /// It answered a beat lately: the process runs, whatever its call is doing.
    Working,
    /// It has answered no beat lately: the process answers nothing.
    Hung,
}

impl Liveness {
    /// The snake_case word, as audit records write it.
    pub fn name(self) -> &'static str {
        match self {
            Liveness::Working => "working",
            Liveness::Hung => "hung",
        }
    }

    /// Every word, for tests and documentation.
    pub const ALL: [Liveness; 2] = [Liveness::Working, Liveness::Hung];
}

/// The host's end of the liveness socket and what it heard.
#[derive(Debug)]
pub struct Beats {
    socket: OwnedFd,
    /// When the runner last answered, and when the first beat was sent (answers are
    /// judged only once one was asked for).
    heard: Mutex<Heard>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Heard {
    first_beat: Option<Instant>,
    last_answer: Option<Instant>,
}

impl Beats {
    /// Over the host's end of the socketpair; made non-blocking, so that a runner that
    /// reads nothing never holds the host.
    pub fn new(socket: OwnedFd) -> std::io::Result<Beats> {
        nix::fcntl::fcntl(
            &socket,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        )?;
        Ok(Beats {
            socket,
            heard: Mutex::new(Heard::default()),
        })
    }

    /// A new request is sent: what was heard before says nothing of it (late answers to the
    /// last request's beats are read and dropped).
    pub fn start(&self) {
        let mut heard = self.heard.lock().unwrap_or_else(|p| p.into_inner());
        self.answered();
        *heard = Heard::default();
    }

    /// Takes in the answers that arrived, then sends a beat.
    pub fn beat(&self) {
        let mut heard = self.heard.lock().unwrap_or_else(|p| p.into_inner());
        if self.answered() {
            heard.last_answer = Some(Instant::now());
        }
        // A full socket (a runner that stopped reading) drops the beat: it is answered or
        // it is not, and either says what it must.
        let _ = nix::unistd::write(&self.socket, b"b");
        heard.first_beat.get_or_insert_with(Instant::now);
    }

    /// Reads the answers that have arrived, one read's worth: whether there was any. The
    /// plugin shares the runner's process and can write on the socket without end; reading
    /// until it is empty would hold the host here, past every deadline. What is left is read
    /// at the next beat (a beat is one byte, a read takes thousands).
    fn answered(&self) -> bool {
        let mut buf = [0u8; 4096];
        matches!(nix::unistd::read(&self.socket, &mut buf), Ok(1..))
    }

    /// What the beats say of the request in flight (or the last one); `None` until a beat
    /// has had time to be answered.
    pub fn liveness(&self) -> Option<Liveness> {
        let heard = *self.heard.lock().unwrap_or_else(|p| p.into_inner());
        let asked = heard.first_beat?;
        let now = Instant::now();
        match heard.last_answer {
            Some(t) if now.saturating_duration_since(t) <= ANSWERED_WITHIN => {
                Some(Liveness::Working)
            }
            _ if now.saturating_duration_since(asked) <= ANSWERED_WITHIN => None,
            _ => Some(Liveness::Hung),
        }
    }

    /// Milliseconds since the runner last answered a beat, if it ever did.
    pub fn last_answer_ms(&self) -> Option<u64> {
        let heard = self.heard.lock().unwrap_or_else(|p| p.into_inner());
        heard
            .last_answer
            .map(|t| t.elapsed().as_millis().min(u128::from(u64::MAX)) as u64)
    }
}
