//! The host's figures of its plugins as an OpenMetrics text exposition, the format
//! Prometheus scrapes: what a monitoring system reads to chart each plugin's calls, errors,
//! latency, CPU, memory, denials and limit hits, and to tell a plugin's trouble from the
//! host's.
//!
//! Every family of a plugin is labelled `plugin`; how a plugin's last process ended is
//! labelled `cause`: `plugin` for an end the plugin brought on itself (a crash, the filter,
//! a limit, a deadline, a broken protocol, its own exit), `host` for one the host chose (a
//! kill it was asked for). The host's own figures (`sbx_host_*`) carry no plugin label.
//! Written with the prometheus-client crate's encoder, never by hand.

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::stats::{LATENCY_BUCKETS_US, Stats};
use crate::termination::TerminationKind;

/// What the host knows of one plugin, at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginFigures {
    /// The plugin's name.
    pub plugin: String,
    /// Whether a process of it is running.
    pub running: bool,
    /// Whether it is quarantined (stopped for good after its restarts ran out).
    pub quarantined: bool,
    /// Times the host started it again after a fault, since it was loaded.
    pub restarts: u64,
    /// Its figures over all its processes since it was loaded.
    pub stats: Stats,
    /// How its last process ended, when one did.
    pub last_end: Option<TerminationKind>,
}

/// The figures of each plugin an audit log names, as the log tells them: its processes'
/// figures added up (each process's, recorded when it ended), its restarts, whether its
/// last word is a quarantine, how its last process ended, and whether it was left running
/// (its last state a live one). Host records (no plugin) are not a plugin's.
pub fn figures_from_log(records: &[crate::audit::AuditRecord]) -> Vec<PluginFigures> {
    use crate::audit::AuditEvent;
    let mut plugins: std::collections::BTreeMap<&str, PluginFigures> = Default::default();
    for r in records.iter().filter(|r| !r.plugin.is_empty()) {
        let p = plugins
            .entry(r.plugin.as_str())
            .or_insert_with(|| PluginFigures {
                plugin: r.plugin.clone(),
                running: false,
                quarantined: false,
                restarts: 0,
                stats: Stats::default(),
                last_end: None,
            });
        match &r.event {
            AuditEvent::Stats { stats } => p.stats = p.stats.followed_by(stats),
            AuditEvent::Restart { .. } => p.restarts += 1,
            AuditEvent::Quarantined { .. } => p.quarantined = true,
            // Loaded again, or serving a version again: a quarantine is over.
            AuditEvent::PackageVerified { .. }
            | AuditEvent::UpdateActivated { .. }
            | AuditEvent::UpdateRolledBack { .. } => p.quarantined = false,
            AuditEvent::Terminated { reason, .. } => {
                p.last_end = Some(*reason);
                p.running = false;
            }
            AuditEvent::State { to, .. } => {
                p.running = matches!(to.as_str(), "loaded" | "initialized" | "running" | "paused")
            }
            _ => {}
        }
    }
    plugins.into_values().collect()
}

/// Who brought an end about: the plugin, or the host.
pub fn cause(kind: TerminationKind) -> &'static str {
    match kind {
        TerminationKind::KilledByHost => "host",
        _ => "plugin",
    }
}

/// The figures of `plugins` as an OpenMetrics text exposition, ending with `# EOF`.
pub fn openmetrics(plugins: &[PluginFigures]) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Snapshot(plugins.to_vec())));
    let mut text = String::new();
    // Writing to a String cannot fail; an encoder error would be a bug of this module.
    if prometheus_client::encoding::text::encode(&mut text, &registry).is_err() {
        text = "# EOF\n".to_owned();
    }
    text
}

/// A counter family: its name, its help, and how it is read from a plugin's figures.
type CounterFamily = (&'static str, &'static str, fn(&PluginFigures) -> u64);

/// A gauge family, the same way.
type GaugeFamily = (&'static str, &'static str, fn(&PluginFigures) -> i64);

/// The figures at one moment, encoded as they are (constant metrics: nothing is counted
/// here, the host counted it).
#[derive(Debug)]
struct Snapshot(Vec<PluginFigures>);

impl prometheus_client::collector::Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let plugins = &self.0;
        let counters: [CounterFamily; 7] = [
            (
                "sbx_plugin_calls",
                "Calls answered (with a result or the plugin's error status).",
                |p| p.stats.invocations,
            ),
            (
                "sbx_plugin_call_errors",
                "Calls the plugin answered with an error status.",
                |p| p.stats.errors,
            ),
            (
                "sbx_plugin_host_calls",
                "Host service calls the plugin made (every service but log).",
                |p| p.stats.broker.host_calls,
            ),
            (
                "sbx_plugin_denials",
                "Host calls and log records the host refused (not granted, revoked, invalid).",
                |p| p.stats.broker.denials,
            ),
            (
                "sbx_plugin_limit_hits",
                "Times the plugin reached a quota or rate limit.",
                |p| p.stats.broker.limit_hits,
            ),
            (
                "sbx_plugin_logs_dropped",
                "Log records dropped by the log volume limit.",
                |p| p.stats.broker.logs_throttled,
            ),
            (
                "sbx_plugin_restarts",
                "Times the host started the plugin again after a fault.",
                |p| p.restarts,
            ),
        ];
        for (name, help, value) in counters {
            per_plugin(
                &mut encoder,
                (name, help, MetricType::Counter),
                plugins,
                |p| ConstCounter::new(value(p)),
            )?;
        }
        per_plugin(
            &mut encoder,
            (
                "sbx_plugin_cpu_seconds",
                "CPU time of the plugin's processes, user and system.",
                MetricType::Counter,
            ),
            plugins,
            |p| ConstCounter::new(p.stats.cpu_us as f64 / 1e6),
        )?;
        let mut latency = encoder.encode_descriptor(
            "sbx_plugin_call_duration_seconds",
            "Time from a call's request to its answer, as the host measured it.",
            None,
            MetricType::Histogram,
        )?;
        for p in plugins {
            let buckets = latency_buckets(&p.stats);
            latency
                .encode_family(&[("plugin", &p.plugin)])?
                .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                p.stats.total_latency_us as f64 / 1e6,
                p.stats.invocations,
                &buckets,
                None,
            )?;
        }
        let gauges: [GaugeFamily; 3] = [
            (
                "sbx_plugin_memory_peak_bytes",
                "Peak resident memory of the plugin's processes.",
                |p| p.stats.peak_rss_kib.saturating_mul(1024) as i64,
            ),
            (
                "sbx_plugin_up",
                "1 while a process of the plugin runs.",
                |p| i64::from(p.running),
            ),
            (
                "sbx_plugin_quarantined",
                "1 when the plugin is stopped for good, its restarts spent.",
                |p| i64::from(p.quarantined),
            ),
        ];
        for (name, help, value) in gauges {
            per_plugin(
                &mut encoder,
                (name, help, MetricType::Gauge),
                plugins,
                |p| ConstGauge::new(value(p)),
            )?;
        }
        let mut ended = encoder.encode_descriptor(
            "sbx_plugin_last_end",
            "How the plugin's last process ended (1), and whose doing that was.",
            None,
            MetricType::Gauge,
        )?;
        for p in plugins {
            if let Some(kind) = p.last_end {
                ConstGauge::new(1i64).encode(ended.encode_family(&[
                    ("plugin", p.plugin.as_str()),
                    ("reason", kind.name()),
                    ("cause", cause(kind)),
                ])?)?;
            }
        }
        let mut hosted = encoder.encode_descriptor(
            "sbx_host_plugins",
            "Plugins the host holds, by state.",
            None,
            MetricType::Gauge,
        )?;
        let count = |f: fn(&PluginFigures) -> bool| plugins.iter().filter(|p| f(p)).count() as i64;
        for (state, n) in [
            ("running", count(|p| p.running)),
            ("quarantined", count(|p| p.quarantined)),
            ("stopped", count(|p| !p.running && !p.quarantined)),
        ] {
            ConstGauge::new(n).encode(hosted.encode_family(&[("state", state)])?)?;
        }
        Ok(())
    }
}

/// One family of a constant metric per plugin, each labelled with the plugin's name.
fn per_plugin<M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    (name, help, kind): (&str, &str, MetricType),
    plugins: &[PluginFigures],
    metric: impl Fn(&PluginFigures) -> M,
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, kind)?;
    for p in plugins {
        metric(p).encode(family.encode_family(&[("plugin", &p.plugin)])?)?;
    }
    Ok(())
}

/// The latency histogram's buckets in seconds, each with its own count (the encoder sums
/// them), the last one unbounded. Calls counted without a bucket (figures recorded before
/// calls were bucketed) are in the unbounded one, so that it always holds every call.
fn latency_buckets(stats: &Stats) -> Vec<(f64, u64)> {
    let mut buckets: Vec<(f64, u64)> = LATENCY_BUCKETS_US
        .iter()
        .enumerate()
        .map(|(i, us)| {
            (
                *us as f64 / 1e6,
                stats.latency_buckets.get(i).copied().unwrap_or(0),
            )
        })
        .collect();
    let in_bounded: u64 = buckets.iter().map(|(_, n)| n).sum();
    buckets.push((f64::INFINITY, stats.invocations.saturating_sub(in_bounded)));
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures() -> Vec<PluginFigures> {
        let mut stats = Stats {
            invocations: 3,
            errors: 1,
            total_latency_us: 2_000_120,
            cpu_us: 1_500_000,
            peak_rss_kib: 2048,
            ..Stats::default()
        };
        for us in [40, 80, 2_000_000] {
            stats.count_latency(us);
        }
        stats.broker.denials = 4;
        vec![
            PluginFigures {
                plugin: "a".into(),
                running: true,
                quarantined: false,
                restarts: 0,
                stats,
                last_end: None,
            },
            PluginFigures {
                plugin: "b".into(),
                running: false,
                quarantined: true,
                restarts: 2,
                stats: Stats::default(),
                last_end: Some(TerminationKind::SeccompViolation),
            },
        ]
    }

    #[test]
    fn each_figure_is_a_labelled_sample_and_the_buckets_add_up() {
        let text = openmetrics(&figures());
        for line in [
            "sbx_plugin_calls_total{plugin=\"a\"} 3",
            "sbx_plugin_call_errors_total{plugin=\"a\"} 1",
            "sbx_plugin_denials_total{plugin=\"a\"} 4",
            "sbx_plugin_cpu_seconds_total{plugin=\"a\"} 1.5",
            "sbx_plugin_memory_peak_bytes{plugin=\"a\"} 2097152",
            "sbx_plugin_call_duration_seconds_bucket{le=\"0.00005\",plugin=\"a\"} 1",
            "sbx_plugin_call_duration_seconds_bucket{le=\"0.0001\",plugin=\"a\"} 2",
            "sbx_plugin_call_duration_seconds_bucket{le=\"1.0\",plugin=\"a\"} 2",
            "sbx_plugin_call_duration_seconds_bucket{le=\"5.0\",plugin=\"a\"} 3",
            "sbx_plugin_call_duration_seconds_bucket{le=\"+Inf\",plugin=\"a\"} 3",
            "sbx_plugin_call_duration_seconds_count{plugin=\"a\"} 3",
            "sbx_plugin_restarts_total{plugin=\"b\"} 2",
            "sbx_plugin_last_end{plugin=\"b\",reason=\"seccomp_violation\",cause=\"plugin\"} 1",
            "sbx_host_plugins{state=\"quarantined\"} 1",
            "sbx_host_plugins{state=\"running\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
        // A plugin no process of which has ended has no end to show.
        assert!(!text.contains("sbx_plugin_last_end{plugin=\"a\""), "{text}");
    }

    #[test]
    fn calls_counted_without_a_bucket_are_in_the_unbounded_one() {
        let old = PluginFigures {
            stats: Stats {
                invocations: 5,
                total_latency_us: 500,
                ..Stats::default()
            },
            ..figures()[1].clone()
        };
        let text = openmetrics(&[old]);
        for line in [
            "sbx_plugin_call_duration_seconds_count{plugin=\"b\"} 5",
            "sbx_plugin_call_duration_seconds_bucket{le=\"+Inf\",plugin=\"b\"} 5",
            "sbx_plugin_call_duration_seconds_bucket{le=\"5.0\",plugin=\"b\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }

    #[test]
    fn only_a_kill_the_host_chose_is_the_hosts_doing() {
        assert_eq!(cause(TerminationKind::KilledByHost), "host");
        for kind in [
            TerminationKind::Signal,
            TerminationKind::SeccompViolation,
            TerminationKind::CpuLimit,
            TerminationKind::MemoryLimit,
            TerminationKind::WallTimeout,
            TerminationKind::ProtocolViolation,
            TerminationKind::Exit,
        ] {
            assert_eq!(cause(kind), "plugin", "{kind:?}");
        }
    }
}
