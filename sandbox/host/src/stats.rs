//! What the host measures of one plugin and keeps of what it said: figures ([`Stats`],
//! with the broker's counters, [`BrokerStats`]) and log records ([`LogRecord`]). Plain values:
//! the supervisor, the session, the broker and the audit log all carry them, and this module
//! needs none of them.

use serde::{Deserialize, Serialize};

/// One log record the plugin wrote through the host API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    /// Level.
    pub level: String,
    /// Text (lossily decoded).
    pub message: String,
}

/// Counters the broker keeps (part of the plugin's stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerStats {
    /// Host calls received (every service but `log`).
    pub host_calls: u64,
    /// Calls and log records refused (not granted, revoked, invalid).
    pub denials: u64,
    /// Times a limit was reached.
    pub limit_hits: u64,
    /// Calls delayed by the rate limit (backpressure) and then served.
    pub throttled: u64,
    /// Log records dropped by the log volume limit.
    pub logs_throttled: u64,
}

/// Per-plugin figures, measured by the host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Completed invoke calls (success or plugin error).
    pub invocations: u64,
    /// Calls answered with an error status.
    pub errors: u64,
    /// Sum of call latencies, microseconds.
    pub total_latency_us: u64,
    /// Slowest call, microseconds.
    pub max_latency_us: u64,
    /// Log records received.
    pub log_records: u64,
    /// Log bytes received.
    pub log_bytes: u64,
    /// Log records dropped because more than [`MAX_KEPT_LOGS`](crate::session::MAX_KEPT_LOGS) were kept.
    pub logs_dropped: u64,
    /// CPU time so far (user + system), microseconds, from /proc.
    pub cpu_us: u64,
    /// Peak resident set so far, KiB, from /proc.
    pub peak_rss_kib: u64,
    /// Median call latency over the last calls (at most 1024), microseconds.
    pub p50_latency_us: u64,
    /// 95th percentile of the same, microseconds.
    pub p95_latency_us: u64,
    /// 99th percentile of the same, microseconds.
    pub p99_latency_us: u64,
    /// Host calls, denials, limit hits and throttling, counted by the broker.
    pub broker: BrokerStats,
    /// Periods in which the CPU rate cap stopped the plugin (cgroup counter).
    #[serde(default)]
    pub cpu_throttled_periods: u64,
    /// Time the CPU rate cap held the plugin back, microseconds (cgroup counter).
    #[serde(default)]
    pub cpu_throttled_us: u64,
    /// Completed calls by latency: the count of each bucket of [`LATENCY_BUCKETS_US`], then
    /// of the calls slower than its last bound (empty until a call completes).
    #[serde(default)]
    pub latency_buckets: Vec<u64>,
}

/// The upper bounds, in microseconds, of the call latency buckets of [`Stats`]: from a
/// call in shared memory (tens of microseconds) to one at a deadline (seconds).
pub const LATENCY_BUCKETS_US: [u64; 14] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
    5_000_000,
];

impl Stats {
    /// Counts one completed call of `duration_us` in its latency bucket.
    pub fn count_latency(&mut self, duration_us: u64) {
        if self.latency_buckets.len() != LATENCY_BUCKETS_US.len() + 1 {
            self.latency_buckets = vec![0; LATENCY_BUCKETS_US.len() + 1];
        }
        let bucket = LATENCY_BUCKETS_US.partition_point(|bound| *bound < duration_us);
        self.latency_buckets[bucket] += 1;
    }

    /// The figures of two processes of one plugin, `self` then `later`: counts and CPU add
    /// up, maxima are the larger, percentiles are the later process's.
    pub fn followed_by(&self, later: &Stats) -> Stats {
        let mut s = later.clone();
        s.invocations += self.invocations;
        s.errors += self.errors;
        s.total_latency_us += self.total_latency_us;
        s.max_latency_us = s.max_latency_us.max(self.max_latency_us);
        s.log_records += self.log_records;
        s.log_bytes += self.log_bytes;
        s.logs_dropped += self.logs_dropped;
        s.cpu_us += self.cpu_us;
        s.peak_rss_kib = s.peak_rss_kib.max(self.peak_rss_kib);
        s.broker.host_calls += self.broker.host_calls;
        s.broker.denials += self.broker.denials;
        s.broker.limit_hits += self.broker.limit_hits;
        s.broker.throttled += self.broker.throttled;
        s.broker.logs_throttled += self.broker.logs_throttled;
        s.cpu_throttled_periods += self.cpu_throttled_periods;
        s.cpu_throttled_us += self.cpu_throttled_us;
        if s.latency_buckets.len() < self.latency_buckets.len() {
            s.latency_buckets.resize(self.latency_buckets.len(), 0);
        }
        for (sum, earlier) in s.latency_buckets.iter_mut().zip(&self.latency_buckets) {
            *sum += earlier;
        }
        s
    }
}
