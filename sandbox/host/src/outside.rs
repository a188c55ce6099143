//! What the broker reaches beyond its own state: the clocks, waiting, and the network. The
//! host's broker uses the system's ([`System`]); the `host_session` fuzz target gives it one
//! whose clocks move only when the fuzz input says so, whose waits return at once and whose
//! network is unreachable ([`Offline`]), so the session's code runs as the host runs it,
//! without sockets or sleeps.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// The clocks, waiting and the network, as the broker sees them.
pub trait Outside: Send + std::fmt::Debug {
    /// The monotonic clock (rates).
    fn now(&self) -> Instant;
    /// The wall clock (the `clock_now` service).
    fn wall_clock(&self) -> SystemTime;
    /// Waits `d` (backpressure: the plugin's call waits for its token).
    fn wait(&self, d: Duration);
    /// One request to `dest` (`host:port`, allowlisted): connect, send, half-close, read at
    /// most `max_answer + 1` bytes of the answer, each step within `timeout`.
    fn net_request(
        &self,
        dest: &str,
        request: &[u8],
        timeout: Duration,
        max_answer: usize,
    ) -> std::io::Result<Vec<u8>>;
}

/// The system's clocks, sleep and TCP.
#[derive(Debug, Clone, Copy, Default)]
pub struct System;

impl Outside for System {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall_clock(&self) -> SystemTime {
        SystemTime::now()
    }

    fn wait(&self, d: Duration) {
        std::thread::sleep(d);
    }

    fn net_request(
        &self,
        dest: &str,
        request: &[u8],
        timeout: Duration,
        max_answer: usize,
    ) -> std::io::Result<Vec<u8>> {
        let addr: SocketAddr = dest
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| std::io::Error::other("no address"))?;
        let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.write_all(request)?;
        stream.shutdown(std::net::Shutdown::Write)?;
        let mut answer = Vec::new();
        (&mut stream)
            .take(max_answer as u64 + 1)
            .read_to_end(&mut answer)?;
        Ok(answer)
    }
}

/// Clocks that move only when told ([`Offline::advance`]) or when asked to wait (a wait
/// moves them on by its length, at once), and a network that is unreachable: a broker's
/// decisions over time without time passing or a socket. Clones share their clocks.
#[derive(Debug, Clone)]
pub struct Offline {
    start: Instant,
    wall: SystemTime,
    elapsed_ns: Arc<AtomicU64>,
}

impl Offline {
    /// Stopped now.
    pub fn new() -> Offline {
        Offline {
            start: Instant::now(),
            wall: SystemTime::now(),
            elapsed_ns: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Moves both clocks on by `d`.
    pub fn advance(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .elapsed_ns
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |e| {
                Some(e.saturating_add(ns))
            });
    }

    fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.elapsed_ns.load(Ordering::Relaxed))
    }
}

impl Default for Offline {
    fn default() -> Self {
        Offline::new()
    }
}

impl Outside for Offline {
    fn now(&self) -> Instant {
        self.start + self.elapsed()
    }

    fn wall_clock(&self) -> SystemTime {
        self.wall + self.elapsed()
    }

    fn wait(&self, d: Duration) {
        self.advance(d);
    }

    fn net_request(&self, dest: &str, _: &[u8], _: Duration, _: usize) -> std::io::Result<Vec<u8>> {
        Err(std::io::Error::new(
            std::io::ErrorKind::NetworkUnreachable,
            format!("{dest}: no network here"),
        ))
    }
}
