//! Bubblewrap as its users run it: each plugin in its own `bwrap --unshare-all
//! --die-with-parent --new-session` process, with the system directories bound read-only,
//! a private /tmp, /proc and /dev, and the plugin file bound alone. Inside, this same
//! binary's `none` adapter loads the plugin; this process proxies the protocol to it and
//! adds the deadlines bubblewrap does not have. Whatever bubblewrap does not do (seccomp,
//! quotas, signatures) it fails honestly.

use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use sbx_harness::protocol::{
    self, AdapterMessage, ErrorBody, ErrorKind, Event, Feature, HelloResult, Op, PROTOCOL_VERSION,
    Policy, Request, Termination,
};
use serde_json::Value;

use crate::serve::{Backend, error, terminated};

struct Sandboxed {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<Vec<u8>>,
    policy: Policy,
    next_id: u64,
    ended: Option<Termination>,
}

/// The bubblewrap adapter.
pub struct Bubblewrap {
    bwrap: PathBuf,
    me: PathBuf,
    plugins: BTreeMap<String, Sandboxed>,
    events: Vec<Event>,
}

impl Bubblewrap {
    /// Finds `bwrap` and this binary.
    pub fn new() -> Result<Bubblewrap, String> {
        let bwrap = ["/usr/bin/bwrap", "/usr/local/bin/bwrap"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .ok_or("bwrap not found (Debian package `bubblewrap`)")?;
        let me = std::env::current_exe().map_err(|e| e.to_string())?;
        Ok(Bubblewrap {
            bwrap,
            me,
            plugins: BTreeMap::new(),
            events: Vec::new(),
        })
    }

    fn call(&mut self, name: &str, op: Op, deadline: Duration) -> Result<Value, ErrorBody> {
        let sb = self
            .plugins
            .get_mut(name)
            .ok_or_else(|| error(ErrorKind::Invalid, format!("no plugin `{name}`")))?;
        if let Some(t) = &sb.ended {
            return Err(terminated(t.clone()));
        }
        let id = sb.next_id;
        sb.next_id += 1;
        let line = serde_json::to_string(&Request { id, op }).unwrap_or_default();
        let _ = sb
            .stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| sb.stdin.flush());
        loop {
            match sb.lines.recv_timeout(deadline) {
                Ok(line) => match protocol::parse_line(&line) {
                    Ok(AdapterMessage::Ok { id: got, ok }) if got == id => return Ok(ok),
                    Ok(AdapterMessage::Err { id: got, error }) if got == id => return Err(error),
                    Ok(AdapterMessage::Event(e)) => self.events.push(rename(e, name)),
                    // Garbage from inside the sandbox: the plugin broke the channel.
                    _ => {
                        return Err(end(
                            sb,
                            "protocol_violation",
                            "malformed line from the sandboxed process",
                        ));
                    }
                },
                Err(RecvTimeoutError::Timeout) => {
                    return Err(end(
                        sb,
                        "wall_timeout",
                        &format!("no answer within {deadline:?}"),
                    ));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = sb.child.wait().ok();
                    let t = match status.and_then(|s| s.signal()) {
                        Some(sig) => Termination {
                            reason: "signal".into(),
                            detail: sbx_host::termination::signal_name(sig),
                        },
                        None => Termination {
                            reason: "exit".into(),
                            detail: format!("{status:?}"),
                        },
                    };
                    sb.ended = Some(t.clone());
                    return Err(terminated(t));
                }
            }
        }
    }
}

fn end(sb: &mut Sandboxed, reason: &str, detail: &str) -> ErrorBody {
    let _ = sb.child.kill();
    let _ = sb.child.wait();
    let t = Termination {
        reason: reason.into(),
        detail: detail.into(),
    };
    sb.ended = Some(t.clone());
    terminated(t)
}

fn rename(e: Event, name: &str) -> Event {
    match e {
        Event::Log { level, message, .. } => Event::Log {
            plugin: name.into(),
            level,
            message,
        },
        Event::Terminated { termination, .. } => Event::Terminated {
            plugin: name.into(),
            termination,
        },
        Event::Denied { what, .. } => Event::Denied {
            plugin: name.into(),
            what,
        },
    }
}

impl Backend for Bubblewrap {
    fn hello(&self) -> HelloResult {
        HelloResult {
            name: "bubblewrap".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            protocol: PROTOCOL_VERSION,
            features: vec![Feature::Deadlines, Feature::TerminationReasons],
        }
    }

    fn load(
        &mut self,
        name: &str,
        path: &str,
        policy: &Policy,
        config: &[u8],
    ) -> Result<Value, ErrorBody> {
        if self.plugins.contains_key(name) {
            return Err(error(ErrorKind::Invalid, "already loaded"));
        }
        let me = self.me.to_string_lossy().into_owned();
        let mut cmd = Command::new(&self.bwrap);
        for dir in ["/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc"] {
            if std::path::Path::new(dir).exists() {
                cmd.args(["--ro-bind", dir, dir]);
            }
        }
        cmd.args(["--ro-bind", &me, &me, "--ro-bind", path, path])
            .args([
                "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--chdir", "/tmp",
            ])
            .args([
                "--unshare-all",
                "--die-with-parent",
                "--new-session",
                "--clearenv",
            ])
            .args(["--", &me, "none", "--checked"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd
            .spawn()
            .map_err(|e| error(ErrorKind::Internal, format!("bwrap: {e}")))?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| error(ErrorKind::Internal, "no stdin"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| error(ErrorKind::Internal, "no stdout"))?;
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            // A line beyond the bound arrives as an empty line: not JSON, so a violation.
            while let Ok(line) = protocol::read_line(&mut reader) {
                let bytes = match line {
                    protocol::ReadLine::Line(l) => l,
                    protocol::ReadLine::TooLong(_) => Vec::new(),
                    protocol::ReadLine::Eof => return,
                };
                if tx.send(bytes).is_err() {
                    return;
                }
            }
        });
        self.plugins.insert(
            name.to_owned(),
            Sandboxed {
                child,
                stdin,
                lines,
                policy: policy.clone(),
                next_id: 1,
                ended: None,
            },
        );
        let deadline = Duration::from_millis(policy.deadlines.init_ms);
        let load = Op::Load {
            plugin: name.into(),
            path: path.into(),
            policy: policy.clone(),
            config_b64: protocol::encode_bytes(config),
        };
        let result = self.call(name, load, deadline);
        if let Err(e) = &result {
            let refused = e.kind == ErrorKind::Refused;
            if let Some(mut sb) = self.plugins.remove(name) {
                let _ = sb.child.kill();
                let _ = sb.child.wait();
            }
            if refused {
                return result;
            }
        }
        result
    }

    fn invoke(&mut self, name: &str, method: &str, input: &[u8]) -> Result<Value, ErrorBody> {
        let deadline = self.plugins.get(name).map_or(Duration::from_secs(5), |s| {
            Duration::from_millis(s.policy.deadlines.call_ms)
        });
        self.call(
            name,
            Op::Invoke {
                plugin: name.into(),
                method: method.into(),
                input_b64: protocol::encode_bytes(input),
            },
            deadline,
        )
    }

    fn pause(&mut self, _: &str) -> Result<Value, ErrorBody> {
        Err(error(ErrorKind::Unsupported, "bubblewrap has no pause"))
    }

    fn resume(&mut self, _: &str) -> Result<Value, ErrorBody> {
        Err(error(ErrorKind::Unsupported, "bubblewrap has no resume"))
    }

    fn unload(&mut self, name: &str) -> Result<Value, ErrorBody> {
        let deadline = self.plugins.get(name).map_or(Duration::from_secs(2), |s| {
            Duration::from_millis(s.policy.deadlines.shutdown_ms)
        });
        let result = self.call(
            name,
            Op::Unload {
                plugin: name.into(),
            },
            deadline,
        );
        let mut sb = self
            .plugins
            .remove(name)
            .ok_or_else(|| error(ErrorKind::Invalid, "gone"))?;
        drop(sb.stdin);
        let status = sb.child.wait().ok();
        match result {
            Err(e) => match e.termination {
                Some(t) => Ok(serde_json::json!({ "termination": t })),
                None => Err(e),
            },
            Ok(_) => Ok(
                serde_json::json!({ "termination": { "reason": "exit", "detail": format!("{status:?}") } }),
            ),
        }
    }

    fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
}
