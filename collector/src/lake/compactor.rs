//! Compaction: merges a partition's small Parquet files into fewer, larger
//! ones, so a day ends as one file per partition and queries open few files.
//!
//! Tiered: a file's tier is ⌊log_T(flushes it covers)⌋ with T =
//! `compact_files`; T adjacent files of one tier merge into one of the next
//! tier, so a busy day holds a few dozen files at most and each event is
//! rewritten only a few times. A closed partition (its day is over) merges
//! into a single file. Each merge writes the new file under a temp name,
//! fsyncs it, renames it into place (from then on readers skip the files it
//! replaces, see `mallard_core::lake::visible`), then deletes the old files.

use std::io;
use std::path::Path;
use std::time::Instant;

use duckdb::Connection;
use mallard_core::event::LAKE_COLUMNS;
use mallard_core::lake::{file_name, rollup_names};
use mallard_core::report::rollup_sql;
use mallard_core::time::Date;

use crate::files::sync_dir;
use crate::lake::writer::copy_into_place;
use crate::lake::{self, LakeFile, Partition};
use crate::log;
use crate::metrics::Metrics;
use crate::query::db::quote;

fn tier(f: &LakeFile, t: u64) -> u32 {
    (f.to - f.from + 1).checked_ilog(t).unwrap_or(0)
}

/// The files of `partition` to merge next, if any.
pub fn plan(partition: &Partition, closed: bool, t: usize) -> Option<Vec<LakeFile>> {
    let visible: Vec<LakeFile> = partition.visible().into_iter().cloned().collect();
    if closed {
        return (visible.len() > 1).then_some(visible);
    }
    let t = t.max(2) as u64;
    let mut start = 0;
    while start < visible.len() {
        let level = tier(&visible[start], t);
        let end = (start..visible.len()).find(|&i| tier(&visible[i], t) != level).unwrap_or(visible.len());
        if (end - start) as u64 >= t {
            return Some(visible[start..start + t as usize].to_vec());
        }
        start = end;
    }
    None
}

fn to_io(e: duckdb::Error) -> io::Error {
    io::Error::other(e.to_string())
}

/// Merges `files` (adjacent, visible files of one partition) into one.
pub fn merge(db: &Connection, dir: &Path, files: &[LakeFile]) -> io::Result<LakeFile> {
    let from = files.iter().map(|f| f.from).min().expect("at least one file");
    let to = files.iter().map(|f| f.to).max().expect("at least one file");
    let list = files.iter().map(|f| quote(&f.path.to_string_lossy())).collect::<Vec<_>>().join(", ");
    let source = format!("read_parquet([{list}], union_by_name = true, hive_partitioning = false)");
    // Files from older versions may lack later columns: select them as NULL.
    let present: Vec<String> = {
        let mut stmt =
            db.prepare(&format!("SELECT column_name FROM (DESCRIBE SELECT * FROM {source})")).map_err(to_io)?;
        stmt.query_map([], |r| r.get::<_, String>(0)).map_err(to_io)?.collect::<Result<_, _>>().map_err(to_io)?
    };
    let select = LAKE_COLUMNS
        .iter()
        .map(|c| {
            if present.iter().any(|p| p == c.name) {
                format!("CAST({0} AS {1}) AS {0}", c.name, c.ty.sql())
            } else {
                format!("CAST(NULL AS {1}) AS {0}", c.name, c.ty.sql())
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let name = file_name(from, to);
    let tmp = dir.join(format!(".{name}.tmp"));
    let path = dir.join(&name);
    let query = format!("SELECT {select} FROM {source} ORDER BY visitor_id, ts");
    let bytes = copy_into_place(db, &query, &tmp, &path)?;
    sync_dir(dir)?;
    // From here readers skip the old files; deleting them is housekeeping.
    for f in files {
        std::fs::remove_file(&f.path)?;
    }
    sync_dir(dir)?;
    Ok(LakeFile { path, from, to, bytes })
}

/// Deletes files hidden by a wider one (left behind by a crash mid-merge).
fn remove_hidden(partition: &Partition) -> io::Result<()> {
    let visible: Vec<_> = partition.visible().into_iter().map(|f| f.path.clone()).collect();
    let mut removed = false;
    for f in &partition.files {
        if !visible.contains(&f.path) {
            std::fs::remove_file(&f.path)?;
            removed = true;
        }
    }
    if removed {
        sync_dir(&partition.dir)?;
    }
    Ok(())
}

/// Writes the rollups (`.visits`, `.pages`) of a closed partition's single
/// file, and removes rollups of files that no longer exist. Queries over
/// whole days then read one row per visit instead of every event.
pub fn write_rollups(db: &Connection, partition: &Partition) -> io::Result<bool> {
    let visible = partition.visible();
    let current = match visible.as_slice() {
        [only] => Some(rollup_names(only.from, only.to)),
        _ => None,
    };
    // stale rollups (of replaced files) go
    for entry in std::fs::read_dir(&partition.dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let is_rollup = name.ends_with(".visits") || name.ends_with(".pages");
        let is_current = current.as_ref().is_some_and(|(v, p)| name == *v || name == *p);
        if is_rollup && !is_current && !name.starts_with('.') {
            std::fs::remove_file(partition.dir.join(&name))?;
        }
    }
    let (Some((visits, pages)), [file]) = (current, visible.as_slice()) else { return Ok(false) };
    if partition.dir.join(&visits).exists() && partition.dir.join(&pages).exists() {
        return Ok(false);
    }
    let path = file.path.to_string_lossy().into_owned();
    let columns: Vec<String> = {
        let mut stmt = db
            .prepare(&format!("SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet({}))", quote(&path)))
            .map_err(to_io)?;
        stmt.query_map([], |r| r.get::<_, String>(0)).map_err(to_io)?.collect::<Result<_, _>>().map_err(to_io)?
    };
    let (visits_sql, pages_sql) = rollup_sql(&path, &columns);
    for (name, sql, order) in
        [(&visits, visits_sql, "visitor_id, first_ts"), (&pages, pages_sql, "pathname, visitor_id")]
    {
        let tmp = partition.dir.join(format!(".{name}.tmp"));
        copy_into_place(db, &format!("SELECT * FROM ({sql}) ORDER BY {order}"), &tmp, &partition.dir.join(name))?;
    }
    sync_dir(&partition.dir)?;
    Ok(true)
}

/// One compaction pass over the lake. `open_since` is the first date that
/// may still receive events. Returns the number of merges done.
pub fn run(db: &Connection, lake_dir: &Path, open_since: Date, t: usize, metrics: &Metrics) -> io::Result<usize> {
    let mut merges = 0;
    for mut partition in lake::scan(lake_dir)? {
        lake::remove_temp_files(&partition, lake::TEMP_FILE_AGE)?;
        remove_hidden(&partition)?;
        loop {
            partition = lake::read_partition(&partition.site, partition.date, &partition.dir)?;
            let closed = partition.date < open_since;
            let Some(files) = plan(&partition, closed, t) else {
                if closed && write_rollups(db, &partition)? {
                    log::info("rollups written", &[("site", &partition.site), ("date", &partition.date)]);
                }
                break;
            };
            let started = Instant::now();
            let merged = merge(db, &partition.dir, &files)?;
            metrics.compaction_duration.observe(started.elapsed());
            metrics.inc("mallard_compaction_runs_total", "", 1.0);
            merges += 1;
            log::info(
                "compacted",
                &[
                    ("site", &partition.site),
                    ("date", &partition.date),
                    ("files", &files.len()),
                    ("bytes", &merged.bytes),
                ],
            );
        }
    }
    Ok(merges)
}

/// Offline: merges every partition of the lake into one file per partition
/// (`mallard-collector compact`). The caller holds the data directory lock.
pub fn compact_all(db: &Connection, lake_dir: &Path, metrics: &Metrics) -> io::Result<usize> {
    let far_future = Date { year: 9999, month: 12, day: 31 };
    run(db, lake_dir, far_future, 2, metrics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn part(ranges: &[(u64, u64)]) -> Partition {
        Partition {
            site: "a.com".into(),
            date: Date::parse("2026-11-28").unwrap(),
            dir: PathBuf::from("/x"),
            files: ranges
                .iter()
                .map(|&(from, to)| LakeFile { path: PathBuf::from(format!("/x/{from}-{to}")), from, to, bytes: 1 })
                .collect(),
        }
    }

    fn ranges(files: Option<Vec<LakeFile>>) -> Option<Vec<(u64, u64)>> {
        files.map(|f| f.iter().map(|f| (f.from, f.to)).collect())
    }

    #[test]
    fn tiers_merge_in_groups_of_t() {
        assert_eq!(ranges(plan(&part(&[(1, 1), (2, 2), (3, 3)]), false, 4)), None);
        assert_eq!(
            ranges(plan(&part(&[(1, 1), (2, 2), (3, 3), (5, 5)]), false, 4)),
            Some(vec![(1, 1), (2, 2), (3, 3), (5, 5)])
        );
        // a tier-1 file followed by three tier-0 files: nothing yet
        assert_eq!(ranges(plan(&part(&[(1, 4), (5, 5), (6, 6), (7, 7)]), false, 4)), None);
        // four tier-1 files merge
        assert_eq!(
            ranges(plan(&part(&[(1, 4), (5, 8), (9, 12), (13, 16), (17, 17)]), false, 4)),
            Some(vec![(1, 4), (5, 8), (9, 12), (13, 16)])
        );
    }

    #[test]
    fn closed_partitions_become_one_file() {
        assert_eq!(ranges(plan(&part(&[(1, 4), (5, 5)]), true, 16)), Some(vec![(1, 4), (5, 5)]));
        assert_eq!(ranges(plan(&part(&[(1, 4)]), true, 16)), None);
        // hidden files are not merged again
        assert_eq!(ranges(plan(&part(&[(1, 1), (1, 4)]), true, 16)), None);
    }
}
