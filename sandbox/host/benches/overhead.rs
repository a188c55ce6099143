//! What the reference sandbox costs, each figure beside its floor in the same criterion
//! group, so that a ratio comes from one run on one machine (`cargo xtask bench` reads them
//! and pairs them as `xtask/bench.toml` says):
//!
//! - `invoke/<size>`: one round trip of the echo plugin (`sandbox`; from 1 MiB through the
//!   payload window), the same in the low-latency mode (`low_latency`: its frames through
//!   the shared-memory rings), against the same bytes
//!   sent to a forked child over a raw socketpair and echoed back (`socketpair`), and
//!   against the plugin's own `sbx_plugin_invoke` called in this process (`in_process`);
//! - `invoke_p99/64B`: the 99th percentile of single 64-byte round trips (each sample's calls
//!   timed one by one), of the sandbox and of the raw socketpair;
//! - `activation`: spawn, confine, load, init and the first answer (`sandbox_cold`); the
//!   same of a signed package, its verification and the policy's decision first
//!   (`package_cold`, a `Host`'s load); from
//!   a warm pool's loaded spare only its init and first answer (`sandbox_warm`); from a
//!   confined spare its load, init and first answer (`sandbox_warm_confined`),
//!   against fork and exec of `/bin/true` (`fork_exec`) and against bubblewrap running it
//!   with every namespace unshared (`bwrap`, when `bwrap` is installed);
//! - `throughput/<n>`: calls spread over `n` busy plugins, each on a thread of its own: each
//!   its own `Plugin` (`sandbox`), or all signed packages of one `Host` shared by the threads
//!   (`host`), against `n` raw socketpair children (`socketpair`); criterion's time per
//!   element is the time per call.

use std::hint::black_box;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sbx_host::host::{Host, HostConfig};
use sbx_host::plugin_policy::PolicyStore;
use sbx_host::pool::{Spare, WarmPool};
use sbx_host::{Audit, Limits, Plugin, SandboxConfig};
use sbx_package::{Manifest, Publisher, RequestedLimits, SecretKey, TrustStore};

/// The largest input measured: the default payload window's half.
const LARGEST: usize = sbx_host::config::DEFAULT_PAYLOAD_WINDOW as usize;

/// The sizes of the round trips measured. Up to 64 KiB the echo plugin runs with the default
/// output bound, as most plugins do, and its calls travel inline; from 1 MiB its output
/// bound is the window's, and input and output travel through the payload window.
const SIZES: [(&str, usize); 6] = [
    ("0B", 0),
    ("64B", 64),
    ("4KiB", 4 << 10),
    ("64KiB", 64 << 10),
    ("1MiB", 1 << 20),
    ("16MiB", LARGEST),
];

/// Spares made ready at once for the warm activations timed in a row.
const WARM_BATCH: u64 = 16;

/// How many plugins (and raw children) are kept busy at once.
const BUSY: [usize; 4] = [1, 2, 8, 32];

/// The echo plugin with the default limits but an hour of CPU, or with outputs as large as the window,
/// in the default mode or the low-latency one.
fn echo_config(large: bool, low_latency: bool) -> SandboxConfig {
    let runner = sbx_host::config::find_runner()
        .unwrap_or_else(|e| panic!("{e} (build it first: cargo build -p sbx-runner)"));
    let mut limits = Limits::default();
    if large {
        limits.output_bytes = LARGEST as u32;
    }
    // A plugin called back to back for minutes spends more than the default CPU limit (10 s):
    // the default mode's echo reached it in a full run (most of it system time), and one in
    // the low-latency mode is on its CPU all along (between calls it spins for the next).
    limits.cpu_seconds = 3600;
    SandboxConfig::builder(sbx_adversarial_plugins::path("echo"))
        .runner(runner)
        .limits(limits)
        .low_latency(low_latency)
        .build()
        .expect("a valid configuration")
}

fn running_echo(config: &SandboxConfig) -> Plugin {
    let mut plugin = Plugin::spawn(config).expect("the echo plugin spawns");
    plugin.init(b"").expect("init");
    plugin.start().expect("start");
    plugin
}

/// A forked child that echoes length-prefixed messages over a socketpair: the least any
/// process boundary costs, with nothing of the sandbox in it.
struct RawEchoChild {
    stream: UnixStream,
    pid: libc::pid_t,
}

impl RawEchoChild {
    fn spawn() -> RawEchoChild {
        let (parent, child) = UnixStream::pair().expect("socketpair");
        // Allocated before the fork: the child may only make async-signal-safe calls, and
        // allocating is not one of them (criterion's analysis threads may exist).
        let mut buffer = vec![0u8; LARGEST + 4];
        // SAFETY: the child runs `echo_forever`, which makes only read, write and _exit
        // calls on memory allocated before the fork, and never returns.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            echo_forever(child.as_raw_fd(), &mut buffer);
        }
        drop(child);
        RawEchoChild {
            stream: parent,
            pid,
        }
    }

    fn round_trip(&mut self, input: &[u8], output: &mut Vec<u8>) {
        let len = u32::try_from(input.len()).expect("an input under 4 GiB");
        self.stream.write_all(&len.to_le_bytes()).expect("write");
        self.stream.write_all(input).expect("write");
        let mut prefix = [0u8; 4];
        self.stream.read_exact(&mut prefix).expect("read");
        output.resize(u32::from_le_bytes(prefix) as usize, 0);
        self.stream.read_exact(output).expect("read");
    }
}

impl Drop for RawEchoChild {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        // SAFETY: waits for this process's own child, which exits once its socket closes.
        unsafe { libc::waitpid(self.pid, std::ptr::null_mut(), 0) };
    }
}

/// The raw child's whole life: read a length and that many bytes, write them back, until
/// the socket closes. Only async-signal-safe calls.
fn echo_forever(fd: RawFd, buffer: &mut [u8]) -> ! {
    loop {
        if !read_fully(fd, &mut buffer[..4]) {
            break;
        }
        let len = u32::from_le_bytes([buffer[0], buffer[1], buffer[2], buffer[3]]) as usize;
        if len > buffer.len() - 4 || !read_fully(fd, &mut buffer[4..4 + len]) {
            break;
        }
        if !write_fully(fd, &buffer[..4 + len]) {
            break;
        }
    }
    // SAFETY: ends the forked child without running the parent's exit handlers.
    unsafe { libc::_exit(0) }
}

fn read_fully(fd: RawFd, mut buf: &mut [u8]) -> bool {
    while !buf.is_empty() {
        // SAFETY: reads into memory this process owns, at most its length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return false;
        }
        buf = &mut buf[n as usize..];
    }
    true
}

fn write_fully(fd: RawFd, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        // SAFETY: writes from memory this process owns, at most its length.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n <= 0 {
            return false;
        }
        buf = &buf[n as usize..];
    }
    true
}

/// The echo plugin's `sbx_plugin_invoke`, loaded into this process: what the call costs
/// with no boundary at all.
struct InProcessEcho {
    invoke: SbxPluginInvoke,
}

type SbxPluginInvoke = unsafe extern "C" fn(
    *const libc::c_char,
    usize,
    *const u8,
    usize,
    *mut u8,
    usize,
    *mut usize,
) -> i32;

impl InProcessEcho {
    fn load(path: &Path) -> InProcessEcho {
        let path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("a path");
        // SAFETY: loads the suite's benign echo plugin, whose constructors do nothing; the
        // handle is never closed, so the function pointer below stays valid.
        let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        assert!(!handle.is_null(), "dlopen of the echo plugin failed");
        // SAFETY: looks up a symbol in the handle just opened.
        let symbol = unsafe { libc::dlsym(handle, c"sbx_plugin_invoke".as_ptr()) };
        assert!(
            !symbol.is_null(),
            "the echo plugin exports no sbx_plugin_invoke"
        );
        // SAFETY: the plugin ABI (sbx_plugin.h) gives sbx_plugin_invoke this signature.
        let invoke = unsafe { std::mem::transmute::<*mut libc::c_void, SbxPluginInvoke>(symbol) };
        InProcessEcho { invoke }
    }

    fn call(&self, input: &[u8], output: &mut [u8]) -> usize {
        let method = b"echo";
        let mut len = 0usize;
        // SAFETY: every pointer is valid for the length passed beside it for the whole call,
        // as the ABI asks; the plugin writes at most `output.len()` bytes.
        let status = unsafe {
            (self.invoke)(
                method.as_ptr().cast(),
                method.len(),
                input.as_ptr(),
                input.len(),
                output.as_mut_ptr(),
                output.len(),
                &mut len,
            )
        };
        assert_eq!(status, 0, "the in-process echo failed");
        len
    }
}

fn invoke(c: &mut Criterion) {
    // Forked first, so that it holds none of the plugins' descriptors.
    let mut raw = RawEchoChild::spawn();
    let mut plugin = running_echo(&echo_config(false, false));
    let mut large = running_echo(&echo_config(true, false));
    let mut quick = running_echo(&echo_config(false, true));
    let mut quick_large = running_echo(&echo_config(true, true));
    let in_process = InProcessEcho::load(&sbx_adversarial_plugins::path("echo"));
    let mut group = c.benchmark_group("invoke");
    for (name, size) in SIZES {
        let input = vec![0x5a; size];
        let mut output = Vec::with_capacity(size);
        let mut out_buffer = vec![0u8; size.max(1)];
        group.throughput(Throughput::Bytes(size as u64));
        let (sandbox, low_latency) = if size > 64 << 10 {
            (&mut large, &mut quick_large)
        } else {
            (&mut plugin, &mut quick)
        };
        group.bench_function(BenchmarkId::new("sandbox", name), |b| {
            b.iter(|| black_box(sandbox.invoke("echo", black_box(&input)).expect("echo")))
        });
        group.bench_function(BenchmarkId::new("low_latency", name), |b| {
            b.iter(|| black_box(low_latency.invoke("echo", black_box(&input)).expect("echo")))
        });
        group.bench_function(BenchmarkId::new("socketpair", name), |b| {
            b.iter(|| raw.round_trip(black_box(&input), &mut output))
        });
        group.bench_function(BenchmarkId::new("in_process", name), |b| {
            b.iter(|| black_box(in_process.call(black_box(&input), &mut out_buffer)))
        });
    }
    group.finish();
    // The tail: each call of a sample timed alone, the sample's time its 99th percentile.
    let mut group = c.benchmark_group("invoke_p99");
    let input = vec![0x5a; 64];
    let mut output = Vec::with_capacity(64);
    group.bench_function(BenchmarkId::new("sandbox", "64B"), |b| {
        b.iter_custom(|calls| {
            p99_of(calls, || {
                black_box(plugin.invoke("echo", black_box(&input)).expect("echo"));
            })
        })
    });
    group.bench_function(BenchmarkId::new("socketpair", "64B"), |b| {
        b.iter_custom(|calls| p99_of(calls, || raw.round_trip(black_box(&input), &mut output)))
    });
    group.finish();
    for mut echo in [plugin, large, quick, quick_large] {
        echo.shutdown().expect("shutdown");
    }
}

/// Times `calls` calls of `call` one by one and answers their 99th percentile as the time of
/// all of them, so that criterion's time per iteration is the sample's p99.
fn p99_of(calls: u64, mut call: impl FnMut()) -> Duration {
    let mut each: Vec<Duration> = (0..calls)
        .map(|_| {
            let started = Instant::now();
            call();
            started.elapsed()
        })
        .collect();
    each.sort_unstable();
    let p99 = each
        .get((each.len() * 99 / 100).min(each.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default();
    p99 * u32::try_from(calls).unwrap_or(u32::MAX)
}

fn activation(c: &mut Criterion) {
    let config = echo_config(false, false);
    let mut group = c.benchmark_group("activation");
    group.sample_size(20);
    // Spawn to first answer is timed; the shutdown after it is not.
    group.bench_function("sandbox_cold", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let mut plugin = running_echo(&config);
                black_box(plugin.invoke("echo", b"first").expect("echo"));
                spent += started.elapsed();
                plugin.shutdown().expect("shutdown");
            }
            spent
        })
    });
    // A signed package from its files: verification, the policy's decision, sealing, spawn,
    // confinement, load, init and the first answer timed; the unload after it is not.
    let packages = tempfile::tempdir().expect("a directory for the package");
    let (mut host, names) = echo_host(packages.path(), 1);
    for name in &names {
        host.unload(name).expect("unload");
    }
    let package = packages.path().join("echo-0");
    group.bench_function("package_cold", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let name = host.load(&package, b"").expect("the echo package loads");
                black_box(host.invoke(&name, "echo", b"first").expect("echo"));
                spent += started.elapsed();
                host.unload(&name).expect("unload");
            }
            spent
        })
    });
    // Take, init and the first answer are timed (a confined spare's take loads the plugin
    // too); the spares are spawned before, and each plugin shut down after, outside the
    // time, as a pool refills between activations.
    for (id, kind) in [
        ("sandbox_warm", Spare::Loaded),
        ("sandbox_warm_confined", Spare::Confined),
    ] {
        group.bench_function(id, |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let batch = left.min(WARM_BATCH);
                    let pool = WarmPool::new(&config, batch as usize, kind);
                    pool.fill().expect("the spares spawn");
                    let mut plugins = Vec::with_capacity(batch as usize);
                    let started = Instant::now();
                    for _ in 0..batch {
                        let mut plugin = pool.take(Audit::new(None, "echo")).expect("take");
                        plugin.init(b"").expect("init");
                        plugin.start().expect("start");
                        black_box(plugin.invoke("echo", b"first").expect("echo"));
                        plugins.push(plugin);
                    }
                    spent += started.elapsed();
                    for mut plugin in plugins {
                        plugin.shutdown().expect("shutdown");
                    }
                    left -= batch;
                }
                spent
            })
        });
    }
    group.bench_function("fork_exec", |b| {
        b.iter(|| run_to_end(&mut Command::new("/bin/true")))
    });
    if let Some(bwrap) = on_path("bwrap") {
        group.bench_function("bwrap", |b| {
            b.iter(|| {
                run_to_end(Command::new(&bwrap).args([
                    "--ro-bind",
                    "/",
                    "/",
                    "--unshare-all",
                    "/bin/true",
                ]))
            })
        });
    } else {
        eprintln!("activation/bwrap: bwrap is not installed, so this floor is not measured");
    }
    group.finish();
}

fn run_to_end(command: &mut Command) {
    let status = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .expect("the floor's command starts");
    assert!(status.success(), "the floor's command failed: {status}");
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
}

fn throughput(c: &mut Criterion) {
    let config = echo_config(false, false);
    let input = vec![0x5a; 64];
    let mut group = c.benchmark_group("throughput");
    group.throughput(Throughput::Elements(1));
    for busy in BUSY {
        let mut plugins: Vec<Plugin> = (0..busy).map(|_| running_echo(&config)).collect();
        group.bench_function(BenchmarkId::new("sandbox", busy), |b| {
            b.iter_custom(|calls| {
                spread(&mut plugins, calls, |p| {
                    black_box(p.invoke("echo", &input).expect("echo"));
                })
            })
        });
        for mut plugin in plugins {
            plugin.shutdown().expect("shutdown");
        }
        let packages = tempfile::tempdir().expect("a directory for the packages");
        let (mut host, mut names) = echo_host(packages.path(), busy);
        group.bench_function(BenchmarkId::new("host", busy), |b| {
            let host = &host;
            b.iter_custom(|calls| {
                spread(&mut names, calls, |name| {
                    black_box(host.invoke(name, "echo", &input).expect("echo"));
                })
            })
        });
        for name in &names {
            host.unload(name).expect("unload");
        }
        let mut children: Vec<RawEchoChild> = (0..busy).map(|_| RawEchoChild::spawn()).collect();
        group.bench_function(BenchmarkId::new("socketpair", busy), |b| {
            b.iter_custom(|calls| {
                spread(&mut children, calls, |child| {
                    let mut output = Vec::with_capacity(64);
                    child.round_trip(&input, &mut output);
                })
            })
        });
    }
    group.finish();
}

/// The policy of the echo packages: the limits of `plugins.example.toml`'s default rule,
/// with a minute of CPU for a whole run of calls.
const ECHO_POLICY: &str = r#"
format = 1
version = 1
[default]
grant = ["log"]
memory_mib = 256
cpu_seconds = 60
storage_bytes = 1048576
host_calls_per_second = 200
"#;

/// A host of `n` echo plugins, each a package signed in `dir`; their names.
fn echo_host(dir: &Path, n: usize) -> (Host, Vec<String>) {
    let key = SecretKey::generate().expect("a signing key");
    let binary = std::fs::read(sbx_adversarial_plugins::path("echo")).expect("the echo plugin");
    let mut host = Host::new(HostConfig {
        trust: TrustStore {
            publishers: vec![Publisher {
                name: "bench".into(),
                key: key.public(),
            }],
            ..TrustStore::default()
        },
        policy: PolicyStore::parse(ECHO_POLICY).expect("the policy"),
        storage_root: dir.join("storage"),
        audit: None,
        runner: Some(echo_config(false, false).runner),
        deadlines: Default::default(),
        layers: sbx_host::Layers::ALL,
        host_paths: Default::default(),
        warm_spares: 0,
        low_latency: false,
    });
    let names = (0..n)
        .map(|i| {
            let manifest = Manifest {
                name: format!("echo-{i}"),
                version: "1.0.0".into(),
                abi_version: sbx_contract::abi::ABI_VERSION,
                sha256: [0; 32],
                capabilities: vec!["log".into()],
                limits: RequestedLimits::default(),
            };
            let package = dir.join(&manifest.name);
            sbx_package::sign(&manifest, &binary, &key, &package).expect("sign");
            host.load(&package, b"").expect("the echo package loads")
        })
        .collect();
    (host, names)
}

/// Makes `calls` calls, spread evenly over `workers`, each worker on its own thread; the
/// time from the first call to the last answer.
fn spread<W: Send>(workers: &mut [W], calls: u64, call: impl Fn(&mut W) + Sync) -> Duration {
    let n = workers.len() as u64;
    let started = Instant::now();
    std::thread::scope(|scope| {
        for (i, worker) in workers.iter_mut().enumerate() {
            let share = calls / n + u64::from((i as u64) < calls % n);
            let call = &call;
            scope.spawn(move || {
                for _ in 0..share {
                    call(worker);
                }
            });
        }
    });
    started.elapsed()
}

criterion_group!(benches, invoke, activation, throughput);
criterion_main!(benches);
