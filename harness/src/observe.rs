//! What the harness prepares before a case and checks after it, with its own means.
//!
//! A [`Scratch`] area holds a canary secret (outside the plugin's reach, readable by every
//! user so that only the sandbox can stop a read), a forbidden directory (writable by every
//! user so that only the sandbox can stop a write) and the adapter's working directory.
//! [`Listeners`] are the harness's own loopback TCP and UDP sockets and an abstract unix
//! socket: a sandbox that lets the plugin reach them is seen from here, whatever it says.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{TcpListener, UdpSocket};
use std::os::fd::AsFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Files the constructor-stage plugins of the suite write outside any parameter: a sandbox
/// that lets them appear in `/tmp` let the plugin write outside its area.
pub const TMP_ATTACK_PREFIX: &str = "sbx-atk";

/// A random token, 32 hex digits, from the kernel's generator.
pub fn token() -> String {
    let mut bytes = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut bytes);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The canaries of one case.
#[derive(Debug, Clone)]
pub struct Canaries {
    /// In the secret file.
    pub file: String,
    /// In the adapter's environment (`SBX_CONFORMANCE_CANARY`).
    pub env: String,
    /// In the adapter's argv.
    pub argv: String,
    /// Given to the benign neighbour to echo before the plugin is loaded: legitimately in
    /// the neighbour's answer, and harm in the plugin's (a buffer handed on uncleared).
    pub neighbour: String,
}

impl Canaries {
    /// Fresh tokens.
    pub fn new() -> Canaries {
        Canaries {
            file: token(),
            env: token(),
            argv: token(),
            neighbour: token(),
        }
    }

    /// Which tokens occur in `haystack`, by name.
    pub fn found_in(&self, haystack: &[u8]) -> Vec<&'static str> {
        let mut found = Vec::new();
        for (name, t) in [
            ("file", &self.file),
            ("environment", &self.env),
            ("argv", &self.argv),
        ] {
            if haystack.windows(t.len()).any(|w| w == t.as_bytes()) {
                found.push(name);
            }
        }
        found
    }
}

impl Default for Canaries {
    fn default() -> Self {
        Canaries::new()
    }
}

/// The name of the environment variable holding the environment canary.
pub const CANARY_ENV: &str = "SBX_CONFORMANCE_CANARY";

/// A fresh directory tree for one case.
#[derive(Debug)]
pub struct Scratch {
    /// Root of the case's area.
    pub root: PathBuf,
    /// The canary file.
    pub secret: PathBuf,
    /// The directory that must stay unwritten.
    pub forbidden: PathBuf,
    /// The adapter's working directory.
    pub work: PathBuf,
}

impl Scratch {
    /// Creates `<base>/<name>` afresh with its canary secret.
    pub fn create(base: &Path, name: &str, canaries: &Canaries) -> std::io::Result<Scratch> {
        let root = base.join(name);
        if root.exists() {
            std::fs::remove_dir_all(&root)?;
        }
        let secret_dir = root.join("secret");
        let forbidden = root.join("forbidden");
        let work = root.join("work");
        for d in [&root, &secret_dir, &forbidden, &work] {
            std::fs::create_dir_all(d)?;
        }
        for d in [&root, &secret_dir] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755))?;
        }
        // Writable by all and readable by all: only the sandbox can protect them.
        std::fs::set_permissions(&forbidden, std::fs::Permissions::from_mode(0o777))?;
        std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o777))?;
        let secret = secret_dir.join("canary.txt");
        std::fs::write(&secret, format!("{}\n", canaries.file))?;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644))?;
        Ok(Scratch {
            root,
            secret,
            forbidden,
            work,
        })
    }

    /// The state of everything outside the allowed area that a case may not change.
    pub fn snapshot(&self) -> Snapshot {
        let mut files = BTreeMap::new();
        walk(&self.root.join("secret"), &self.root, &mut files);
        walk(&self.forbidden, &self.root, &mut files);
        if let Ok(dir) = std::fs::read_dir("/tmp") {
            for e in dir.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with(TMP_ATTACK_PREFIX) {
                    files.insert(format!("/tmp/{name}"), describe(&e.path()));
                }
            }
        }
        Snapshot { files }
    }

    /// Bytes held under the forbidden directory and in `/tmp/sbx-atk*`.
    pub fn written_bytes(snapshot: &Snapshot) -> u64 {
        snapshot.files.values().map(|f| f.len).sum()
    }

    /// Bytes held under the adapter's working directory, where adapters keep the plugins'
    /// storage (see `ADAPTERS.md`): a storage quota that does not hold shows here.
    pub fn work_bytes(&self) -> u64 {
        let mut files = BTreeMap::new();
        walk(&self.work, &self.root, &mut files);
        files.values().map(|f| f.len).sum()
    }
}

/// Removes the attack files a constructor-stage plugin may have left in `/tmp`.
pub fn clean_tmp_attack_files() {
    if let Ok(dir) = std::fs::read_dir("/tmp") {
        for e in dir.flatten() {
            if e.file_name()
                .to_string_lossy()
                .starts_with(TMP_ATTACK_PREFIX)
            {
                let p = e.path();
                let _ = std::fs::remove_dir_all(&p).or_else(|_| std::fs::remove_file(&p));
            }
        }
    }
}

/// What a file looked like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    /// Size.
    pub len: u64,
    /// Mode bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Modification time, nanoseconds.
    pub mtime_ns: i128,
    /// Link target, for symlinks.
    pub link: Option<String>,
}

/// Files by path (relative to the scratch root, or absolute for `/tmp`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The files.
    pub files: BTreeMap<String, FileState>,
}

impl Snapshot {
    /// Human-readable differences from `before` to `self`.
    pub fn changes_since(&self, before: &Snapshot) -> Vec<String> {
        let mut out = Vec::new();
        for (path, state) in &self.files {
            match before.files.get(path) {
                None => out.push(format!("created {path}")),
                Some(old) if old != state => out.push(format!("changed {path}")),
                _ => {}
            }
        }
        for path in before.files.keys() {
            if !self.files.contains_key(path) {
                out.push(format!("removed {path}"));
            }
        }
        out
    }
}

fn describe(path: &Path) -> FileState {
    use std::os::unix::fs::MetadataExt;
    match std::fs::symlink_metadata(path) {
        Ok(m) => FileState {
            len: m.len(),
            mode: m.mode(),
            uid: m.uid(),
            mtime_ns: m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128,
            link: std::fs::read_link(path)
                .ok()
                .map(|l| l.to_string_lossy().into_owned()),
        },
        Err(_) => FileState {
            len: 0,
            mode: 0,
            uid: 0,
            mtime_ns: 0,
            link: None,
        },
    }
}

fn walk(dir: &Path, root: &Path, files: &mut BTreeMap<String, FileState>) {
    let rel = |p: &Path| {
        p.strip_prefix(root)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    files.insert(format!("{}/", rel(dir)), describe(dir));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten().take(10_000) {
        let p = e.path();
        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir && files.len() < 10_000 {
            walk(&p, root, files);
        } else {
            files.insert(rel(&p), describe(&p));
        }
    }
}

/// The harness's own listeners for one case.
pub struct Listeners {
    /// TCP port on 127.0.0.1.
    pub tcp_port: u16,
    /// UDP port on 127.0.0.1.
    pub udp_port: u16,
    /// Abstract unix socket name (without the leading NUL).
    pub unix_name: String,
    /// Written once to end the counting thread.
    wake: UnixStream,
    counter: Option<JoinHandle<Received>>,
}

/// What the listeners received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Received {
    /// TCP connections accepted.
    pub tcp: u64,
    /// UDP datagrams received.
    pub udp: u64,
    /// Unix connections accepted.
    pub unix: u64,
}

/// The listeners' sockets, counted by one thread that sleeps in poll(2) until one of them
/// (or the wake-up of [`Listeners::close`]) is ready.
struct Counted {
    tcp: TcpListener,
    udp: UdpSocket,
    unix: UnixListener,
    woken: UnixStream,
    received: Received,
}

impl Counted {
    /// What one look takes from each socket at most, so that a flood cannot hold the count
    /// (or the close) for ever: the count is then a floor, which is all the judge needs.
    const MOST_PER_LOOK: usize = 1 << 16;

    /// Counts until woken, then once more: what a plugin sent before the adapter ended is
    /// queued in the sockets by then, so the last look finds it without a wait.
    fn run(mut self) -> Received {
        loop {
            let woken = {
                let mut fds = [
                    PollFd::new(self.tcp.as_fd(), PollFlags::POLLIN),
                    PollFd::new(self.udp.as_fd(), PollFlags::POLLIN),
                    PollFd::new(self.unix.as_fd(), PollFlags::POLLIN),
                    PollFd::new(self.woken.as_fd(), PollFlags::POLLIN),
                ];
                match poll(&mut fds, PollTimeout::NONE) {
                    Ok(_) => fds[3].any().unwrap_or(true),
                    // Listening goes on whatever poll said: a socket dropped here would
                    // refuse what a plugin sends later, and it would go uncounted.
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(10));
                        false
                    }
                }
            };
            if woken {
                self.drain();
                return self.received;
            }
            if self.drain() {
                // Readable but not taken (out of descriptors): wait rather than spin.
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Takes what is queued in the three sockets (each is non-blocking); whether one of
    /// them failed with something other than having nothing more.
    fn drain(&mut self) -> bool {
        let mut stalled = false;
        let mut take = |next: &mut dyn FnMut() -> std::io::Result<()>, count: &mut u64| {
            for _ in 0..Self::MOST_PER_LOOK {
                match next() {
                    Ok(()) => *count += 1,
                    Err(e) => {
                        stalled |= e.kind() != std::io::ErrorKind::WouldBlock;
                        break;
                    }
                }
            }
        };
        let (tcp, unix, udp) = (&self.tcp, &self.unix, &self.udp);
        take(&mut || tcp.accept().map(drop), &mut self.received.tcp);
        let mut buf = [0u8; 2048];
        take(
            &mut || udp.recv_from(&mut buf).map(drop),
            &mut self.received.udp,
        );
        take(&mut || unix.accept().map(drop), &mut self.received.unix);
        stalled
    }
}

impl Listeners {
    /// Opens the three listeners and starts counting.
    pub fn open(unix_name: &str) -> std::io::Result<Listeners> {
        let tcp = TcpListener::bind("127.0.0.1:0")?;
        tcp.set_nonblocking(true)?;
        let udp = UdpSocket::bind("127.0.0.1:0")?;
        udp.set_nonblocking(true)?;
        let addr = SocketAddr::from_abstract_name(unix_name.as_bytes())?;
        let unix = UnixListener::bind_addr(&addr)?;
        unix.set_nonblocking(true)?;
        let tcp_port = tcp.local_addr()?.port();
        let udp_port = udp.local_addr()?.port();
        let (wake, woken) = UnixStream::pair()?;
        let counted = Counted {
            tcp,
            udp,
            unix,
            woken,
            received: Received::default(),
        };
        Ok(Listeners {
            tcp_port,
            udp_port,
            unix_name: unix_name.to_string(),
            wake,
            counter: Some(std::thread::spawn(move || counted.run())),
        })
    }

    /// Stops listening and says what arrived.
    pub fn close(mut self) -> Received {
        use std::io::Write;
        let _ = self.wake.write_all(&[1]);
        self.counter
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

/// A TCP service of the harness's own on 127.0.0.1 that answers each connection with what
/// it was sent: a destination a plugin granted the network may reach, unlike the
/// [`Listeners`], whose every connection is harm.
pub struct EchoService {
    /// Its address, `127.0.0.1:PORT`, as a policy's allowlist names it.
    pub addr: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EchoService {
    /// The most of a request it reads, and how long it waits for more of it: a client that
    /// never closes its side is answered once it falls silent.
    const MAX_REQUEST: u64 = 64 << 10;
    const QUIET: Duration = Duration::from_millis(200);

    /// Starts answering.
    pub fn start() -> std::io::Result<EchoService> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?.to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => Self::answer(stream),
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        Ok(EchoService {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Reads the request, to its end or its first quiet spell, and sends it back.
    fn answer(mut stream: std::net::TcpStream) {
        use std::io::Write;
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(Self::QUIET));
        // A peer that stops reading cannot hold the case up.
        let _ = stream.set_write_timeout(Some(Self::QUIET));
        let mut request = Vec::new();
        let mut chunk = [0u8; 4096];
        while (request.len() as u64) < Self::MAX_REQUEST {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => request.extend_from_slice(&chunk[..n]),
            }
        }
        let _ = stream.write_all(&request);
    }
}

impl Drop for EchoService {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A TCP port on 127.0.0.1 that is bound and not listening, for as long as it is held: a
/// connection to it is refused, and no other socket of the machine can take it.
pub struct ClosedPort {
    /// Its address, `127.0.0.1:PORT`.
    pub addr: String,
    _socket: std::os::fd::OwnedFd,
}

impl ClosedPort {
    /// Binds a port the system chooses, without listening on it.
    pub fn bind() -> std::io::Result<ClosedPort> {
        use nix::sys::socket::{
            AddressFamily, SockFlag, SockType, SockaddrIn, bind, getsockname, socket,
        };
        use std::os::fd::AsRawFd;
        let socket = socket(
            AddressFamily::Inet,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        bind(socket.as_raw_fd(), &SockaddrIn::new(127, 0, 0, 1, 0))?;
        let port = getsockname::<SockaddrIn>(socket.as_raw_fd())?.port();
        Ok(ClosedPort {
            addr: format!("127.0.0.1:{port}"),
            _socket: socket,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What arrives just before the close is counted, with no wait in between: by then the
    /// plugin's processes are gone, and what they sent is queued in the sockets.
    #[test]
    fn listeners_count_what_arrived_right_up_to_their_close() {
        let name = format!("sbx-conformance-test-{}", &token()[..16]);
        let listeners = Listeners::open(&name).unwrap();
        let _tcp = std::net::TcpStream::connect(("127.0.0.1", listeners.tcp_port)).unwrap();
        let _tcp_again = std::net::TcpStream::connect(("127.0.0.1", listeners.tcp_port)).unwrap();
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        for _ in 0..3 {
            udp.send_to(b"x", ("127.0.0.1", listeners.udp_port))
                .unwrap();
        }
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let _unix = UnixStream::connect_addr(&addr).unwrap();
        assert_eq!(
            listeners.close(),
            Received {
                tcp: 2,
                udp: 3,
                unix: 1
            }
        );
    }

    #[test]
    fn listeners_that_received_nothing_say_so() {
        let name = format!("sbx-conformance-test-{}", &token()[..16]);
        assert_eq!(Listeners::open(&name).unwrap().close(), Received::default());
    }
}
