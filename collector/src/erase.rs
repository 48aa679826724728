//! Removing data on purpose: a site's events in a date range, all events of
//! one visitor id (GDPR erasure), and partitions past the retention period.
//!
//! Lake files are immutable to readers, so an erase rewrites each affected
//! file to a temp file without the erased rows and renames it over the old
//! one (atomic for readers; a crash leaves either file whole). It holds the
//! lake lock, so it never races the flusher or compaction. Events still in
//! the write-ahead log when the erase runs are dropped by the flusher via
//! the erase's rule. Rollups of a rewritten day are deleted: queries compute
//! the day from its events, and compaction writes them again.

use std::io;
use std::path::Path;
use std::sync::Mutex;

use duckdb::Connection;
use mallard_core::event::Event;
use mallard_core::time::{Date, MICROS_PER_DAY, now_micros};

use crate::db::quote;
use crate::files::sync_dir;
use crate::lake;

/// What to erase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub site: String,
    pub from: Date,
    pub to: Date,
    /// `None` = every event of the site in the range.
    pub visitor: Option<u64>,
    /// Only events received before this time (µs): the erase's own time.
    pub before: i64,
}

impl Rule {
    fn matches(&self, e: &Event) -> bool {
        let date = Date::of_micros(e.ts);
        e.site == self.site
            && e.ts < self.before
            && date >= self.from
            && date <= self.to
            && self.visitor.is_none_or(|v| v == e.visitor_id)
    }
}

/// Rules the flusher applies to events acknowledged before an erase.
#[derive(Default)]
pub struct Erasures {
    rules: Mutex<Vec<Rule>>,
}

impl Erasures {
    pub fn add(&self, rule: Rule) {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        // A day is far longer than any event waits for its flush.
        let horizon = now_micros() - MICROS_PER_DAY;
        rules.retain(|r| r.before > horizon);
        rules.push(rule);
    }

    /// `events` without the erased ones (borrowed when none is erased).
    pub fn filter<'a>(&self, events: &'a [Event]) -> std::borrow::Cow<'a, [Event]> {
        let rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        if rules.is_empty() || !events.iter().any(|e| rules.iter().any(|r| r.matches(e))) {
            return std::borrow::Cow::Borrowed(events);
        }
        std::borrow::Cow::Owned(events.iter().filter(|e| !rules.iter().any(|r| r.matches(e))).cloned().collect())
    }
}

/// What an erase did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub partitions: usize,
    pub files_rewritten: usize,
    pub rows_removed: u64,
}

fn to_io(e: duckdb::Error) -> io::Error {
    io::Error::other(e.to_string())
}

fn count(db: &Connection, path: &str, filter: &str) -> io::Result<u64> {
    db.query_row(&format!("SELECT count(*) FROM read_parquet({}) WHERE {filter}", quote(path)), [], |r| r.get(0))
        .map_err(to_io)
}

/// Applies `rule` to the lake (the caller holds the lake lock).
pub fn erase(lake_dir: &Path, rule: &Rule) -> io::Result<Outcome> {
    let db = Connection::open_in_memory().map_err(to_io)?;
    let mut out = Outcome::default();
    for partition in lake::scan(lake_dir)? {
        if partition.site != rule.site || partition.date < rule.from || partition.date > rule.to {
            continue;
        }
        let Some(visitor) = rule.visitor else {
            for f in &partition.files {
                out.rows_removed += count(&db, &f.path.to_string_lossy(), "true")?;
            }
            std::fs::remove_dir_all(&partition.dir)?;
            out.partitions += 1;
            continue;
        };
        let filter = format!("visitor_id = {visitor}");
        let mut touched = false;
        for f in &partition.files {
            let path = f.path.to_string_lossy().into_owned();
            let n = count(&db, &path, &filter)?;
            if n == 0 {
                continue;
            }
            let tmp =
                partition.dir.join(format!(".{}.erase.tmp", f.path.file_name().unwrap_or_default().to_string_lossy()));
            db.execute_batch(&format!(
                "COPY (SELECT * FROM read_parquet({}) WHERE visitor_id IS DISTINCT FROM {visitor}) TO {} \
                 (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000, KV_METADATA {{'mallard.lake_format': '1'}})",
                quote(&path),
                quote(&tmp.to_string_lossy())
            ))
            .map_err(to_io)?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, &f.path)?;
            out.rows_removed += n;
            out.files_rewritten += 1;
            touched = true;
        }
        if touched {
            remove_rollups(&partition.dir)?;
            sync_dir(&partition.dir)?;
            out.partitions += 1;
        }
    }
    Ok(out)
}

fn remove_rollups(dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".visits") || name.ends_with(".pages") {
            std::fs::remove_file(dir.join(name))?;
        }
    }
    Ok(())
}

/// Drops partitions dated before `first_kept` (the caller holds the lake
/// lock). Returns (site, date) of each dropped partition.
pub fn expire(lake_dir: &Path, first_kept: Date) -> io::Result<Vec<(String, Date)>> {
    let mut dropped = Vec::new();
    for partition in lake::scan(lake_dir)? {
        if partition.date < first_kept {
            std::fs::remove_dir_all(&partition.dir)?;
            dropped.push((partition.site, partition.date));
        }
    }
    Ok(dropped)
}
