//! Sandboxes people run, each as its documentation recommends for untrusted code, around an
//! in-sandbox host: each plugin in its own sandboxed process, in which this same binary's
//! `none --checked` adapter loads it; this process proxies the protocol to it and adds the
//! deadlines the tools do not have. Whatever a tool does not do (seccomp, quotas,
//! signatures) it fails honestly.
//!
//! - bubblewrap: `bwrap --unshare-all --die-with-parent --new-session`, the system
//!   directories bound read-only, a private /tmp, /proc and /dev, the plugin file bound
//!   alone;
//! - firejail, hardened: `--noprofile --net=none --seccomp --caps.drop=all --nonewprivs
//!   --noroot --private-dev`, the file system read-only, and the policy's memory, process,
//!   descriptor and CPU limits as `--rlimit-*`;
//! - firejail with its default profile (what `firejail PROGRAM` gives);
//! - gVisor: `runsc --network=none --platform=ptrace --oci-seccomp run` on the OCI
//!   runtimes' bundle (the Debian package's `runsc` has no systrap platform; `runsc do`
//!   would show the host's whole file system);
//! - crun and runc, OCI runtimes: a bundle as containers run by default (`oci.rs`).
//!
//! A tool that cannot run here (not installed; root or user namespaces needed) is said so
//! in the handshake (`serve::Unavailable`), and the run reports the sandbox as not run.

use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::os::unix::process::CommandExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use sbx_harness::protocol::{
    self, AdapterMessage, ErrorBody, ErrorKind, Event, Feature, HelloResult, Op, Policy, Request,
    Termination,
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
    /// The OCI bundle it runs from (crun, runc, runsc): removed, with its container, when
    /// this is dropped, after the process.
    _bundle: Option<crate::oci::Bundle>,
}

/// A sandboxing tool, configured as its users run untrusted code in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// `bwrap`.
    Bubblewrap,
    /// `firejail` with its hardening options.
    Firejail,
    /// `firejail` with its default profile.
    FirejailDefault,
    /// gVisor's `runsc run`, with the OCI runtimes' bundle.
    Gvisor,
    /// crun, with an OCI bundle.
    Crun,
    /// runc, with the same bundle.
    Runc,
}

impl Tool {
    /// The tool named on `sbx-adapter`'s command line.
    pub fn from_name(name: &str) -> Option<Tool> {
        match name {
            "bubblewrap" => Some(Tool::Bubblewrap),
            "firejail" => Some(Tool::Firejail),
            "firejail-default" => Some(Tool::FirejailDefault),
            "gvisor" => Some(Tool::Gvisor),
            "crun" => Some(Tool::Crun),
            "runc" => Some(Tool::Runc),
            _ => None,
        }
    }

    /// Its name in the handshake.
    fn name(self) -> &'static str {
        match self {
            Tool::Bubblewrap => "bubblewrap",
            Tool::Firejail => "firejail",
            Tool::FirejailDefault => "firejail-default",
            Tool::Gvisor => "gvisor",
            Tool::Crun => "crun",
            Tool::Runc => "runc",
        }
    }

    /// Its executable and the Debian package that has it.
    fn executable(self) -> (&'static str, &'static str) {
        match self {
            Tool::Bubblewrap => ("bwrap", "bubblewrap"),
            Tool::Firejail | Tool::FirejailDefault => ("firejail", "firejail"),
            Tool::Gvisor => ("runsc", "runsc"),
            Tool::Crun => ("crun", "crun"),
            Tool::Runc => ("runc", "runc"),
        }
    }

    /// Whether the tool hands the sandboxed process the environment it was started with
    /// (bubblewrap is told `--clearenv`; an OCI bundle, gVisor's too, names its own).
    fn keeps_environment(self) -> bool {
        matches!(self, Tool::Firejail | Tool::FirejailDefault)
    }

    /// How the sandboxed process ended, from the tool's exit status. None of the tools dies
    /// of its sandboxed process's signal: each exits with 128 plus the signal's number, as
    /// a shell reports it (bwrap, firejail, crun, runc and runsc alike); that is read back
    /// as the signal. (A plugin that exits with such a status itself reads as that signal
    /// too: the tools leave the two alike.)
    fn termination(self, status: Option<std::process::ExitStatus>) -> Termination {
        let signal = |sig: i32| Termination {
            reason: "signal".into(),
            detail: sbx_host::termination::signal_name(sig),
        };
        match (
            status.and_then(|s| s.signal()),
            status.and_then(|s| s.code()),
        ) {
            (Some(sig), _) => signal(sig),
            (None, Some(code)) if (129..=128 + 64).contains(&code) => signal(code - 128),
            (None, Some(code)) => Termination {
                reason: "exit".into(),
                detail: format!("exit status {code}"),
            },
            (None, None) => Termination {
                reason: "exit".into(),
                detail: "its status could not be read".into(),
            },
        }
    }

    /// An OCI runtime as this machine needs it run, configured for untrusted code.
    fn runtime(self, executable: &Path) -> crate::oci::Runtime {
        let (global, without_unified, own_tasks): (&[&'static str], _, _) = match self {
            // crun refuses a hybrid hierarchy: it is shown the v1 part alone.
            Tool::Crun => (
                &["--cgroup-manager=cgroupfs"],
                crate::oci::hybrid_unified(),
                0,
            ),
            // No network device at all; the bundle's seccomp profile enforced inside the
            // sandbox too (runsc ignores it without the flag). Its kernel and file proxy run
            // in the container's cgroup, each Go program with threads of its own.
            Tool::Gvisor => (
                &["--network=none", "--platform=ptrace", "--oci-seccomp"],
                None,
                GVISOR_OWN_TASKS,
            ),
            _ => (&[], None, 0),
        };
        crate::oci::Runtime {
            executable: executable.to_path_buf(),
            global: global.to_vec(),
            without_unified,
            own_tasks,
        }
    }

    /// The command that runs `me none --checked` for the plugin `name` at `plugin` under
    /// `policy`, and the OCI bundle it runs from, if the tool takes one.
    fn command(
        self,
        tool: &Path,
        me: &str,
        (name, plugin): (&str, &str),
        policy: &Policy,
    ) -> Result<(Command, Option<crate::oci::Bundle>), String> {
        let mut cmd = Command::new(tool);
        match self {
            Tool::Bubblewrap => {
                for dir in ["/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc"] {
                    if Path::new(dir).exists() {
                        cmd.args(["--ro-bind", dir, dir]);
                    }
                }
                cmd.args(["--ro-bind", me, me, "--ro-bind", plugin, plugin])
                    .args([
                        "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--chdir", "/tmp",
                    ])
                    .args([
                        "--unshare-all",
                        "--die-with-parent",
                        "--new-session",
                        "--clearenv",
                        "--",
                    ]);
            }
            Tool::Firejail => {
                let limits = &policy.limits;
                cmd.args([
                    "--quiet",
                    "--noprofile",
                    "--net=none",
                    "--seccomp",
                    "--caps.drop=all",
                    "--nonewprivs",
                    "--noroot",
                    "--private-dev",
                    "--read-only=/",
                    "--nosound",
                    "--no3d",
                ])
                .arg(format!("--rlimit-as={}", limits.memory_bytes))
                .arg(format!("--rlimit-nproc={}", limits.threads.max(1)))
                .arg(format!("--rlimit-nofile={}", limits.open_files.max(16)))
                .arg(format!(
                    "--rlimit-cpu={}",
                    limits.cpu_ms.div_ceil(1000).max(1)
                ))
                .arg("--");
            }
            Tool::FirejailDefault => {
                cmd.args(["--quiet", "--"]);
            }
            Tool::Gvisor | Tool::Crun | Tool::Runc => {
                // The bundle's process is `me none --checked` itself.
                let runtime = self.runtime(tool);
                let bundle = crate::oci::bundle(&runtime, name, me, plugin, policy)?;
                let mut cmd = runtime.command();
                cmd.args(["run", "--bundle"])
                    .arg(&bundle.dir)
                    .arg(&bundle.id);
                return Ok((cmd, Some(bundle)));
            }
        }
        cmd.args([me, "none", "--checked"]);
        Ok((cmd, None))
    }
}

/// The threads gVisor's own processes hold in the container's cgroup, above the plugin's:
/// 39 with a plugin loaded here (its Sentry 18 and its gofer 18, Go programs, and an idle
/// ptrace stub 3), with room for the Go runtime to start more under load.
const GVISOR_OWN_TASKS: i64 = 64;

/// The adapter of a wrapped tool.
pub struct Wrapped {
    tool: Tool,
    executable: PathBuf,
    me: PathBuf,
    plugins: BTreeMap<String, Sandboxed>,
    events: Vec<Event>,
}

impl Wrapped {
    /// Finds the tool's executable and this binary; says why not when the tool cannot run
    /// here.
    pub fn new(tool: Tool) -> Result<Wrapped, String> {
        // The bundles map no user: a runtime runs them for root only.
        if matches!(tool, Tool::Crun | Tool::Runc | Tool::Gvisor)
            && !nix::unistd::geteuid().is_root()
        {
            return Err(format!(
                "{} runs this adapter's containers as root only (their bundles map no user \
                 namespace), and this adapter runs as uid {}",
                tool.name(),
                nix::unistd::geteuid()
            ));
        }
        let (name, package) = tool.executable();
        let executable = ["/usr/bin", "/usr/local/bin", "/usr/sbin"]
            .iter()
            .map(|dir| Path::new(dir).join(name))
            .find(|p| p.is_file())
            .ok_or_else(|| format!("{name} not found (Debian package `{package}`)"))?;
        // bwrap installed set-uid root sandboxes anyone; otherwise it needs a user namespace.
        let setuid = || {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(&executable).is_ok_and(|m| m.permissions().mode() & 0o4000 != 0)
        };
        if tool == Tool::Bubblewrap
            && !nix::unistd::geteuid().is_root()
            && !setuid()
            && let Some(why) = no_unprivileged_user_namespaces()
        {
            return Err(format!(
                "bwrap needs a user namespace to sandbox as uid {}, and {why}",
                nix::unistd::geteuid()
            ));
        }
        let me = std::env::current_exe().map_err(|e| e.to_string())?;
        if matches!(tool, Tool::Crun | Tool::Runc | Tool::Gvisor) {
            crate::oci::reap_stale(&tool.runtime(&executable), &std::env::temp_dir());
        }
        Ok(Wrapped {
            tool,
            executable,
            me,
            plugins: BTreeMap::new(),
            events: Vec::new(),
        })
    }

    fn call(&mut self, name: &str, op: Op, deadline: Duration) -> Result<Value, ErrorBody> {
        let tool = self.tool;
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
        // One deadline for the call: events that arrive meanwhile do not extend it.
        let until = std::time::Instant::now() + deadline;
        loop {
            match sb
                .lines
                .recv_timeout(until.saturating_duration_since(std::time::Instant::now()))
            {
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
                    let t = tool.termination(sb.child.wait().ok());
                    sb.ended = Some(t.clone());
                    return Err(terminated(t));
                }
            }
        }
    }
}

/// Why a process that is not root cannot make a user namespace here, if it cannot: the
/// kernel allows none, or Debian's switch forbids them to unprivileged users.
fn no_unprivileged_user_namespaces() -> Option<String> {
    [
        "/proc/sys/user/max_user_namespaces",
        "/proc/sys/kernel/unprivileged_userns_clone",
    ]
    .into_iter()
    .find(|path| std::fs::read_to_string(path).is_ok_and(|v| v.trim() == "0"))
    .map(|path| format!("{path} is 0"))
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

impl Backend for Wrapped {
    fn hello(&self) -> HelloResult {
        crate::serve::hello(
            self.tool.name(),
            vec![Feature::Deadlines, Feature::TerminationReasons],
        )
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
        let (mut cmd, bundle) = self
            .tool
            .command(&self.executable, &me, (name, path), policy)
            .map_err(|e| error(ErrorKind::Internal, e))?;
        // As a careful host runs a sandbox: its own pipe for the sandboxed process's
        // stderr (forwarded to this one's), never this process's descriptor; no other
        // descriptor of this process's; and, where the tool does not clear the environment
        // itself, none of this process's variables.
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if self.tool.keeps_environment() {
            cmd.env_clear();
        }
        // SAFETY: runs in the child between fork and exec; close_range is a single system
        // call, async-signal-safe, and touches only descriptors the exec would have passed
        // on (the standard streams are already in place).
        unsafe {
            cmd.pre_exec(|| {
                // A careful host hands a sandbox no descriptor of its own beyond the standard
                // streams: the tools pass on what their caller left open. Marked
                // close-on-exec rather than closed, so that a failed exec is still reported.
                const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;
                if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| error(ErrorKind::Internal, format!("{}: {e}", self.tool.name())))?;
        if let Some(mut stderr) = child.stderr.take() {
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut stderr, &mut std::io::stderr());
            });
        }
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
                _bundle: bundle,
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
        Err(error(
            ErrorKind::Unsupported,
            format!("{} has no pause", self.tool.name()),
        ))
    }

    fn resume(&mut self, _: &str) -> Result<Value, ErrorBody> {
        Err(error(
            ErrorKind::Unsupported,
            format!("{} has no resume", self.tool.name()),
        ))
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
        let ended = self.tool.termination(sb.child.wait().ok());
        match result {
            Err(e) => match e.termination {
                Some(t) => Ok(serde_json::json!({ "termination": t })),
                None => Err(e),
            },
            Ok(_) => Ok(serde_json::json!({ "termination": ended })),
        }
    }

    fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exited(code: i32) -> Option<std::process::ExitStatus> {
        Some(std::process::ExitStatus::from_raw(code << 8))
    }

    fn read(t: Termination) -> (String, String) {
        (t.reason, t.detail)
    }

    #[test]
    fn a_tool_s_exit_status_past_128_is_its_sandboxed_process_s_signal() {
        for tool in [
            Tool::Bubblewrap,
            Tool::Firejail,
            Tool::FirejailDefault,
            Tool::Crun,
            Tool::Runc,
            Tool::Gvisor,
        ] {
            assert_eq!(
                read(tool.termination(exited(139))),
                ("signal".into(), sbx_host::termination::signal_name(11))
            );
            assert_eq!(
                read(tool.termination(exited(1))),
                ("exit".into(), "exit status 1".into())
            );
            assert_eq!(read(tool.termination(exited(128))).0, "exit");
            assert_eq!(read(tool.termination(exited(255))).0, "exit");
            // Should the tool itself die of a signal, that is the signal.
            assert_eq!(
                read(tool.termination(Some(std::process::ExitStatus::from_raw(9)))),
                ("signal".into(), sbx_host::termination::signal_name(9))
            );
        }
    }
}
