//! The flusher: the one thread that writes the lake. It turns sealed WAL
//! segments into Parquet files (one per partition the segment touches),
//! deletes each segment once its files are durable, and compacts between
//! flushes. Being the only writer, it needs no locks on the lake.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use duckdb::Connection;
use mallard_core::event::Event;
use mallard_core::lake::partition_dir;
use mallard_core::time::{Date, now_micros};

use crate::files::sync_dir;
use crate::ingest::handoff::{FlushStats, Sealed};
use crate::ingest::wal::segment_path;
use crate::lake::read_partition;
use crate::lake::writer::write_file;
use crate::metrics::Metrics;
use crate::{lake::compactor, log};

pub struct FlusherOptions {
    pub lake_dir: PathBuf,
    pub wal_dir: PathBuf,
    pub compact_files: usize,
    pub flush_interval: Duration,
    /// Told about each flushed segment (its hot files are stale then).
    pub hot: Option<std::sync::mpsc::Sender<crate::ingest::hot::HotMsg>>,
    /// Told which sites' data changed when no hot files announce it.
    pub stats: Arc<crate::query::stats::Stats>,
    /// Held while the lake is written: erase and retention take it too.
    pub lake_lock: Arc<std::sync::Mutex<()>>,
    /// Erased events still in the WAL are dropped here.
    pub erasures: Arc<crate::lake::erase::Erasures>,
    /// A shared lake takes the segments instead of `lake_dir` (which then
    /// holds only hot files); its maintainer compacts it.
    pub shared: Option<Arc<crate::lake::shared::Shared>>,
}

/// Writes one sealed segment's events: a file per partition not already
/// holding them (a retry after a crash skips finished partitions), or one
/// commit to a shared lake (skipped if it is there), then deletes the segment.
pub fn flush(
    lake_dir: &Path,
    shared: Option<&crate::lake::shared::Shared>,
    wal_dir: &Path,
    seq: u64,
    events: &[Event],
) -> io::Result<usize> {
    if let Some(shared) = shared {
        let stored = shared.commit(seq, events)?;
        remove_segment(wal_dir, seq)?;
        return Ok(usize::from(stored));
    }
    let mut by_partition: BTreeMap<(String, Date), Vec<Event>> = BTreeMap::new();
    for e in events {
        by_partition.entry((e.site.clone(), e.date())).or_default().push(e.clone());
    }
    let mut files = 0;
    for ((site, date), mut events) in by_partition {
        let dir = lake_dir.join(partition_dir(&site, date));
        if dir.exists() && read_partition(&site, date, &dir)?.covers(seq) {
            continue;
        }
        write_file(&dir, seq, seq, &mut events)?;
        files += 1;
    }
    remove_segment(wal_dir, seq)?;
    Ok(files)
}

fn remove_segment(wal_dir: &Path, seq: u64) -> io::Result<()> {
    match std::fs::remove_file(segment_path(wal_dir, seq)) {
        Ok(()) => sync_dir(wal_dir),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Starts the flusher thread; it ends when `sealed` disconnects and every
/// sealed segment has been written.
pub fn start(
    opts: FlusherOptions,
    sealed: Receiver<Sealed>,
    db: Connection,
    metrics: Arc<Metrics>,
    stats: Arc<FlushStats>,
    stopping: Arc<AtomicBool>,
) -> io::Result<JoinHandle<()>> {
    stats.healthy.store(true, Ordering::Relaxed);
    std::thread::Builder::new().name("flusher".into()).spawn(move || {
        let mut last_compaction = Instant::now() - Duration::from_secs(3600);
        // A pass that merged may have made a higher tier full: look again soon.
        let mut merged = false;
        loop {
            let wait = if merged { Duration::from_millis(10) } else { Duration::from_secs(5) };
            match sealed.recv_timeout(wait) {
                Ok(segment) => {
                    let _lake = opts.lake_lock.lock().unwrap_or_else(|e| e.into_inner());
                    write_with_retry(&opts, segment, &metrics, &stats, &stopping)
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            // Compact after flushes, and at least every minute (a day ending
            // closes partitions without any flush).
            merged = false;
            let due =
                last_compaction.elapsed() >= Duration::from_secs(60) || stats.pending.load(Ordering::Relaxed) == 0;
            if due && opts.shared.is_none() {
                let open_since = Date::of_micros(now_micros() - 2 * opts.flush_interval.as_micros() as i64);
                let _lake = opts.lake_lock.lock().unwrap_or_else(|e| e.into_inner());
                match compactor::run(&db, &opts.lake_dir, open_since, opts.compact_files, &metrics) {
                    Ok(n) => merged = n > 0,
                    Err(e) => log::error("compaction failed; will retry", &[("error", &e)]),
                }
                last_compaction = Instant::now();
            }
        }
    })
}

fn write_with_retry(
    opts: &FlusherOptions,
    segment: Sealed,
    metrics: &Metrics,
    stats: &FlushStats,
    stopping: &AtomicBool,
) {
    let mut delay = Duration::from_millis(200);
    loop {
        let started = Instant::now();
        if let Some(shared) = &opts.shared {
            // Other collectors' erases, too (the commit fails anyway while
            // PostgreSQL is unreachable).
            if let Ok(rules) = crate::lake::catalog::recent_erasures(shared.catalog()) {
                rules.into_iter().for_each(|r| opts.erasures.add(r));
            }
        }
        let events = opts.erasures.filter(&segment.events);
        match flush(&opts.lake_dir, opts.shared.as_deref(), &opts.wal_dir, segment.seq, &events) {
            Ok(files) => {
                metrics.flush_duration.observe(started.elapsed());
                metrics.inc("mallard_flushes_total", "", 1.0);
                metrics.inc("mallard_flushed_events_total", "", segment.events.len() as f64);
                stats.last_flush.store(now_micros(), Ordering::Relaxed);
                stats.pending.fetch_sub(segment.events.len() as i64, Ordering::Relaxed);
                stats.healthy.store(true, Ordering::Relaxed);
                *stats.last_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
                // The segment's hot files are stale now: deleted after a grace.
                if let Some(hot) = &opts.hot {
                    let _ = hot.send(crate::ingest::hot::HotMsg::Flushed(segment.seq));
                }
                log::info(
                    "flushed",
                    &[("segment", &segment.seq), ("events", &segment.events.len()), ("files", &files)],
                );
                return;
            }
            Err(e) => {
                stats.healthy.store(false, Ordering::Relaxed);
                *stats.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
                log::error(
                    "flush failed; the events stay in the write-ahead log, retrying",
                    &[("segment", &segment.seq), ("error", &e)],
                );
                if stopping.load(Ordering::Relaxed) {
                    // Shutting down: the segment stays in the WAL and the
                    // next start-up's recovery writes it.
                    return;
                }
                // Retrying this segment before taking the next keeps flushes in order.
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}
