//! The host's half of the conversation with a runner, without the process: for each frame the
//! runner sends while a request is pending, whether it is the answer, a host call to serve, a
//! log record to keep, or a breach of the protocol that ends the process.
//!
//! [`crate::supervisor::Plugin`] owns the process, the channel and the deadlines and asks
//! [`HostSession::on_frame`] what each frame means; keeping the decision here, free of file
//! descriptors and clocks, lets the stateful fuzz target (`fuzzing::fuzz_host_session`) drive
//! the same code with any sequence of frames at fuzzing speed.

use std::collections::VecDeque;

use sbx_ipc::{Frame, LogLevel, Message};

use crate::audit::AuditEvent;
use crate::broker::Broker;
use crate::stats::BrokerStats;
use crate::stats::LogRecord;
use sbx_contract::abi;

/// Log records kept per plugin; older ones are dropped (and counted).
pub const MAX_KEPT_LOGS: usize = 1024;

/// What the host waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The echo of a heartbeat: nothing else may answer it, and no host call is served.
    Heartbeat,
    /// The reply to init, invoke or shutdown: a result or the plugin's error.
    Reply,
}

/// What one frame from the runner means for the pending request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing to answer: keep waiting.
    Continue,
    /// A host call was served: send this reply, then keep waiting.
    Reply(Frame),
    /// The answer to the pending request (a `Heartbeat` or a `Result`).
    Answer(Message),
    /// The plugin answered with its own error status; it keeps running.
    PluginError {
        /// Status code.
        code: i32,
        /// Its message.
        message: String,
    },
    /// The runner broke the protocol: the process must end. The text says how.
    Violation(String),
}

/// Counters of the log records a session received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogCounts {
    /// Records admitted.
    pub records: u64,
    /// Bytes admitted.
    pub bytes: u64,
    /// Records dropped from the kept window because more than [`MAX_KEPT_LOGS`] arrived.
    pub dropped: u64,
}

/// The host side of one runner's protocol: the broker that serves its host calls and the log
/// records it wrote, with the bounds that keep both finite.
#[derive(Debug)]
pub struct HostSession {
    broker: Broker,
    logs: VecDeque<LogRecord>,
    counts: LogCounts,
    output_limit: usize,
    /// Bytes in each half of the payload window, when the runner has one.
    window: Option<u64>,
}

impl HostSession {
    /// A session whose results may hold at most `output_limit` bytes.
    pub fn new(broker: Broker, output_limit: usize) -> HostSession {
        HostSession {
            broker,
            logs: VecDeque::new(),
            counts: LogCounts::default(),
            output_limit,
            window: None,
        }
    }

    /// This session, for a runner given a payload window of `half` bytes each way: it may
    /// answer with `ResultShared`.
    pub fn with_window(mut self, half: Option<u64>) -> HostSession {
        self.window = half;
        self
    }

    /// Serves host calls from now on with `broker` (a warm spare's, replaced when it becomes
    /// a plugin's process). The log records kept so far stay.
    pub fn replace_broker(&mut self, broker: Broker) {
        self.broker = broker;
    }

    /// What `frame` means while request `pending` waits for `expect`. Audit events it causes
    /// are appended to `events`.
    pub fn on_frame(
        &mut self,
        pending: u64,
        expect: Expect,
        frame: Frame,
        events: &mut Vec<AuditEvent>,
    ) -> Step {
        let wrong_id = frame.request_id != pending;
        let heartbeat = expect == Expect::Heartbeat;
        match frame.message {
            // The runner bounds log records, but a plugin can write frames itself.
            Message::Log { message, .. } if message.len() > abi::MAX_LOG_LEN => {
                Step::Violation(format!("log record of {} bytes", message.len()))
            }
            Message::Log { level, message } => {
                self.keep_log(level, message, events);
                Step::Continue
            }
            // A host service asked for during the call: answered by the broker at once, under
            // the id the runner chose (its own sequence of host calls).
            Message::HostCall { service, payload } if !heartbeat => {
                let (status, payload) = self.broker.handle(service, &payload, events);
                // What was asked and what the broker decided; never the arguments.
                tracing::debug!(
                    service = sbx_ipc::host_call::Service::try_from(service)
                        .map_or("unknown", |s| s.name()),
                    status = abi::status_name(status),
                    reply_bytes = payload.len(),
                    "host call"
                );
                Step::Reply(Frame {
                    request_id: frame.request_id,
                    message: Message::HostReply { status, payload },
                })
            }
            _ if wrong_id => Step::Violation(format!(
                "reply for request {} while {pending} was pending",
                frame.request_id
            )),
            Message::Heartbeat if heartbeat => Step::Answer(Message::Heartbeat),
            Message::Result { output } if !heartbeat => {
                if output.len() > self.output_limit {
                    Step::Violation(format!("{} output bytes", output.len()))
                } else {
                    Step::Answer(Message::Result { output })
                }
            }
            // An output in the window: only a runner that has one, and no more than the half
            // or the call's bound (the host reads exactly this many bytes of it).
            Message::ResultShared { output_len } if !heartbeat && self.window.is_some() => {
                let bound = self
                    .window
                    .unwrap_or_default()
                    .min(self.output_limit as u64);
                if u64::from(output_len) > bound {
                    Step::Violation(format!("{output_len} output bytes in the payload window"))
                } else {
                    Step::Answer(Message::ResultShared { output_len })
                }
            }
            // The runner caught the plugin breaking the ABI (an output length beyond its
            // buffer): a fault, not an answer.
            Message::Error { code, message } if code == abi::RUNNER_ABI_VIOLATION => {
                Step::Violation(message)
            }
            Message::Error { code, message } if !heartbeat => Step::PluginError { code, message },
            other => Step::Violation(format!("unexpected {}", other.name())),
        }
    }

    /// Keeps a log record if the log grant and rate admit it; the window holds the newest
    /// [`MAX_KEPT_LOGS`].
    pub fn keep_log(&mut self, level: LogLevel, message: String, events: &mut Vec<AuditEvent>) {
        if !self.broker.admit_log(message.len(), events) {
            return;
        }
        self.counts.records += 1;
        self.counts.bytes += message.len() as u64;
        if self.logs.len() == MAX_KEPT_LOGS {
            self.logs.pop_front();
            self.counts.dropped += 1;
        }
        self.logs.push_back(LogRecord {
            level: level.name().into(),
            message,
        });
    }

    /// Log records kept (at most [`MAX_KEPT_LOGS`], newest last).
    pub fn logs(&self) -> impl ExactSizeIterator<Item = &LogRecord> {
        self.logs.iter()
    }

    /// Counters of the records received.
    pub fn log_counts(&self) -> LogCounts {
        self.counts
    }

    /// The broker's counters.
    pub fn broker_stats(&self) -> BrokerStats {
        self.broker.stats()
    }

    /// Messages the plugin showed the user through `notify_user`.
    pub fn notifications(&self) -> &[String] {
        self.broker.notifications()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::{BrokerConfig, Grants};

    fn session(window: Option<u64>) -> HostSession {
        let broker = Broker::new(BrokerConfig::default(), Grants::new(Default::default()))
            .expect("the default broker");
        HostSession::new(broker, 1000).with_window(window)
    }

    fn answer(session: &mut HostSession, output_len: u32) -> Step {
        let frame = Frame {
            request_id: 1,
            message: Message::ResultShared { output_len },
        };
        session.on_frame(1, Expect::Reply, frame, &mut Vec::new())
    }

    #[test]
    fn an_output_in_the_window_is_an_answer_only_within_the_window_and_the_bound() {
        let mut s = session(Some(500));
        assert!(matches!(
            answer(&mut s, 500),
            Step::Answer(Message::ResultShared { output_len: 500 })
        ));
        // Past the window's half, though within the output bound.
        assert!(matches!(answer(&mut s, 501), Step::Violation(_)));
        // Past the output bound, though within the window.
        let mut s = session(Some(5000));
        assert!(matches!(answer(&mut s, 1001), Step::Violation(_)));
        // A runner without a window cannot answer through one.
        let mut s = session(None);
        assert!(matches!(answer(&mut s, 1), Step::Violation(_)));
    }
}
