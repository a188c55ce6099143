//! The runner's first contract, before any confinement: started without its channel, or
//! with a configuration it cannot read, it refuses with the usage exit code (and, when it
//! has a channel, an `Error` frame saying why). The integration tests of the host
//! (`sbx-host`) and of `sbx` (`sbx-cli`) run this binary, which cargo builds for them here.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use sbx_contract::channel::{Channel, StreamChannel};
use sbx_contract::exit_code;
use sbx_contract::fds::CHANNEL_FD;
use sbx_ipc::Message;

const RUNNER: &str = env!("CARGO_BIN_EXE_sbx-runner");

/// The runner with `channel` (or nothing) on descriptor 3 and `args`.
fn runner(channel: Option<&UnixStream>, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(RUNNER);
    cmd.args(args).stdin(Stdio::null());
    let fd = channel.map(|c| c.as_raw_fd());
    // SAFETY: dup2 and close are async-signal-safe, and the closure touches no memory but
    // the descriptor number copied before the fork.
    unsafe {
        cmd.pre_exec(move || {
            let placed = match fd {
                Some(fd) => libc::dup2(fd, CHANNEL_FD),
                None => libc::close(CHANNEL_FD).max(0),
            };
            if placed < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.output().expect("the runner starts")
}

#[test]
fn without_its_channel_the_runner_exits_with_the_usage_code() {
    let out = runner(None, &["{}"]);
    assert_eq!(out.status.code(), Some(exit_code::USAGE), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("sbx-runner: "),
        "{out:?}"
    );
}

#[test]
fn a_configuration_it_cannot_read_is_refused_on_the_channel() {
    let (host, theirs) = UnixStream::pair().expect("socketpair");
    let out = runner(Some(&theirs), &["not json"]);
    drop(theirs);
    assert_eq!(out.status.code(), Some(exit_code::USAGE), "{out:?}");
    let mut channel = StreamChannel::new(OwnedFd::from(host)).expect("channel");
    let frame = channel
        .recv(Some(
            std::time::Instant::now() + std::time::Duration::from_secs(5),
        ))
        .expect("an error frame");
    match frame.message {
        Message::Error { message, .. } => {
            assert!(message.contains("bad runner configuration"), "{message}")
        }
        other => panic!("not an error frame: {other:?}"),
    }
}
