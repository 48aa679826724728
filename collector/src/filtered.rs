//! What the collector filtered out, by day: events dropped on purpose by
//! reason (bot, unknown-site, localhost, rate-limited) and requests rejected
//! by status (400 malformed, 413 too large, 503 shed). The counters live in
//! `Metrics`; every 30 s (and when asked, and at shutdown) their growth since
//! the last look is added to the UTC day's entry of the settings store's
//! document `filtered`, so the numbers outlive restarts and, on a shared
//! lake, add up over every collector. 90 days are kept.

use std::collections::BTreeMap;
use std::io;
use std::sync::Mutex;

use mallard_core::time::{Date, now_micros};
use serde::{Deserialize, Serialize};

use crate::metrics::Metrics;
use crate::store::{Doc, Store};

/// Days kept.
const KEEP_DAYS: i64 = 90;

/// One day's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Day {
    /// Reason → events.
    pub dropped: BTreeMap<String, u64>,
    /// HTTP status → requests.
    pub rejected: BTreeMap<String, u64>,
}

/// The two counters and the label each carries.
const COUNTERS: [(&str, &str); 2] =
    [("mallard_events_dropped_total", "reason"), ("mallard_events_rejected_total", "status")];

pub struct Filtered {
    doc: Doc<BTreeMap<String, Day>>,
    /// The counters' values at the last look.
    seen: Mutex<BTreeMap<(usize, String), f64>>,
}

/// `reason="bot"` → `bot`.
fn label_value(labels: &str) -> String {
    labels.split_once('=').map_or(labels, |(_, v)| v).trim_matches('"').to_string()
}

impl Filtered {
    pub fn open(store: &Store) -> io::Result<Filtered> {
        Ok(Filtered { doc: store.open("filtered")?, seen: Mutex::new(BTreeMap::new()) })
    }

    /// Adds what the counters grew by since the last look to today's entry.
    pub fn record(&self, metrics: &Metrics) -> io::Result<()> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let mut grown = Day::default();
        let mut now_seen = seen.clone();
        for (i, (name, _)) in COUNTERS.iter().enumerate() {
            for (labels, value) in metrics.counter_series(name) {
                let before = seen.get(&(i, labels.clone())).copied().unwrap_or(0.0);
                let delta = (value - before).max(0.0) as u64;
                if delta > 0 {
                    let map = if i == 0 { &mut grown.dropped } else { &mut grown.rejected };
                    *map.entry(label_value(&labels)).or_default() += delta;
                }
                now_seen.insert((i, labels), value);
            }
        }
        if grown == Day::default() {
            return Ok(());
        }
        let today = Date::of_micros(now_micros());
        let oldest = Date::from_days(today.to_days() - KEEP_DAYS + 1).to_string();
        self.doc.update(|days| {
            let day = days.entry(today.to_string()).or_default();
            for (k, v) in grown.dropped {
                *day.dropped.entry(k).or_default() += v;
            }
            for (k, v) in grown.rejected {
                *day.rejected.entry(k).or_default() += v;
            }
            days.retain(|date, _| *date >= oldest);
        })?;
        // Only once stored: a failed write is retried with the next look.
        *seen = now_seen;
        Ok(())
    }

    /// The last `days` days that have counts, newest first.
    pub fn days(&self, days: usize) -> Vec<(String, Day)> {
        self.doc.read(|all| all.iter().rev().take(days).map(|(d, c)| (d.clone(), c.clone())).collect())
    }
}
