//! What the runner's seccomp filters cost per allowed system call (criterion): the same calls
//! on a thread under the reference policy's plugin stage as the runner installs it (the kill
//! filter, the errno filters and the stage's allowlist, with its argument checks), on a thread
//! under one filter that allows the same calls by number alone, and on a thread with no
//! filter. `cargo xtask bench` reports the first against the second.
//!
//! A filter binds the thread that installs it (no TSYNC), so each variant has a worker thread
//! of its own that installs its filters once and then runs the measured loops on request;
//! criterion's thread stays unfiltered.

use std::hint::black_box;
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sbx_policy::seccomp::{SeccompPolicy, Substitutions};
use seccompiler::BpfProgram;

/// The system calls measured: hot in a plugin's life, each allowed by the plugin stage.
#[derive(Clone, Copy)]
enum Call {
    /// An allow rule without conditions.
    Getpid,
    /// A write of one byte to /dev/null: the channel's call.
    Write,
    /// An anonymous read-only mapping and its release: a rule with an argument check
    /// (`mmap`'s protection may not be executable) and one without.
    MmapMunmap,
}

impl Call {
    const ALL: [(Call, &'static str); 3] = [
        (Call::Getpid, "getpid"),
        (Call::Write, "write"),
        (Call::MmapMunmap, "mmap_munmap"),
    ];

    fn run(self, null: i32) {
        // SAFETY: plain system calls on this process's own descriptor and on a mapping this
        // loop makes and releases; no memory is shared with Rust code.
        unsafe {
            match self {
                Call::Getpid => {
                    black_box(libc::syscall(libc::SYS_getpid));
                }
                Call::Write => {
                    black_box(libc::write(null, b"x".as_ptr().cast(), 1));
                }
                Call::MmapMunmap => {
                    let p = libc::mmap(
                        std::ptr::null_mut(),
                        4096,
                        libc::PROT_READ,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                        -1,
                        0,
                    );
                    assert_ne!(p, libc::MAP_FAILED, "mmap under the filter");
                    libc::munmap(p, 4096);
                }
            }
        }
    }
}

/// A thread that installed `filters` and runs loops of one call on request.
struct Worker {
    requests: mpsc::Sender<(Call, u64)>,
    answers: mpsc::Receiver<Duration>,
}

impl Worker {
    fn start(filters: Vec<BpfProgram>) -> Worker {
        let (requests, inbox) = mpsc::channel::<(Call, u64)>();
        let (outbox, answers) = mpsc::channel();
        let null = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .expect("/dev/null");
        std::thread::spawn(move || {
            // Opened before the filters, read after them: the kernel writes the file when it
            // is read, and opening may not be allowed any more.
            let mut status = std::fs::File::open("/proc/thread-self/status").expect("status");
            // SAFETY: sets no_new_privs on this thread, as the runner does before its filters.
            let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
            assert_eq!(rc, 0, "no_new_privs");
            for filter in &filters {
                seccompiler::apply_filter(filter).expect("the filter installs");
            }
            // A measurement of a filter that is not there would flatter it.
            // One plain read: read_to_string would first ask the file's size (statx), which
            // the plugin stage does not allow.
            let mut buf = [0u8; 4096];
            let n = std::io::Read::read(&mut status, &mut buf).expect("status reads");
            let text = String::from_utf8_lossy(&buf[..n]);
            let installed = text
                .lines()
                .find_map(|l| l.strip_prefix("Seccomp_filters:"))
                .map(|n| n.trim().to_owned());
            assert_eq!(
                installed,
                Some(filters.len().to_string()),
                "filters in force"
            );
            // From here on, only calls the plugin stage allows: channel waits (futex), the
            // clock (vDSO), and the measured calls.
            for (call, iters) in inbox {
                let started = Instant::now();
                for _ in 0..iters {
                    call.run(null.as_raw_fd());
                }
                let _ = outbox.send(started.elapsed());
            }
            // The channel closed: the thread parks for good, as exiting would need calls the
            // measurement has no reason to allow; the process's exit ends it.
            loop {
                std::thread::park();
            }
        });
        Worker { requests, answers }
    }

    fn time(&self, call: Call, iters: u64) -> Duration {
        self.requests.send((call, iters)).expect("the worker runs");
        self.answers.recv().expect("the worker answers")
    }
}

/// The filters the runner installs for its plugin stage.
fn reference_filters(policy: &SeccompPolicy) -> Vec<BpfProgram> {
    let mut filters = policy
        .compile_first_stage("plugin", substitutions())
        .expect("the reference policy compiles");
    // The stage's own errno answers go in before its allowlist, which refuses `seccomp`.
    let allowlist = filters.pop().expect("the stage's allowlist");
    filters.extend(
        policy
            .compile_stage_errno("plugin", substitutions())
            .expect("the reference policy compiles"),
    );
    filters.push(allowlist);
    filters
}

/// One filter allowing the plugin stage's calls by number alone: no kill or errno filter
/// in front, no argument checked.
fn number_only_filter(policy: &SeccompPolicy) -> Vec<BpfProgram> {
    let mut plain = policy.clone();
    plain.kill.clear();
    plain.errno.clear();
    for stage in plain.stages.values_mut() {
        stage.errno.clear();
        for rule in &mut stage.allow {
            rule.args.clear();
        }
    }
    vec![
        plain
            .compile_stage("plugin", substitutions())
            .expect("the number-only policy compiles"),
    ]
}

fn substitutions() -> Substitutions {
    Substitutions {
        pid: std::process::id(),
    }
}

fn seccomp(c: &mut Criterion) {
    let policy = SeccompPolicy::reference().expect("the reference policy parses");
    let workers = [
        ("reference", Worker::start(reference_filters(&policy))),
        ("number_only", Worker::start(number_only_filter(&policy))),
        ("none", Worker::start(Vec::new())),
    ];
    let mut group = c.benchmark_group("seccomp");
    for (call, call_name) in Call::ALL {
        for (variant, worker) in &workers {
            group.bench_function(BenchmarkId::new(*variant, call_name), |b| {
                b.iter_custom(|iters| worker.time(call, iters))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, seccomp);
criterion_main!(benches);
