//! Sealed WAL segments on their way from the WAL writer to the flusher, and
//! what `/health/detailed` reports about them. Its own module so the WAL and
//! the flusher each depend on it and not on each other.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

use mallard_core::event::Event;

/// A segment's events, sealed and ready to be written to Parquet.
#[derive(Debug)]
pub struct Sealed {
    pub seq: u64,
    pub events: Vec<Event>,
}

/// What `/health/detailed` reports about flushing.
#[derive(Default)]
pub struct FlushStats {
    /// µs since the epoch of the last successful flush (0 = none yet).
    pub last_flush: AtomicI64,
    /// Events sealed but not yet written to Parquet.
    pub pending: AtomicI64,
    pub last_error: Mutex<Option<String>>,
    pub healthy: AtomicBool,
}

/// The WAL's way into the flusher. Events count as pending from the moment
/// they are handed off, so "acknowledged but not yet in Parquet" never dips
/// to zero while a segment travels between the two threads.
pub struct Handoff {
    tx: std::sync::mpsc::Sender<Sealed>,
    stats: Arc<FlushStats>,
}

impl Handoff {
    pub fn channel(stats: Arc<FlushStats>) -> (Handoff, Receiver<Sealed>) {
        let (tx, rx) = std::sync::mpsc::channel();
        (Handoff { tx, stats }, rx)
    }

    /// Hands a sealed segment to the flusher; false when it has stopped.
    pub fn send(&self, segment: Sealed) -> bool {
        let n = segment.events.len() as i64;
        self.stats.pending.fetch_add(n, Ordering::Relaxed);
        if self.tx.send(segment).is_err() {
            self.stats.pending.fetch_sub(n, Ordering::Relaxed);
            return false;
        }
        true
    }
}
