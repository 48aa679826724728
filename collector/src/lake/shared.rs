//! A lake shared by several collectors: a DuckLake catalog (PostgreSQL) and
//! its Parquet files (S3), written through the collector's linked DuckDB.
//!
//! Each collector keeps its own WAL; a flush is one catalog transaction that
//! appends the segment's events to `events` and records `(collector, seq)`
//! in `mallard_commits`. A segment whose record exists is never stored again,
//! so a crash between the commit and the segment's deletion (or a commit
//! whose answer was lost) replays as a no-op. Readers skip a collector's hot
//! files of committed segments in the same snapshot (see the extension).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use duckdb::Connection;
use mallard_core::event::{Event, LAKE_COLUMNS};

use crate::config::SharedLake;
use crate::query::db::quote;

/// The catalog's alias in the collector's DuckDB.
const ALIAS: &str = "lake";

/// An error talking to the shared lake (catalog or storage).
#[derive(Debug)]
pub struct SharedError(pub String);

impl std::fmt::Display for SharedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SharedError {}

impl From<duckdb::Error> for SharedError {
    fn from(e: duckdb::Error) -> Self {
        SharedError(e.to_string())
    }
}

impl From<std::io::Error> for SharedError {
    fn from(e: std::io::Error) -> Self {
        SharedError(e.to_string())
    }
}

impl From<SharedError> for std::io::Error {
    fn from(e: SharedError) -> Self {
        std::io::Error::other(e.0)
    }
}

pub struct Shared {
    settings: SharedLake,
    data_dir: PathBuf,
    /// This collector's id in `mallard_commits` (kept in `<data>/collector-id`).
    pub collector: String,
    /// The attached connection; dropped after an error and made again on
    /// next use (PostgreSQL or S3 may have restarted).
    con: Mutex<Option<Connection>>,
}

/// `CREATE TABLE` of the events: the lake format v1 columns plus `date`, the
/// partition key (`site=…/date=…`, as in a folder lake).
fn events_ddl() -> String {
    let columns: Vec<String> = LAKE_COLUMNS.iter().map(|c| format!("{} {}", c.name, c.ty.sql())).collect();
    format!("CREATE TABLE IF NOT EXISTS {ALIAS}.events ({}, date DATE)", columns.join(", "))
}

/// The collector's id: made once, then read from `<data>/collector-id`.
pub fn collector_id(data_dir: &Path) -> std::io::Result<String> {
    let path = data_dir.join("collector-id");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_string()),
        _ => {
            let bytes = crate::auth::secret::random::<8>()?;
            let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            crate::files::write_atomic(&path, id.as_bytes(), 0o644)?;
            Ok(id)
        }
    }
}

impl Shared {
    /// Connects, attaches the catalog and makes its tables if missing.
    pub fn open(settings: &SharedLake, data_dir: &Path) -> Result<Shared, SharedError> {
        let shared = Shared {
            settings: settings.clone(),
            data_dir: data_dir.to_path_buf(),
            collector: collector_id(data_dir)?,
            con: Mutex::new(None),
        };
        shared.with(|_| Ok(()))?;
        Ok(shared)
    }

    fn connect(&self) -> Result<Connection, SharedError> {
        let s = &self.settings;
        let con = crate::query::db::open_for_writes(&self.data_dir)?;
        if let Some(dir) = &s.extension_dir {
            con.execute_batch(&format!("SET extension_directory = {}", quote(&dir.to_string_lossy())))?;
        }
        for ext in ["ducklake", "postgres_scanner", "httpfs"] {
            if con.execute_batch(&format!("LOAD {ext}")).is_err() {
                con.execute_batch(&format!("INSTALL {ext}; LOAD {ext}")).map_err(|e| {
                    SharedError(format!("the shared lake needs DuckDB's {ext} extension, which is not available: {e}"))
                })?;
            }
        }
        let mut secret = vec!["TYPE S3".to_string(), format!("REGION {}", quote(&s.s3_region))];
        secret.extend(s.s3_key_id.as_ref().map(|k| format!("KEY_ID {}", quote(k))));
        secret.extend(s.s3_secret.as_ref().map(|k| format!("SECRET {}", quote(&k.0))));
        secret.extend(s.s3_endpoint.as_ref().map(|e| format!("ENDPOINT {}", quote(e))));
        secret.push(format!("URL_STYLE {}", quote(&s.s3_url_style)));
        secret.push(format!("USE_SSL {}", s.s3_use_ssl));
        con.execute_batch(&format!("CREATE OR REPLACE SECRET mallard_s3 ({})", secret.join(", ")))?;
        let options = match &s.data_path {
            Some(path) => format!(" (DATA_PATH {})", quote(path)),
            None => String::new(),
        };
        con.execute_batch(&format!("ATTACH {} AS {ALIAS}{options}", quote(&s.catalog)))?;
        // Several collectors may start at once: a losing DDL commit retries.
        let ddl = [
            events_ddl(),
            format!(
                "CREATE TABLE IF NOT EXISTS {ALIAS}.mallard_commits \
                 (collector VARCHAR, seq UBIGINT, events UBIGINT, committed_at TIMESTAMP)"
            ),
        ];
        for sql in ddl {
            retry(|| con.execute_batch(&sql).map_err(SharedError::from))?;
        }
        // Idempotent, so every collector may (re)state them at start. No
        // rows are inlined into the catalog: every event lives in a Parquet
        // file, which an erase rewrites and deletes; and DuckDB 1.5.5's
        // reader of inlined rows failed now and then under concurrent commits
        // ("INTERNAL Error: Attempted to access index 0 within vector of size
        // 0", reading `mallard_commits` in `make scaleout-test`).
        retry(|| {
            con.execute_batch(&format!(
                "ALTER TABLE {ALIAS}.events SET PARTITIONED BY (site, date); \
                 CALL {ALIAS}.set_option('data_inlining_row_limit', 0); \
                 CALL {ALIAS}.set_option('data_inlining_row_limit', 0, table_name => 'events'); \
                 CALL {ALIAS}.set_option('data_inlining_row_limit', 0, table_name => 'mallard_commits');"
            ))
            .map_err(SharedError::from)
        })?;
        Ok(con)
    }

    /// Runs `f` on the attached connection, connecting first if needed; an
    /// error drops the connection so the next call starts afresh.
    pub fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T, SharedError>) -> Result<T, SharedError> {
        let mut guard = self.con.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            *guard = Some(self.connect()?);
        }
        let result = f(guard.as_ref().expect("connected"));
        if result.is_err() {
            *guard = None;
        }
        result
    }

    /// The highest segment this collector has committed (0 if none): its
    /// WAL must number new segments above it, or they would look committed.
    pub fn last_seq(&self) -> Result<u64, SharedError> {
        self.with(|con| {
            let seq: Option<u64> = con.query_row(
                &format!("SELECT max(seq) FROM {ALIAS}.mallard_commits WHERE collector = ?"),
                [&self.collector],
                |r| r.get(0),
            )?;
            Ok(seq.unwrap_or(0))
        })
    }

    /// Stores segment `seq`'s events once: returns false when an earlier
    /// attempt already committed it.
    pub fn commit(&self, seq: u64, events: &[Event]) -> Result<bool, SharedError> {
        if events.is_empty() {
            // Nothing to store (a segment sealed empty, or all erased), and
            // nothing recorded: a later segment may reuse its number.
            return Ok(false);
        }
        let staging = self.data_dir.join("staging");
        let name = format!("{seq:016x}.parquet");
        let mut rows = events.to_vec();
        let (path, _) = crate::lake::writer::write_named(&staging, &name, &mut rows, false)?;
        let result = self.with(|con| {
            transaction(con, || -> Result<bool, SharedError> {
                let seen: i64 = con.query_row(
                    &format!("SELECT count(*) FROM {ALIAS}.mallard_commits WHERE collector = ? AND seq = ?"),
                    duckdb::params![self.collector, seq],
                    |r| r.get(0),
                )?;
                if seen > 0 {
                    return Ok(false);
                }
                con.execute_batch(&format!(
                    "INSERT INTO {ALIAS}.events SELECT *, CAST(ts AS DATE) AS date FROM read_parquet({}) \
                     ORDER BY site, date, visitor_id, ts",
                    quote(&path.to_string_lossy())
                ))?;
                con.execute(
                    &format!("INSERT INTO {ALIAS}.mallard_commits VALUES (?, ?, ?, now())"),
                    duckdb::params![self.collector, seq, events.len() as u64],
                )?;
                Ok(true)
            })
        });
        let _ = std::fs::remove_file(&path);
        result
    }
}

impl Shared {
    /// `ducklake:postgres:<conninfo>`.
    pub fn catalog(&self) -> &str {
        &self.settings.catalog
    }

    /// Deletes what `rule` names from the shared lake, then makes sure no
    /// copy survives: files with deleted rows are rewritten, every older
    /// snapshot is expired and every file they alone held is deleted (old
    /// snapshots would otherwise keep the erased rows readable by time travel).
    /// Returns the rows deleted.
    pub fn erase(&self, rule: &crate::lake::erase::Rule) -> Result<u64, SharedError> {
        let deleted = self.delete(rule)?;
        crate::lake::maintainer::compact(self, crate::lake::maintainer::Expiry::All)?;
        Ok(deleted)
    }

    /// How many rows `rule` names now.
    pub fn count(&self, rule: &crate::lake::erase::Rule) -> Result<u64, SharedError> {
        self.with(|con| {
            let sql = format!(
                "SELECT count(*) FROM {ALIAS}.events WHERE date BETWEEN DATE '{}' AND DATE '{}' AND {}",
                rule.from,
                rule.to,
                rule.sql()
            );
            Ok(con.query_row(&sql, [], |r| r.get::<_, i64>(0))? as u64)
        })
    }

    /// Deletes `rule`'s rows (partition pruning by date first).
    pub fn delete(&self, rule: &crate::lake::erase::Rule) -> Result<u64, SharedError> {
        retry(|| self.delete_once(rule))
    }

    fn delete_once(&self, rule: &crate::lake::erase::Rule) -> Result<u64, SharedError> {
        self.with(|con| {
            // One transaction: a retry after a lost race finds the rows again
            // and drops the rollups that may hold them with them.
            transaction(con, || -> Result<u64, SharedError> {
                let deleted = con.execute(
                    &format!(
                        "DELETE FROM {ALIAS}.events WHERE date BETWEEN DATE '{}' AND DATE '{}' AND {}",
                        rule.from,
                        rule.to,
                        rule.sql()
                    ),
                    [],
                )? as u64;
                if deleted > 0 {
                    crate::lake::maintainer::drop_rollups(con, &rule.site, rule.from, rule.to)?;
                }
                Ok(deleted)
            })
        })
    }
}

/// Runs `f` in one transaction on `con`: committed when it succeeds, rolled
/// back when it or the commit fails (a commit that lost a race leaves
/// nothing half-done for the retry to trip over).
pub fn transaction<T>(con: &Connection, f: impl FnOnce() -> Result<T, SharedError>) -> Result<T, SharedError> {
    con.execute_batch("BEGIN TRANSACTION")?;
    match f().and_then(|v| {
        con.execute_batch("COMMIT")?;
        Ok(v)
    }) {
        Ok(v) => Ok(v),
        Err(e) => {
            let _ = con.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Retries a catalog change that lost a race with another collector's: a
/// second DDL, or (DuckLake's rule) a delete while another commit inserted
/// into the same table.
pub fn retry<T>(mut f: impl FnMut() -> Result<T, SharedError>) -> Result<T, SharedError> {
    let mut last = None;
    for attempt in 0..20u64 {
        match f() {
            Ok(v) => return Ok(v),
            Err(e)
                if ["onflict", "already exists", "could not serialize", "concurrent"]
                    .iter()
                    .any(|m| e.0.contains(m)) =>
            {
                last = Some(e);
                std::thread::sleep(std::time::Duration::from_millis(50 * (attempt + 1)));
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.expect("retried"))
}
