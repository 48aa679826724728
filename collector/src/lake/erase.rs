//! Removing data on purpose: a site's events in a date range, all events of
//! one visitor id (GDPR erasure), and partitions past the retention period.
//!
//! An erase reaches every file that holds events: lake files, rollups, hot
//! files and write-ahead log segments not yet flushed. Each affected file is
//! rewritten to a temp file without the erased rows, fsync'd and renamed over
//! the old one (atomic for readers; a crash leaves either file whole, and no
//! other event is lost). Lake files are rewritten here, under the lake lock,
//! so it never races the flusher or compaction; WAL segments by the WAL
//! writer and hot files by the hot thread, the only writers of those files
//! (see `App::erase`). Events already on their way (in a request, a sealed
//! segment in memory, a hot batch) are dropped on the way by the erase's
//! [`Rule`], kept in [`Erasures`]. Rollups of a rewritten day are deleted:
//! queries compute the day from its events, and compaction writes them again.

use std::io;
use std::path::Path;
use std::sync::Mutex;

use duckdb::Connection;
use mallard_core::event::Event;
use mallard_core::time::{Date, MICROS_PER_DAY, now_micros};

use crate::files::sync_dir;
use crate::lake;
use crate::lake::writer::copy_into_place;
use crate::query::db::quote;

/// What to erase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub site: String,
    pub from: Date,
    pub to: Date,
    /// `None` = every event of the site in the range.
    pub visitor: Option<u64>,
    /// The visitor as [`visitor_digest`] names it: how an erase recorded in a
    /// shared lake's catalog names the visitor (never by the id itself).
    pub visitor_digest: Option<String>,
    /// Only events received before this time (µs): the erase's own time.
    pub before: i64,
}

impl Rule {
    /// Whether the rule erases `e`.
    pub fn matches(&self, e: &Event) -> bool {
        let date = Date::of_micros(e.ts);
        e.site == self.site
            && e.ts < self.before
            && date >= self.from
            && date <= self.to
            && self.visitor.is_none_or(|v| v == e.visitor_id)
            && self.visitor_digest.as_ref().is_none_or(|d| *d == visitor_digest(e.visitor_id))
    }

    /// [`Rule::matches`] as a SQL condition on lake columns. Every value in
    /// it is a number or a site already validated as a host name.
    pub fn sql(&self) -> String {
        let mut visitor = self.visitor.map(|v| format!(" AND visitor_id = {v}")).unwrap_or_default();
        if let Some(d) = &self.visitor_digest {
            // Hex digits only (checked when read from the catalog).
            visitor.push_str(&format!(" AND sha256('{DIGEST_PREFIX}' || CAST(visitor_id AS VARCHAR)) = '{d}'"));
        }
        format!(
            "site = {} AND ts < make_timestamp({}) AND CAST(ts AS DATE) BETWEEN DATE '{}' AND DATE '{}'{visitor}",
            quote(&self.site),
            self.before,
            self.from,
            self.to
        )
    }
}

const DIGEST_PREFIX: &str = "mallard-erase:";

/// SHA-256 of a visitor id, hex: equal to DuckDB's
/// `sha256('mallard-erase:' || CAST(visitor_id AS VARCHAR))`.
pub fn visitor_digest(visitor: u64) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(format!("{DIGEST_PREFIX}{visitor}").as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Rules applied to events acknowledged before an erase, wherever they
/// are on their way to the lake (WAL commit, hot batch, flush).
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
        if !rules.contains(&rule) {
            rules.push(rule);
        }
    }

    /// `events` without the erased ones (borrowed when none is erased).
    pub fn filter<'a>(&self, events: &'a [Event]) -> std::borrow::Cow<'a, [Event]> {
        let rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        if rules.is_empty() || !events.iter().any(|e| rules.iter().any(|r| r.matches(e))) {
            return std::borrow::Cow::Borrowed(events);
        }
        std::borrow::Cow::Owned(events.iter().filter(|e| !rules.iter().any(|r| r.matches(e))).cloned().collect())
    }

    /// [`Erasures::filter`] for events the caller owns: none is copied.
    pub fn retain(&self, mut events: Vec<Event>) -> Vec<Event> {
        let rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        if !rules.is_empty() {
            events.retain(|e| !rules.iter().any(|r| r.matches(e)));
        }
        events
    }
}

/// What an erase did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub partitions: usize,
    /// Lake files rewritten.
    pub files_rewritten: usize,
    /// Every erased event, once: lake rows plus `wal_rows_removed`.
    pub rows_removed: u64,
    /// Events erased from the write-ahead log before their flush.
    pub wal_rows_removed: u64,
    pub wal_segments_rewritten: usize,
    pub hot_files_rewritten: usize,
}

fn to_io(e: duckdb::Error) -> io::Error {
    io::Error::other(e.to_string())
}

fn count(db: &Connection, path: &str, filter: &str) -> io::Result<u64> {
    db.query_row(&format!("SELECT count(*) FROM read_parquet({}) WHERE {filter}", quote(path)), [], |r| r.get(0))
        .map_err(to_io)
}

/// Rewrites one Parquet file (lake or hot) without the rows `rule` erases:
/// temp file, fsync, rename over, fsync the directory. Returns the rows
/// removed (0: the file is untouched).
pub fn rewrite_file(db: &Connection, path: &Path, rule: &Rule) -> io::Result<u64> {
    let shown = path.to_string_lossy();
    let erased = rule.sql();
    let n = count(db, &shown, &erased)?;
    if n == 0 {
        return Ok(0);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.erase.tmp", path.file_name().unwrap_or_default().to_string_lossy()));
    let query = format!("SELECT * FROM read_parquet({}) WHERE NOT ({erased})", quote(&shown));
    copy_into_place(db, &query, &tmp, path)?;
    sync_dir(dir)?;
    Ok(n)
}

/// A private in-memory DuckDB for rewriting files.
pub fn connection() -> io::Result<Connection> {
    Connection::open_in_memory().map_err(to_io)
}

/// Applies `rule` to the lake files and rollups (the caller holds the lake
/// lock). Hot files and the WAL are their writers' to rewrite.
pub fn erase(lake_dir: &Path, rule: &Rule) -> io::Result<Outcome> {
    let db = connection()?;
    let mut out = Outcome::default();
    for partition in lake::scan(lake_dir)? {
        if partition.site != rule.site || partition.date < rule.from || partition.date > rule.to {
            continue;
        }
        // Files a reader skips (left by a merge a crash cut short) hold the
        // same events as a visible one: erased too, counted once.
        let visible: Vec<&Path> = partition.visible().iter().map(|f| f.path.as_path()).collect();
        if rule.visitor.is_none() {
            // Every event of the site on these days: the whole partition
            // goes, hot files with it.
            for path in &visible {
                out.rows_removed += count(&db, &path.to_string_lossy(), "true")?;
            }
            std::fs::remove_dir_all(&partition.dir)?;
            out.partitions += 1;
            continue;
        }
        let mut touched = false;
        for f in &partition.files {
            let n = rewrite_file(&db, &f.path, rule)?;
            if n > 0 {
                if visible.contains(&f.path.as_path()) {
                    out.rows_removed += n;
                }
                out.files_rewritten += 1;
                touched = true;
            }
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

#[cfg(test)]
mod tests {
    #[test]
    fn a_recorded_erase_names_its_visitor_by_a_digest_duckdb_computes_alike() {
        let con = duckdb::Connection::open_in_memory().unwrap();
        let v: u64 = 18_446_744_073_709_551_615;
        let sql: String = con
            .query_row("SELECT sha256('mallard-erase:' || CAST(CAST(? AS UBIGINT) AS VARCHAR))", [v.to_string()], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(super::visitor_digest(v), sql);
        assert!(!super::visitor_digest(v).contains(&v.to_string()));
    }
}
