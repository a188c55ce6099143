//! One adapter process, started under the case guard, and the exchange of lines with it.
//!
//! Everything the adapter writes is untrusted: lines are read with a bound, parsed by
//! [`protocol::parse_line`](crate::protocol::parse_line), and every request has a
//! deadline. A line that does not parse, an answer to a request not asked, or no answer
//! in time is recorded as a protocol error and never taken as success.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::guard::{GuardReport, GuardStarted};
use crate::protocol::{self, AdapterMessage, ErrorBody, Event, Op, Request};

/// Descriptor at which the adapter finds an open descriptor of the secret file, as a careless
/// host would leave it: a sandbox must not let it reach the plugin.
pub const BAIT_FD: i32 = 9;

/// Events kept per session; later ones are read and dropped (a flood must not exhaust the
/// harness).
pub const MAX_EVENTS: usize = 10_000;

/// Most stderr bytes kept for scanning and evidence.
const STDERR_KEPT: usize = 1 << 20;

/// How to start one adapter.
#[derive(Debug, Clone)]
pub struct Launch<'a> {
    /// The case guard binary.
    pub guard: &'a Path,
    /// The adapter's argv.
    pub command: &'a [String],
    /// Extra environment for the adapter (canaries).
    pub env: &'a [(String, String)],
    /// Working directory.
    pub cwd: &'a Path,
    /// Guard arguments for outer limits (`--nproc`, `--cgroup`...).
    pub guard_args: &'a [String],
    /// File opened and left at [`BAIT_FD`] in the adapter.
    pub bait: Option<&'a Path>,
}

/// What a request got.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `ok` with its result object.
    Ok(serde_json::Value),
    /// `error`.
    Err(ErrorBody),
    /// No answer before the deadline.
    Late,
    /// The adapter closed its stdout (it died or exited).
    Closed,
    /// The adapter wrote something that is not a valid answer.
    Malformed(String),
}

/// What the harness saw of one plugin's calls since its last load was answered: what the
/// sandbox's [`Figures`](crate::protocol::Figures) are held to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallTally {
    /// Calls answered with a status.
    pub answered: u64,
    /// Of those, answered with a status other than `SBX_OK`.
    pub errors: u64,
    /// Calls that got no answer in time: the sandbox may have finished them since.
    pub unanswered: u64,
}

impl CallTally {
    /// Counts the answer to one call.
    fn count(&mut self, answer: &Answer) {
        match answer {
            Answer::Ok(v) => {
                if let Ok(r) = serde_json::from_value::<protocol::InvokeResult>(v.clone()) {
                    self.answered += 1;
                    if r.status != 0 {
                        self.errors += 1;
                    }
                }
            }
            Answer::Late => self.unanswered += 1,
            Answer::Err(_) | Answer::Closed | Answer::Malformed(_) => {}
        }
    }
}

enum Line {
    Text(Vec<u8>),
    TooLong(usize),
    Eof,
}

/// A running adapter.
pub struct Session {
    guard: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Line>,
    stderr: Arc<Mutex<(Vec<u8>, u64)>>,
    stderr_done: Receiver<()>,
    report: Receiver<String>,
    /// The adapter's pid (from the guard).
    pub adapter_pid: i32,
    /// Outer limits the guard could not apply.
    pub limit_warnings: Vec<String>,
    next_id: u64,
    /// Events received so far.
    pub events: Vec<Event>,
    /// Protocol errors so far.
    pub protocol_errors: Vec<String>,
    /// Every byte of every line the adapter wrote, plus decoded outputs (for canary scans).
    pub seen: Vec<u8>,
    /// Bytes the adapter wrote to stdout.
    pub stdout_bytes: u64,
    /// The calls of each plugin (by handle) since its last load was answered.
    pub calls: std::collections::BTreeMap<String, CallTally>,
    closed: bool,
}

/// What is left when a session ends.
#[derive(Debug, Clone, Default)]
pub struct Finished {
    /// The guard's final report, when it gave one.
    pub guard: Option<GuardReport>,
    /// stderr (first [`STDERR_KEPT`] bytes).
    pub stderr: Vec<u8>,
    /// stderr bytes in all.
    pub stderr_bytes: u64,
}

/// Errors starting an adapter.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The guard could not be started.
    #[error("cannot start the case guard: {0}")]
    Spawn(#[source] std::io::Error),
    /// The guard did not report the adapter as started.
    #[error("the case guard did not start the adapter: {0}")]
    NoStart(String),
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

impl Session {
    /// Starts the guard and the adapter; does not say hello.
    pub fn start(launch: &Launch<'_>) -> Result<Session, StartError> {
        let (report_read, report_write) = pipe().map_err(StartError::Spawn)?;
        let bait = match launch.bait {
            Some(p) => Some(std::fs::File::open(p).map_err(StartError::Spawn)?),
            None => None,
        };
        let mut cmd = Command::new(launch.guard);
        cmd.arg("--report-fd")
            .arg("3")
            .args(launch.guard_args)
            .arg("--")
            .args(launch.command)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .current_dir(launch.cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let report_fd = report_write.as_raw_fd();
        let bait_fd = bait.as_ref().map(|f| f.as_raw_fd());
        // Places `fd` at `target` for the exec'd guard. dup2 onto the same number is a
        // no-op that leaves close-on-exec set (and the descriptor would vanish at exec):
        // then the flag is cleared instead.
        fn place(fd: i32, target: i32) -> std::io::Result<()> {
            // SAFETY: dup2 and fcntl, both async-signal-safe, on descriptors of this process.
            let rc = unsafe {
                if fd == target {
                    libc::fcntl(fd, libc::F_SETFD, 0)
                } else {
                    libc::dup2(fd, target)
                }
            };
            if rc < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(())
            }
        }
        // SAFETY: the closure only calls dup2 and fcntl, which are async-signal-safe, on
        // descriptors that stay open in the parent until spawn returns.
        unsafe {
            cmd.pre_exec(move || {
                place(report_fd, 3)?;
                if let Some(fd) = bait_fd {
                    place(fd, BAIT_FD)?;
                }
                Ok(())
            });
        }
        let mut guard = cmd.spawn().map_err(StartError::Spawn)?;
        drop(report_write);
        drop(bait);
        let stdin = guard.stdin.take();
        let stdout = guard
            .stdout
            .take()
            .ok_or(StartError::NoStart("no stdout".into()))?;
        let stderr_pipe = guard
            .stderr
            .take()
            .ok_or(StartError::NoStart("no stderr".into()))?;

        let (line_tx, lines) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let line = match protocol::read_line(&mut reader) {
                    Ok(protocol::ReadLine::Line(t)) => Line::Text(t),
                    Ok(protocol::ReadLine::TooLong(n)) => Line::TooLong(n),
                    Ok(protocol::ReadLine::Eof) | Err(_) => Line::Eof,
                };
                let eof = matches!(line, Line::Eof);
                if line_tx.send(line).is_err() || eof {
                    return;
                }
            }
        });
        let stderr = Arc::new(Mutex::new((Vec::new(), 0u64)));
        let stderr_sink = Arc::clone(&stderr);
        let (done_tx, stderr_done) = channel();
        std::thread::spawn(move || {
            let mut pipe = stderr_pipe;
            let mut buf = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut kept = stderr_sink.lock().unwrap_or_else(|p| p.into_inner());
                kept.1 += n as u64;
                let room = STDERR_KEPT.saturating_sub(kept.0.len());
                kept.0.extend_from_slice(&buf[..n.min(room)]);
            }
            let _ = done_tx.send(());
        });
        let (report_tx, report) = channel();
        std::thread::spawn(move || {
            let file = std::fs::File::from(report_read);
            for line in BufReader::new(file.take(1 << 20)).lines() {
                let Ok(line) = line else { break };
                if report_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let started: GuardStarted = match report.recv_timeout(Duration::from_secs(10)) {
            Ok(line) => serde_json::from_str(&line)
                .map_err(|e| StartError::NoStart(format!("bad guard report: {e}")))?,
            Err(_) => {
                let _ = guard.kill();
                let _ = guard.wait();
                return Err(StartError::NoStart(
                    "no report from the case guard (adapter command not found?)".into(),
                ));
            }
        };
        Ok(Session {
            guard,
            stdin,
            lines,
            stderr,
            stderr_done,
            report,
            adapter_pid: started.adapter_pid,
            limit_warnings: started.limit_warnings,
            next_id: 1,
            events: Vec::new(),
            protocol_errors: Vec::new(),
            seen: Vec::new(),
            stdout_bytes: 0,
            calls: std::collections::BTreeMap::new(),
            closed: false,
        })
    }

    /// Sends `op` and waits up to `deadline` for its answer, collecting events meanwhile.
    pub fn request(&mut self, op: Op, deadline: Duration) -> Answer {
        if self.closed {
            return Answer::Closed;
        }
        let id = self.next_id;
        self.next_id += 1;
        let line = serde_json::to_string(&Request { id, op: op.clone() }).unwrap_or_default();
        let answer = self.exchange(&line, id, deadline);
        self.tally(&op, &answer);
        answer
    }

    /// Counts `answer` to `op` in [`Session::calls`]: a load answered starts a plugin's
    /// tally afresh, a call answered adds to it.
    fn tally(&mut self, op: &Op, answer: &Answer) {
        match op {
            Op::Load { plugin, .. } | Op::LoadPackage { plugin, .. }
                if matches!(answer, Answer::Ok(_)) =>
            {
                self.calls.insert(plugin.clone(), CallTally::default());
            }
            Op::Invoke { plugin, .. } => {
                self.calls.entry(plugin.clone()).or_default().count(answer);
            }
            _ => {}
        }
    }

    /// Sends a raw line (which may be malformed on purpose) and waits for the answer to
    /// `id` (0 for a line the adapter cannot read an id from).
    pub fn request_raw(&mut self, line: &str, id: u64, deadline: Duration) -> Answer {
        if self.closed {
            return Answer::Closed;
        }
        self.exchange(line, id, deadline)
    }

    /// Sends `first`, then each of `overlapping` after its wait (from the request before
    /// it) without waiting for the first's answer (only `revoke`, and `pause` and `resume`
    /// where the sandbox declares `pause_during_call`, may overlap a pending `invoke`), then
    /// collects every answer in whatever order they come, within `deadline` of the first
    /// request. Returns the first's answer and the others', in request order.
    pub fn request_overlapping(
        &mut self,
        first: Op,
        overlapping: Vec<(Duration, Op)>,
        deadline: Duration,
    ) -> (Answer, Vec<Answer>) {
        let schedule = std::iter::once((Duration::ZERO, first)).chain(overlapping);
        let mut ids = Vec::new();
        let mut sent = Vec::new();
        // The deadline runs from the first request: the ones after it are sent while it
        // is pending.
        let end = Instant::now() + deadline;
        for (wait, op) in schedule {
            if self.closed {
                break;
            }
            std::thread::sleep(wait);
            let id = self.next_id;
            self.next_id += 1;
            let line = serde_json::to_string(&Request { id, op: op.clone() }).unwrap_or_default();
            if !self.send_line(&line) {
                break;
            }
            ids.push(id);
            sent.push(op);
        }
        let mut answers = self.await_answers(&ids, end);
        for (op, answer) in sent.iter().zip(&answers) {
            self.tally(op, answer);
        }
        answers.resize_with(ids.len().max(1), || Answer::Closed);
        let first = answers.remove(0);
        (first, answers)
    }

    fn exchange(&mut self, line: &str, id: u64, deadline: Duration) -> Answer {
        if !self.send_line(line) {
            return Answer::Closed;
        }
        let end = Instant::now() + deadline;
        self.await_answers(&[id], end)
            .pop()
            .unwrap_or(Answer::Closed)
    }

    /// Writes one request line; `false` (and the session closed) when the adapter is gone.
    fn send_line(&mut self, line: &str) -> bool {
        let sent = match self.stdin.as_mut() {
            Some(stdin) => stdin
                .write_all(line.as_bytes())
                .and_then(|()| stdin.write_all(b"\n"))
                .and_then(|()| stdin.flush()),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        };
        if sent.is_err() {
            // The adapter is gone; its stdout will say so too.
            self.closed = true;
        }
        sent.is_ok()
    }

    /// Reads lines until each of `ids` is answered, or `end`. An answer to anything else,
    /// a malformed line, the end of the stream or the deadline settles every request still
    /// pending with that outcome.
    fn await_answers(&mut self, ids: &[u64], end: Instant) -> Vec<Answer> {
        let mut answers: Vec<Option<Answer>> = vec![None; ids.len()];
        let settle_rest = |answers: &mut Vec<Option<Answer>>, with: Answer| {
            for a in answers.iter_mut().filter(|a| a.is_none()) {
                *a = Some(with.clone());
            }
        };
        while answers.iter().any(Option::is_none) {
            let pending = ids
                .iter()
                .zip(&answers)
                .find(|(_, a)| a.is_none())
                .map_or(0, |(id, _)| *id);
            let left = end.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(l) => l,
                Err(RecvTimeoutError::Timeout) => {
                    self.protocol_errors
                        .push(format!("no answer to request {pending} in time"));
                    // An answer that comes later would be matched to no request: the
                    // session is over.
                    self.closed = true;
                    settle_rest(&mut answers, Answer::Late);
                    break;
                }
                Err(RecvTimeoutError::Disconnected) => Line::Eof,
            };
            let text = match line {
                Line::Eof => {
                    self.closed = true;
                    settle_rest(&mut answers, Answer::Closed);
                    break;
                }
                Line::TooLong(n) => {
                    self.stdout_bytes += n as u64;
                    let e = format!("line of {n}+ bytes exceeds the protocol maximum");
                    self.protocol_errors.push(e.clone());
                    settle_rest(&mut answers, Answer::Malformed(e));
                    break;
                }
                Line::Text(t) => t,
            };
            self.stdout_bytes += text.len() as u64 + 1;
            self.seen.extend_from_slice(&text);
            self.seen.push(b'\n');
            let slot = |got: u64| ids.iter().position(|id| *id == got);
            match protocol::parse_line(&text) {
                Err(e) => {
                    let excerpt: String =
                        String::from_utf8_lossy(&text).chars().take(120).collect();
                    let e = format!("malformed line ({e}): {excerpt:?}");
                    self.protocol_errors.push(e.clone());
                    settle_rest(&mut answers, Answer::Malformed(e));
                    break;
                }
                Ok(AdapterMessage::Event(ev)) => {
                    if self.events.len() < MAX_EVENTS {
                        self.events.push(ev);
                    }
                }
                Ok(AdapterMessage::Ok { id: got, ok })
                    if slot(got).is_some_and(|i| answers[i].is_none()) =>
                {
                    if let Some(out) = ok.get("output_b64").and_then(|v| v.as_str())
                        && let Some(bytes) = protocol::decode_bytes(out)
                    {
                        self.seen.extend_from_slice(&bytes);
                        self.seen.push(b'\n');
                    }
                    if let Some(i) = slot(got) {
                        answers[i] = Some(Answer::Ok(ok));
                    }
                }
                Ok(AdapterMessage::Err { id: got, error })
                    if slot(got).is_some_and(|i| answers[i].is_none()) =>
                {
                    if let Some(i) = slot(got) {
                        answers[i] = Some(Answer::Err(error));
                    }
                }
                Ok(AdapterMessage::Ok { id: got, .. } | AdapterMessage::Err { id: got, .. }) => {
                    let e = format!("answer to request {got} while {pending} was pending");
                    self.protocol_errors.push(e.clone());
                    settle_rest(&mut answers, Answer::Malformed(e));
                    break;
                }
            }
        }
        answers
            .into_iter()
            .map(|a| a.unwrap_or(Answer::Closed))
            .collect()
    }

    /// Ends the session: closes stdin, waits `grace` for the adapter to exit, then has the
    /// guard kill the case's process tree, and collects the guard's report.
    pub fn finish(&mut self, grace: Duration) -> Finished {
        drop(self.stdin.take());
        let guard_pid = self.guard.id() as i32;
        let mut report = None;
        let end = Instant::now() + grace;
        let mut asked = false;
        while report.is_none() {
            let left = end.saturating_duration_since(Instant::now());
            let wait = if asked { Duration::from_secs(15) } else { left };
            match self.report.recv_timeout(wait) {
                Ok(line) => report = serde_json::from_str::<GuardReport>(&line).ok(),
                Err(RecvTimeoutError::Timeout) if !asked => {
                    asked = true;
                    // SAFETY: kill of our own child, not yet reaped.
                    unsafe { libc::kill(guard_pid, libc::SIGTERM) };
                }
                Err(_) => break,
            }
        }
        if report.is_none() {
            let _ = self.guard.kill();
            self.protocol_errors
                .push("the case guard gave no final report".into());
        }
        let _ = self.guard.wait();
        // Drain stdout lines still queued (events after the last answer).
        while let Ok(Line::Text(t)) = self.lines.try_recv() {
            self.stdout_bytes += t.len() as u64 + 1;
            self.seen.extend_from_slice(&t);
            self.seen.push(b'\n');
        }
        // Bounded: a process that escaped the guard could hold stderr open forever.
        let _ = self.stderr_done.recv_timeout(Duration::from_secs(2));
        self.closed = true;
        let (stderr, stderr_bytes) = {
            let kept = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
            (kept.0.clone(), kept.1)
        };
        Finished {
            guard: report,
            stderr,
            stderr_bytes,
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // A session dropped without `finish` (a harness error path) leaves nothing running.
        if let Ok(None) = self.guard.try_wait() {
            // SAFETY: kill of our own child, not yet reaped.
            unsafe { libc::kill(self.guard.id() as i32, libc::SIGTERM) };
            let _ = self.report.recv_timeout(Duration::from_secs(5));
            let _ = self.guard.kill();
            let _ = self.guard.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Answer, CallTally};
    use crate::protocol::{ErrorBody, ErrorKind};

    #[test]
    fn a_call_counts_when_answered_with_a_status_and_as_unanswered_when_late() {
        let mut tally = CallTally::default();
        tally.count(&Answer::Ok(
            serde_json::json!({"status": 0, "output_b64": ""}),
        ));
        tally.count(&Answer::Ok(serde_json::json!({"status": -3})));
        tally.count(&Answer::Late);
        // Neither a call the sandbox ended or refused, nor an answer that is no result.
        tally.count(&Answer::Err(ErrorBody {
            kind: ErrorKind::Terminated,
            message: String::new(),
            termination: None,
        }));
        tally.count(&Answer::Ok(serde_json::json!({})));
        tally.count(&Answer::Closed);
        assert_eq!(
            tally,
            CallTally {
                answered: 2,
                errors: 1,
                unanswered: 1
            }
        );
    }
}
