//! The shared lake's maintainer: one collector at a time (the holder of a
//! PostgreSQL advisory lock; any other takes over when it dies) makes visit
//! ids right where all collectors' events meet, then compacts: flushes
//! inlined rows, merges small files, expires old snapshots and deletes the
//! files no snapshot needs any more; then rolls up the closed days.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use mallard_core::event::LAKE_COLUMNS;
use mallard_core::time::{Date, now_micros};

use super::catalog::MaintainerLock;
use super::shared::{Shared, SharedError, retry, transaction};
use crate::log;

/// `sql/visit_ids.sql`: the rows of a site's recent days whose visit id changes.
const VISIT_IDS: &str = include_str!("../../../sql/visit_ids.sql");

/// What one pass did.
#[derive(Debug, Default)]
pub struct Pass {
    pub sites: usize,
    pub visits_fixed: usize,
    /// Rows of recent erases that reached the lake after the erase (from a
    /// collector that had not heard of it yet).
    pub erased: u64,
    /// Days whose rollups were made (again).
    pub rolled_up: usize,
}

/// Applies the last day's erases again: a collector may have committed a
/// matching event between the erase and its next look at the erases.
/// Returns the rows deleted, and whether any erase is that recent.
pub fn erase_late(shared: &Shared) -> Result<(u64, bool), SharedError> {
    let mut erased = 0;
    let rules = super::catalog::recent_erasures(shared.catalog())?;
    for rule in &rules {
        erased += shared.delete(rule)?;
    }
    Ok((erased, !rules.is_empty()))
}

/// Makes visit ids right for the last two UTC days of every site (a visit
/// may cross midnight), one transaction per site.
pub fn fix_visits(shared: &Shared) -> Result<Pass, SharedError> {
    let today = Date::of_micros(now_micros());
    let first = Date::from_days(today.to_days() - 1);
    let (first, last) = (first.to_string(), today.to_string());
    let sites: Vec<String> = shared.with(|con| {
        let mut stmt = con
            .prepare("SELECT DISTINCT site FROM lake.events WHERE date BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)")?;
        Ok(stmt.query_map([&first, &last], |r| r.get(0))?.collect::<Result<_, _>>()?)
    })?;
    let mut pass = Pass { sites: sites.len(), ..Pass::default() };
    for site in sites {
        pass.visits_fixed += retry(|| fix_site(shared, &site, &first, &last))?;
    }
    Ok(pass)
}

/// One site's pass, in one transaction.
fn fix_site(shared: &Shared, site: &str, first: &str, last: &str) -> Result<usize, SharedError> {
    let changes = VISIT_IDS.replace("{{events}}", "lake.events");
    shared.with(|con| {
        transaction(con, || -> Result<usize, SharedError> {
            con.execute_batch("DROP TABLE IF EXISTS temp.visit_changes")?;
            con.execute(&format!("CREATE TEMP TABLE visit_changes AS {changes}"), duckdb::params![site, first, last])?;
            Ok(con.execute(
                "UPDATE lake.events SET visit_id = c.visit_id FROM temp.visit_changes c WHERE lake.events.rowid = c.rid",
                [],
            )?)
        })
    })
}

/// Forgets commits older than a week, keeping each collector's newest
/// (its WAL numbers new segments above it): a segment is replayed only
/// while it is still in a WAL, which a collector empties at its next start.
pub fn prune_commits(shared: &Shared) -> Result<usize, SharedError> {
    retry(|| {
        shared.with(|con| {
            Ok(con.execute(
                "DELETE FROM lake.mallard_commits WHERE committed_at < now() - INTERVAL 7 DAY \
                 AND (collector, seq) NOT IN (SELECT collector, max(seq) FROM lake.mallard_commits GROUP BY ALL)",
                [],
            )?)
        })
    })
}

/// The rollup tables (`visit_rollups`, `page_rollups`): per site and UTC
/// day, the rows of `sql/visit_rows.sql` and `sql/page_rows.sql`, and the
/// fingerprint of the event files they were made from. Readers use a day's
/// rows only while its files still match, so a late event, a visit pass or
/// an erase never makes a number stale; the next pass makes them again.
const ROLLUP_TABLES: [&str; 2] = ["visit_rollups", "page_rollups"];

/// Makes the rollups of every closed day (before today, UTC) whose files
/// changed since, and drops those of days that are gone. Returns the days
/// rolled up.
pub fn roll_up(shared: &Shared) -> Result<usize, SharedError> {
    let columns: Vec<String> = LAKE_COLUMNS.iter().map(|c| c.name.to_string()).collect();
    let today = Date::of_micros(now_micros()).to_string();
    let (snapshot, current, stored) = shared.with(|con| {
        ensure_rollup_tables(con, &columns)?;
        let snapshot: i64 =
            con.query_row("SELECT max(snapshot_id) FROM ducklake_snapshots('lake')", [], |r| r.get(0))?;
        let mut current: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        let mut stmt = con.prepare(&format!(
            "SELECT data_file, data_file || '|' || coalesce(delete_file, '') \
             FROM ducklake_list_files('lake', 'events', snapshot_version => {snapshot})"
        ))?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (data, file) = row?;
            if let Some((site, date)) = mallard_core::lake::partition_of(&data)
                && date < today.as_str()
            {
                current.entry((site.to_string(), date.to_string())).or_default().push(file);
            }
        }
        let mut stmt = con.prepare(&format!(
            "SELECT DISTINCT site, CAST(date AS VARCHAR), files FROM lake.visit_rollups AT (VERSION => {snapshot})"
        ))?;
        let stored: BTreeMap<(String, String), String> =
            stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?.collect::<Result<_, _>>()?;
        Ok((snapshot, current, stored))
    })?;
    let mut rolled = 0;
    for ((site, date), files) in &current {
        let fingerprint = mallard_core::report::files_fingerprint(files);
        if stored.get(&(site.clone(), date.clone())) != Some(&fingerprint) {
            retry(|| roll_up_day(shared, snapshot, site, date, Some(&fingerprint), &columns))?;
            rolled += 1;
        }
    }
    for (site, date) in stored.keys().filter(|k| !current.contains_key(*k)) {
        retry(|| roll_up_day(shared, snapshot, site, date, None, &columns))?;
    }
    Ok(rolled)
}

/// Whether the shared lake has table `table`.
fn table_exists(con: &duckdb::Connection, table: &str) -> Result<bool, SharedError> {
    Ok(con.query_row(
        "SELECT count(*) > 0 FROM duckdb_tables() WHERE database_name = 'lake' AND table_name = ?",
        [table],
        |r| r.get(0),
    )?)
}

fn ensure_rollup_tables(con: &duckdb::Connection, columns: &[String]) -> Result<(), SharedError> {
    let (visits, pages) = mallard_core::report::rollup_sql_of("lake.events LIMIT 0", columns);
    for (table, sql) in ROLLUP_TABLES.iter().zip([visits, pages]) {
        let exists = table_exists(con, table)?;
        if !exists {
            retry(|| {
                con.execute_batch(&format!(
                    "CREATE TABLE IF NOT EXISTS lake.{table} AS SELECT *, CAST(NULL AS VARCHAR) AS site, \
                     CAST(NULL AS DATE) AS date, CAST(NULL AS VARCHAR) AS files FROM ({sql}) LIMIT 0; \
                     ALTER TABLE lake.{table} SET PARTITIONED BY (site, date); \
                     CALL lake.set_option('data_inlining_row_limit', 0, table_name => '{table}');"
                ))
                .map_err(SharedError::from)
            })?;
        }
    }
    Ok(())
}

/// Replaces one day's rollups (or just drops them, without a fingerprint),
/// from the events of `snapshot`, in one transaction.
fn roll_up_day(
    shared: &Shared,
    snapshot: i64,
    site: &str,
    date: &str,
    fingerprint: Option<&str>,
    columns: &[String],
) -> Result<(), SharedError> {
    let quoted = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let day = format!("site = {} AND date = CAST({} AS DATE)", quoted(site), quoted(date));
    let (visits, pages) =
        mallard_core::report::rollup_sql_of(&format!("lake.events AT (VERSION => {snapshot}) WHERE {day}"), columns);
    shared.with(|con| {
        transaction(con, || -> Result<(), SharedError> {
            for (table, sql) in ROLLUP_TABLES.iter().zip([&visits, &pages]) {
                con.execute_batch(&format!("DELETE FROM lake.{table} WHERE {day}"))?;
                if let Some(f) = fingerprint {
                    con.execute_batch(&format!(
                        "INSERT INTO lake.{table} SELECT *, {}, CAST({} AS DATE), {} FROM ({sql})",
                        quoted(site),
                        quoted(date),
                        quoted(f)
                    ))?;
                }
            }
            Ok(())
        })
    })
}

/// Drops the rollups of `site`'s days `from..=to` (an erase: they may hold
/// the erased visitor; the next pass makes them again from what is left).
pub fn drop_rollups(con: &duckdb::Connection, site: &str, from: Date, to: Date) -> Result<(), SharedError> {
    for table in ROLLUP_TABLES {
        let exists = table_exists(con, table)?;
        if exists {
            con.execute(
                &format!(
                    "DELETE FROM lake.{table} WHERE site = ? AND date BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)"
                ),
                duckdb::params![site, from.to_string(), to.to_string()],
            )?;
        }
    }
    Ok(())
}

/// How much of the lake's history a compaction deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Snapshots and replaced files older than 10 minutes (queries that
    /// began on an older snapshot still read them).
    Grace,
    /// As `Grace`, and files no commit adopted (a commit that failed after
    /// writing them, e.g. during an outage) once a minute old: for a day
    /// after an erase, as they may hold erased rows.
    Erasing,
    /// Every older snapshot and every file only they held, at once: an erase.
    All,
}

/// DuckLake's own maintenance.
pub fn compact(shared: &Shared, expiry: Expiry) -> Result<(), SharedError> {
    retry(|| compact_once(shared, expiry))
}

fn compact_once(shared: &Shared, expiry: Expiry) -> Result<(), SharedError> {
    shared.with(|con| {
        // Files with deleted rows (a visit pass, an erase) are rewritten
        // first: DuckLake merges only files without deletes.
        con.execute_batch(
            "CALL ducklake_flush_inlined_data('lake'); \
             CALL ducklake_rewrite_data_files('lake', delete_threshold => 0); \
             CALL ducklake_merge_adjacent_files('lake');",
        )?;
        let (snapshots, files) = match expiry {
            Expiry::All => ("now() + INTERVAL 1 SECOND", "now() + INTERVAL 1 SECOND"),
            _ => ("now() - INTERVAL 10 MINUTE", "now() - INTERVAL 10 MINUTE"),
        };
        // A file no commit adopted is younger than a minute only while its
        // commit may still be on its way.
        let orphans = if expiry == Expiry::Grace { "now() - INTERVAL 10 MINUTE" } else { "now() - INTERVAL 1 MINUTE" };
        con.execute_batch(&format!(
            "CALL ducklake_expire_snapshots('lake', older_than => {snapshots}); \
             CALL ducklake_cleanup_old_files('lake', older_than => {files}); \
             CALL ducklake_delete_orphaned_files('lake', older_than => {orphans});"
        ))?;
        Ok(())
    })
}

/// Starts the thread that tries to become the maintainer and, while it is,
/// runs a pass every `interval`; `holding` tells whether it is (the
/// maintainer alone also sends email digests).
pub fn start(
    shared: Arc<Shared>,
    catalog: String,
    interval: Duration,
    stopping: Arc<AtomicBool>,
    holding: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("maintainer".into()).spawn(move || {
        let mut lock: Option<MaintainerLock> = None;
        let mut last = Instant::now() - interval;
        while !stopping.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200));
            if last.elapsed() < interval {
                continue;
            }
            last = Instant::now();
            if lock.as_mut().is_some_and(|l| !l.alive()) {
                log::warn("lost the maintainer lock (PostgreSQL session ended)", &[]);
                lock = None;
                holding.store(false, Ordering::Relaxed);
            }
            if lock.is_none() {
                match MaintainerLock::try_take(&catalog) {
                    Ok(Some(l)) => {
                        log::info("this collector is the shared lake's maintainer now", &[]);
                        lock = Some(l);
                        holding.store(true, Ordering::Relaxed);
                    }
                    Ok(None) => continue,
                    Err(e) => {
                        log::warn("cannot reach the shared lake's catalog for maintenance", &[("error", &e)]);
                        continue;
                    }
                }
            }
            let started = Instant::now();
            let result = erase_late(&shared).and_then(|(erased, erasing)| {
                let pass = fix_visits(&shared)?;
                prune_commits(&shared)?;
                compact(
                    &shared,
                    if erased > 0 {
                        Expiry::All
                    } else if erasing {
                        Expiry::Erasing
                    } else {
                        Expiry::Grace
                    },
                )?;
                let rolled_up = roll_up(&shared)?;
                Ok(Pass { erased, rolled_up, ..pass })
            });
            match result {
                Ok(pass) => log::info(
                    "shared lake maintained",
                    &[
                        ("sites", &pass.sites),
                        ("visit_rows_fixed", &pass.visits_fixed),
                        ("rows_erased", &pass.erased),
                        ("days_rolled_up", &pass.rolled_up),
                        ("ms", &started.elapsed().as_millis()),
                    ],
                ),
                Err(e) => log::warn("shared lake maintenance failed; will retry", &[("error", &e)]),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::VISIT_IDS;

    /// `sql/visit_ids.sql` on a plain DuckDB table, expectations by hand.
    #[test]
    fn visits_split_by_the_30_minute_rule_and_keep_their_first_id() {
        let con = duckdb::Connection::open_in_memory().unwrap();
        // (visitor, minute, visit id as ingested, name)
        let rows = [
            (1, 0, 11, "pageview"),
            (1, 10, 12, "pageview"),    // same visit as 0: gets 11
            (1, 40, 11, "pageview"),    // exactly 30 min after 10: continues, already right
            (1, 45, 99, "engagement"),  // follows 40: joins visit 11
            (1, 80, 13, "pageview"),    // 40 min gap: a new visit, keeps its own 13
            (1, 81, 14, "custom"),      // joins 13
            (1, 200, 15, "engagement"), // 120 min after the last event: left alone
            (2, 5, 21, "pageview"),     // another visitor, one event: untouched
            (2, 6, 11, "pageview"),     // same visitor, another collector's id: gets 21
        ];
        con.execute_batch(
            "CREATE TABLE events (site VARCHAR, date DATE, visitor_id UBIGINT, ts TIMESTAMP, visit_id UBIGINT, name VARCHAR)",
        )
        .unwrap();
        for (visitor, minute, visit, name) in rows {
            con.execute(
                "INSERT INTO events VALUES ('a.com', DATE '2026-12-04', ?, TIMESTAMP '2026-12-04 08:00' + to_minutes(?), ?, ?)",
                duckdb::params![visitor as u64, minute as i64, visit as u64, name],
            )
            .unwrap();
        }
        let sql = VISIT_IDS.replace("{{events}}", "events");
        let mut stmt = con
            .prepare(&format!(
                "SELECT e.visitor_id, minute(e.ts) + 60 * (hour(e.ts) - 8), c.visit_id FROM ({sql}) c \
                 JOIN events e ON e.rowid = c.rid ORDER BY 1, 2"
            ))
            .unwrap();
        let changes: Vec<(u64, i64, u64)> = stmt
            .query_map(duckdb::params!["a.com", "2026-12-03", "2026-12-04"], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(changes, vec![(1, 10, 11), (1, 45, 11), (1, 81, 13), (2, 6, 21)]);
    }
}
