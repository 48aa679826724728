//! Prometheus metrics (`GET /metrics`, text format 0.0.4): counters with
//! labels and latency histograms, kept in memory.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// Upper bounds of the latency histograms, in seconds.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A latency histogram.
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// One atomic add for the bucket (cumulated when rendered), one for the
    /// count and one for the sum: cheap enough for every request.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|bound| secs <= *bound) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (bucket, bound) in self.buckets.iter().zip(BUCKETS) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

/// Request counts and latency of one route.
#[derive(Default)]
struct RouteStats {
    statuses: Mutex<BTreeMap<u16, u64>>,
    latency: Histogram,
}

/// Every metric the collector exports.
#[derive(Default)]
pub struct Metrics {
    /// (metric, labels) → value
    counters: Mutex<BTreeMap<(&'static str, String), f64>>,
    gauges: Mutex<BTreeMap<&'static str, f64>>,
    /// Per route: requests by status, and latency. Read-locked on the hot path.
    requests: RwLock<BTreeMap<&'static str, Arc<RouteStats>>>,
    pub flush_duration: Histogram,
    pub wal_fsync: Histogram,
    pub compaction_duration: Histogram,
}

const HELP: &[(&str, &str, &str)] = &[
    ("mallard_events_accepted_total", "counter", "Events written to the write-ahead log."),
    ("mallard_events_dropped_total", "counter", "Events dropped on purpose, by reason."),
    ("mallard_events_rejected_total", "counter", "Requests rejected as malformed (4xx) or unavailable (5xx)."),
    ("mallard_flushes_total", "counter", "Parquet flushes."),
    ("mallard_flushed_events_total", "counter", "Events written to Parquet by flushes."),
    ("mallard_compaction_runs_total", "counter", "Partition merges."),
    ("mallard_retention_partitions_deleted_total", "counter", "Partitions deleted by the retention job."),
];

impl Metrics {
    pub fn inc(&self, name: &'static str, labels: &str, by: f64) {
        *lock(&self.counters).entry((name, labels.to_string())).or_default() += by;
    }

    /// Every series of counter `name`: its labels (`reason="bot"`) → value.
    pub fn counter_series(&self, name: &str) -> BTreeMap<String, f64> {
        lock(&self.counters).iter().filter(|((n, _), _)| *n == name).map(|((_, l), v)| (l.clone(), *v)).collect()
    }

    pub fn set_gauge(&self, name: &'static str, value: f64) {
        lock(&self.gauges).insert(name, value);
    }

    /// Records one HTTP request.
    pub fn request(&self, route: &'static str, status: u16, took: Duration) {
        let existing = self.requests.read().unwrap_or_else(|e| e.into_inner()).get(route).cloned();
        let stats = match existing {
            Some(s) => s,
            None => self.requests.write().unwrap_or_else(|e| e.into_inner()).entry(route).or_default().clone(),
        };
        *lock(&stats.statuses).entry(status).or_default() += 1;
        stats.latency.observe(took);
    }

    /// The current value of a counter (for tests and `/health/detailed`).
    pub fn counter(&self, name: &'static str, labels: &str) -> f64 {
        lock(&self.counters).get(&(name, labels.to_string())).copied().unwrap_or_default()
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters = lock(&self.counters).clone();
        for (name, kind, help) in HELP {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            let mut any = false;
            for ((n, labels), v) in counters.iter().filter(|((n, _), _)| n == name) {
                any = true;
                if labels.is_empty() {
                    let _ = writeln!(out, "{n} {v}");
                } else {
                    let _ = writeln!(out, "{n}{{{labels}}} {v}");
                }
            }
            if !any && !name.contains("dropped") && !name.contains("rejected") {
                let _ = writeln!(out, "{name} 0");
            }
        }
        for (name, value) in lock(&self.gauges).iter() {
            let _ = writeln!(out, "# TYPE {name} gauge\n{name} {value}");
        }
        let requests = self.requests.read().unwrap_or_else(|e| e.into_inner()).clone();
        let _ = writeln!(out, "# HELP mallard_http_requests_total HTTP requests by route and status.");
        let _ = writeln!(out, "# TYPE mallard_http_requests_total counter");
        for (route, stats) in &requests {
            for (status, n) in lock(&stats.statuses).iter() {
                let _ = writeln!(out, "mallard_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}");
            }
        }
        let _ = writeln!(out, "# HELP mallard_http_request_duration_seconds HTTP request latency by route.");
        let _ = writeln!(out, "# TYPE mallard_http_request_duration_seconds histogram");
        for (route, stats) in &requests {
            stats.latency.render(&mut out, "mallard_http_request_duration_seconds", &format!("route=\"{route}\""));
        }
        for (name, help, hist) in [
            ("mallard_flush_duration_seconds", "Time to write one flush to Parquet.", &self.flush_duration),
            ("mallard_wal_fsync_duration_seconds", "Write-ahead log fsync latency.", &self.wal_fsync),
            ("mallard_compaction_duration_seconds", "Time to merge one partition.", &self.compaction_duration),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
            hist.render(&mut out, name, "");
        }
        out
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.inc("mallard_events_dropped_total", "reason=\"bot\"", 2.0);
        m.request("/api/event", 202, Duration::from_millis(3));
        m.wal_fsync.observe(Duration::from_micros(700));
        let text = m.render();
        assert!(text.contains("mallard_events_dropped_total{reason=\"bot\"} 2"));
        assert!(text.contains("mallard_http_requests_total{route=\"/api/event\",status=\"202\"} 1"));
        assert!(text.contains("mallard_http_request_duration_seconds_bucket{route=\"/api/event\",le=\"0.005\"} 1"));
        assert!(text.contains("mallard_wal_fsync_duration_seconds_count 1"));
        assert!(text.contains("mallard_compaction_runs_total 0"));
    }
}
