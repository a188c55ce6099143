//! Each confinement layer, proven from inside the child: the probe plugin attempts the
//! forbidden operation and the host records what happened. Where a layer is backed by
//! another (Landlock behind seccomp), the outer one is switched off to show the inner one
//! holds on its own.

use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

use sbx_host::{Layers, Limits, Plugin, SandboxError, TerminationReason};

use crate::common::{call, config, plugin, probe, probe_without, running};

/// The probe is killed by seccomp, and the record names the refused syscall.
fn assert_seccomp_kills(method: &str, input: &str, syscall: Option<i64>) {
    let mut p = probe();
    match p.invoke(method, input.as_bytes()) {
        Err(SandboxError::Ended(record)) => match record.reason {
            TerminationReason::SeccompViolation { syscall: got, .. } => {
                assert_eq!(got, syscall, "{method}: wrong syscall in {record:?}")
            }
            other => panic!("{method}: expected a seccomp violation, got {other:?}"),
        },
        other => panic!("{method}: expected the process to be killed, got {other:?}"),
    }
    assert_eq!(p.state(), sbx_host::State::Failed);
}

#[test]
fn seccomp_kills_socket() {
    assert_seccomp_kills("socket", "", Some(libc::SYS_socket));
}

#[test]
fn seccomp_kills_a_raw_socket_syscall() {
    assert_seccomp_kills("socket_raw", "", Some(libc::SYS_socket));
}

#[test]
fn seccomp_kills_execve() {
    assert_seccomp_kills("execve", "", Some(libc::SYS_execve));
}

#[test]
fn seccomp_kills_fork() {
    // glibc's fork is clone without CLONE_THREAD.
    assert_seccomp_kills("fork", "", Some(libc::SYS_clone));
}

#[test]
fn seccomp_kills_ptrace_of_the_host() {
    assert_seccomp_kills(
        "ptrace",
        &std::process::id().to_string(),
        Some(libc::SYS_ptrace),
    );
}

#[test]
fn seccomp_kills_signals_to_the_host() {
    assert_seccomp_kills(
        "kill",
        &std::process::id().to_string(),
        Some(libc::SYS_kill),
    );
}

/// Once loaded, a read-only open fails with EACCES (a library that probes a file goes on)
/// and the plugin keeps running; an open for writing ends it.
#[test]
fn seccomp_refuses_a_read_only_open_and_kills_a_write_once_loaded() {
    let mut p = probe();
    assert_eq!(
        call(&mut p, "open_raw", "/etc/passwd"),
        format!("errno {}", libc::EACCES)
    );
    assert_eq!(call(&mut p, "ping", ""), "pong");
    assert_seccomp_kills("create", "/tmp/sbx-probe-create", Some(libc::SYS_openat));
}

/// A constructor that writes `Loaded` itself and answers the host from inside dlopen(), so
/// that the runner never installs the `plugin` stage, keeps none of the loader's rights: the
/// host ends them when it hears `Loaded`, whoever wrote it.
#[test]
fn a_forged_loaded_ends_the_loaders_rights_all_the_same() {
    let mut p = running(config("load_forged_loaded"));
    match p.invoke("attack", b"") {
        Err(SandboxError::Plugin { code, .. }) => {
            assert_eq!(code, sbx_contract::abi::ERR_DENIED, "every attempt refused")
        }
        other => panic!("expected the forged runner's refusal, got {other:?}"),
    }
    // Without the guard the same constructor keeps them.
    let mut unguarded = running(config("load_forged_loaded").layers(Layers {
        seccomp: false,
        ..Layers::default()
    }));
    let gained = call(&mut unguarded, "attack", "");
    assert!(gained.contains("GAINED opened"), "{gained}");
}

/// Loads `plugin`, whose load must fail, with the shared 10 s load deadline: the runner's
/// end as recorded, and how long the load took.
fn failed_load(plugin: &str) -> (TerminationReason, Duration, Duration) {
    let config = config(plugin).build().expect("valid configuration");
    let started = std::time::Instant::now();
    match Plugin::spawn(&config) {
        Err(SandboxError::ActivationFailed { termination, .. }) => {
            (termination.reason, started.elapsed(), config.deadlines.load)
        }
        other => panic!("{plugin}: expected a failed load, got {other:?}"),
    }
}

/// A constructor that writes garbage on the channel during the load is killed when the host
/// reads it, not left running with the loader's rights until the load deadline (ten seconds
/// here; a runner that refused the load itself is given that long to exit).
#[test]
fn a_load_that_breaks_the_protocol_is_ended_at_once() {
    let (reason, took, deadline) = failed_load("ipc_ctor_garbage");
    assert!(
        matches!(reason, TerminationReason::ProtocolViolation { .. }),
        "{reason:?}"
    );
    assert!(took < deadline / 2, "ended {took:?} after the load began");
}

/// A constructor that forges the runner's refusal (an Error frame) and then hangs is given
/// the moment a runner takes to exit after its refusal, not the rest of the load deadline
/// (ten seconds here): the loader's rights end with the failure, and so does the runner.
#[test]
fn a_load_refused_by_a_forged_error_is_ended_soon() {
    let (reason, took, deadline) = failed_load("ipc_ctor_forged_error");
    assert_eq!(reason, TerminationReason::KilledByHost);
    assert!(took < deadline / 2, "ended {took:?} after the load began");
}

#[test]
fn seccomp_kills_terminal_injection() {
    assert_seccomp_kills("tiocsti", "", Some(libc::SYS_ioctl));
}

#[test]
fn seccomp_kills_making_memory_executable() {
    assert_seccomp_kills("mprotect_exec", "", Some(libc::SYS_mprotect));
}

#[test]
fn seccomp_kills_the_i386_entry_before_any_rule() {
    // The architecture check kills outright: no trap, so no syscall number.
    assert_seccomp_kills("int80", "", None);
}

#[test]
fn seccomp_kills_x32_syscalls() {
    assert_seccomp_kills("x32", "", Some(0x4000_0000 | libc::SYS_getpid));
}

#[test]
fn clone3_answers_enosys_and_threads_still_work() {
    let mut p = probe();
    assert_eq!(
        call(&mut p, "clone3", ""),
        format!("errno {}", libc::ENOSYS)
    );
    assert_eq!(call(&mut p, "thread", ""), "ok thread");
    assert_eq!(call(&mut p, "ping", ""), "pong");
}

#[test]
fn landlock_alone_refuses_files_outside_the_plugin() {
    // Without the namespaces: in the plugin's own root the host's files do not exist.
    let mut p = probe_without(Layers {
        seccomp: false,
        namespaces: false,
        ..Layers::ALL
    });
    assert_eq!(
        call(&mut p, "open", "/etc/passwd"),
        format!("errno {}", libc::EACCES)
    );
    let scratch = tempfile::tempdir().unwrap();
    let target = scratch.path().join("written");
    assert_eq!(
        call(&mut p, "create", target.to_str().unwrap()),
        format!("errno {}", libc::EACCES)
    );
    assert!(!target.exists());
    // The plugin file itself stays readable: that is the one rule.
    assert!(call(&mut p, "open", plugin("probe").to_str().unwrap()).starts_with("ok"));
}

#[test]
fn the_empty_root_alone_leaves_nothing_of_the_hosts_to_find() {
    let mut p = probe_without(Layers {
        seccomp: false,
        landlock: false,
        ..Layers::ALL
    });
    let root = p.enforcement().get("root").expect("root reported").clone();
    assert_eq!(
        root.status,
        sbx_contract::enforcement::Status::Applied,
        "{}",
        root.detail
    );
    let scratch = tempfile::tempdir().unwrap();
    let secret = scratch.path().join("secret");
    std::fs::write(&secret, "secret").unwrap();
    for path in ["/etc/passwd", secret.to_str().unwrap()] {
        assert_eq!(
            call(&mut p, "open", path),
            format!("errno {}", libc::ENOENT),
            "{path}"
        );
    }
    // What the loader reads is there, read-only.
    assert!(call(&mut p, "open", plugin("probe").to_str().unwrap()).starts_with("ok"));
    assert!(call(&mut p, "open", "/etc/ld.so.cache").starts_with("ok"));
    let beside = plugin("probe").with_file_name("written");
    assert_eq!(
        call(&mut p, "create", beside.to_str().unwrap()),
        format!("errno {}", libc::EROFS)
    );
}

#[test]
fn the_pid_namespace_alone_hides_the_host() {
    let mut p = probe_without(Layers {
        seccomp: false,
        landlock: false,
        ..Layers::ALL
    });
    // Not refused: no process has the host's pid where the plugin runs.
    assert_eq!(signal_the_host(&mut p), format!("errno {}", libc::ESRCH));
    let pid_namespace = p
        .enforcement()
        .layers
        .iter()
        .find(|l| l.layer == "namespace.pid")
        .map(|l| l.status);
    assert_eq!(
        pid_namespace,
        Some(sbx_contract::enforcement::Status::Applied)
    );
}

#[test]
fn landlock_scope_alone_refuses_signals_to_the_host() {
    // Without namespaces: the host's pid exists where the plugin runs.
    let mut p = probe_without(Layers {
        seccomp: false,
        namespaces: false,
        ..Layers::ALL
    });
    assert_eq!(signal_the_host(&mut p), format!("errno {}", libc::EPERM));
}

/// What the plugin's `kill(host, SIGTERM)` answers.
fn signal_the_host(p: &mut sbx_host::Plugin) -> String {
    call(p, "kill", &std::process::id().to_string())
}

#[test]
fn network_namespace_alone_keeps_loopback_listeners_unreachable() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut p = probe_without(Layers {
        seccomp: false,
        landlock: false,
        ..Layers::ALL
    });
    let answer = call(&mut p, "connect", &port.to_string());
    assert!(
        answer.starts_with("errno"),
        "connect went through: {answer}"
    );
    std::thread::sleep(Duration::from_millis(50));
    match listener.accept() {
        Ok((mut s, _)) => {
            let mut b = Vec::new();
            let _ = s.read_to_end(&mut b);
            panic!("the listener received a connection");
        }
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock),
    }
}

/// RLIMIT_NPROC counts a user's tasks across the machine: with one id for every plugin, a
/// plugin holding its thread cap would leave the others unable to start a thread.
#[test]
fn a_plugin_at_its_thread_cap_does_not_stop_another_from_starting_threads() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: plugins get ids of their own only when the host is root");
        return;
    }
    let cap = sbx_host::Limits::default().processes;
    let mut greedy = probe();
    let mut neighbour = probe();
    let held = call(&mut greedy, "hold_threads", &cap.to_string());
    // The runner's main thread counts too: the cap leaves it cap - 1 more.
    assert_eq!(held, format!("started {}", cap - 1), "the cap did not hold");
    assert_eq!(call(&mut neighbour, "thread", ""), "ok thread");
    // The cap is set inside each plugin's own user namespace, where the kernel counts its
    // tasks alone: two plugins under one id do not share it either.
    let shared = sbx_host::UnprivilegedId::Fixed(sbx_host::config::NOBODY);
    let mut first = running(config("probe").unprivileged_id(shared));
    let mut second = running(config("probe").unprivileged_id(shared));
    call(&mut first, "hold_threads", &cap.to_string());
    assert_eq!(call(&mut second, "thread", ""), "ok thread");
    // Their tasks count for the id outside their namespaces too: gone before the next two.
    for mut p in [first, second] {
        p.shutdown().expect("shutdown");
    }
    // Without user namespaces one id is one count: what the cap's own namespace, and a
    // uid of its own, guard against.
    let without_namespaces = Layers {
        namespaces: false,
        ..Layers::ALL
    };
    let mut first = running(
        config("probe")
            .unprivileged_id(shared)
            .layers(without_namespaces),
    );
    let mut second = running(
        config("probe")
            .unprivileged_id(shared)
            .layers(without_namespaces),
    );
    call(&mut first, "hold_threads", &cap.to_string());
    assert_ne!(call(&mut second, "thread", ""), "ok thread");
}

#[test]
fn the_plugin_is_not_root_and_holds_no_capability() {
    let mut p = probe();
    let ids = call(&mut p, "ids", "");
    assert!(ids.contains("capget=0 eff=0:0 perm=0:0 inh=0:0"), "{ids}");
    if nix::unistd::geteuid().is_root() {
        let own = sbx_host::config::PER_PLUGIN_ID_BASE + p.pid() as u32;
        assert!(
            ids.starts_with(&format!("uid={own} euid={own} gid={own} egid={own}")),
            "{ids}"
        );
    } else {
        let me = nix::unistd::geteuid();
        assert!(ids.starts_with(&format!("uid={me} euid={me}")), "{ids}");
    }
}

#[test]
fn capabilities_layer_alone_empties_the_sets_even_for_uid_0() {
    if !nix::unistd::geteuid().is_root() {
        return; // Only a root host can keep uid 0; nothing to show otherwise.
    }
    let mut p = probe_without(Layers {
        drop_identity: false,
        ..Layers::ALL
    });
    let ids = call(&mut p, "ids", "");
    assert!(ids.starts_with("uid=0 "), "{ids}");
    assert!(ids.contains("eff=0:0 perm=0:0 inh=0:0"), "{ids}");
}

#[test]
fn rlimits_are_in_force_inside() {
    let limits = sbx_host::Limits {
        address_space_bytes: 512 << 20,
        ..sbx_host::Limits::default()
    };
    let mut p = running(config("probe").limits(limits));
    assert_eq!(
        call(&mut p, "rlimits", ""),
        format!(
            // The plugin's 32 tasks and the runner's own: its liveness thread, its first
            // process and the pid namespace's init.
            "as={} cpu=10 nofile=32 fsize=0 nproc={} core=0",
            512u64 << 20,
            32 + sbx_contract::fds::RUNNER_OWN_TASKS
        )
    );
    // Beyond the address-space limit an allocation fails instead of growing.
    assert_eq!(
        call(&mut p, "malloc", "1024"),
        format!("errno {}", libc::ENOMEM)
    );
    assert!(call(&mut p, "malloc", "16").starts_with("ok"));
}

#[test]
fn only_the_channel_the_violation_pipe_the_liveness_socket_and_the_window_are_inherited() {
    // Descriptors of the host (this test binary holds several) must not reach the plugin.
    let _held = std::fs::File::open("/proc/self/status").unwrap();
    let mut p = probe();
    // 7: the payload window, the plugin's own inputs and outputs, until its first use.
    assert_eq!(call(&mut p, "fds", ""), "ok 0 1 2 3 4 5 7 ");
    // Calls through the window (an output bound beyond a frame's): the runner maps it and
    // closes the descriptor before the plugin runs.
    let mut p = running(config("probe").limits(Limits {
        output_bytes: 2 << 20,
        ..Limits::default()
    }));
    assert_eq!(call(&mut p, "fds", ""), "ok 0 1 2 3 4 5 ");
    let mut p = running(config("probe").payload_window(0));
    assert_eq!(call(&mut p, "fds", ""), "ok 0 1 2 3 4 5 ");
}

#[test]
fn host_services_are_denied_unless_granted() {
    let mut p = probe();
    assert_eq!(
        call(&mut p, "service", ""),
        format!("status {}", sbx_contract::abi::ERR_DENIED)
    );
}

#[test]
fn every_layer_is_reported_and_none_is_missing_here() {
    let p = probe();
    let report = p.enforcement();
    for layer in [
        "identity",
        "namespace.user",
        "namespace.net",
        "namespace.mount",
        "namespace.ipc",
        "namespace.uts",
        "namespace.pid",
        "capabilities",
        "no_new_privs",
        "landlock.fs",
        "landlock.net",
        "landlock.scope",
        "rlimit.as",
        "rlimit.cpu",
        "rlimit.nofile",
        "rlimit.fsize",
        "rlimit.nproc",
        "rlimit.core",
        "seccomp",
        "seccomp.load_guard",
        "root",
        "descriptors",
        "descriptors.host",
    ] {
        assert!(report.get(layer).is_some(), "{layer} not reported");
    }
    assert!(report.missing().is_empty(), "{}", report.table());
}

/// Strict mode refuses the load when a layer is not in force (without namespaces, those
/// that need one), with an exit that says so: a refusal, not a failed confinement.
#[test]
fn strict_mode_refuses_a_load_with_a_layer_not_in_force() {
    let config = config("probe")
        .layers(Layers {
            namespaces: false,
            ..Layers::default()
        })
        .strictness(sbx_host::Strictness::Strict)
        .build()
        .unwrap();
    match Plugin::spawn(&config) {
        Err(SandboxError::ActivationFailed {
            message,
            termination,
            ..
        }) => {
            assert!(message.contains("strict mode: not in force"), "{message}");
            assert_eq!(termination.exit_code, Some(sbx_contract::exit_code::STRICT));
        }
        other => panic!("expected a strict refusal, got {other:?}"),
    }
}

#[test]
fn a_root_hosts_runner_has_its_ids_mapped_by_the_host_and_is_never_dumpable() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: only a root host drops the runner's identity");
        return;
    }
    let p = probe();
    let user = p.enforcement().get("namespace.user").expect("reported");
    assert_eq!(
        user.status,
        sbx_contract::enforcement::Status::Applied,
        "{}",
        p.enforcement().table()
    );
    // The runner left root, stopped in its new user namespace, and the host wrote the
    // maps: it never had to make itself dumpable to write them.
    assert!(
        user.detail
            .contains("by the host; the runner was never dumpable"),
        "{}",
        user.detail
    );
    let id = p.pid() as u32 + sbx_contract::config::PER_PLUGIN_ID_BASE;
    assert!(
        user.detail
            .starts_with(&format!("uid {id} and gid {id} mapped")),
        "{}",
        user.detail
    );
}
