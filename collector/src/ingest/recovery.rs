//! Start-up recovery: finish every flush a crash interrupted, exactly once.
//!
//! Each WAL segment still on disk was acknowledged but maybe not (fully)
//! flushed. Its events are written to every partition that has no file
//! covering the segment's sequence number — partitions that were already
//! written before the crash are skipped — and then the segment is deleted.
//! Replaying twice changes nothing, so a crash during recovery is harmless.

use std::io;
use std::path::Path;

use mallard_core::event::Event;

use crate::ingest::flusher::flush;
use crate::ingest::wal::{list_segments, read_segment, segment_path};
use crate::lake;
use crate::log;

/// What recovery found.
pub struct Recovered {
    /// The first sequence number the new WAL may use.
    pub next_seq: u64,
    /// Events replayed from the WAL (to restore open visits).
    pub events: Vec<Event>,
    /// With a shared lake: the segments still to commit, for the flusher
    /// (start-up does not wait for PostgreSQL or S3).
    pub unflushed: Vec<crate::ingest::handoff::Sealed>,
}

pub fn recover(lake_dir: &Path, shared: Option<&crate::lake::shared::Shared>, wal_dir: &Path) -> io::Result<Recovered> {
    std::fs::create_dir_all(lake_dir)?;
    std::fs::create_dir_all(wal_dir)?;
    let mut max_seq = 0;
    for partition in lake::scan(lake_dir)? {
        lake::remove_temp_files(&partition, std::time::Duration::ZERO)?;
        max_seq = partition.files.iter().map(|f| f.to).fold(max_seq, u64::max);
    }
    // A shared lake holds this collector's committed segments: new ones
    // must be numbered above them.
    if let Some(shared) = shared {
        max_seq = max_seq.max(shared.last_seq()?);
    }
    let mut replayed = Vec::new();
    let mut unflushed = Vec::new();
    for seq in list_segments(wal_dir)? {
        max_seq = max_seq.max(seq);
        let (events, intact) = read_segment(&segment_path(wal_dir, seq))?;
        if !intact {
            log::warn(
                "write-ahead log segment ends in a torn record (never acknowledged); ignoring it",
                &[("segment", &seq)],
            );
        }
        if shared.is_some() {
            log::info("write-ahead log segment to commit", &[("segment", &seq), ("events", &events.len())]);
            replayed.extend(events.iter().cloned());
            unflushed.push(crate::ingest::handoff::Sealed { seq, events });
            continue;
        }
        let files = flush(lake_dir, None, wal_dir, seq, &events)?;
        log::info(
            "recovered write-ahead log segment",
            &[("segment", &seq), ("events", &events.len()), ("files", &files)],
        );
        replayed.extend(events);
    }
    // Every segment is in the lake now (or, with a shared lake, on its way
    // there and out of sight until it lands): hot files are all stale.
    crate::ingest::hot::remove_all(lake_dir)?;
    Ok(Recovered { next_seq: max_seq + 1, events: replayed, unflushed })
}
