//! The extension's private in-memory DuckDB: where the `mallard_*` table
//! functions run their SQL (the C API gives a table function no way to run
//! SQL on the host's connection, and creating objects in the host would
//! write into the user's database). One instance per process, created on
//! first use with `threads` and `memory_limit` taken from the host (or from
//! `MALLARD_THREADS` / `MALLARD_MEMORY_LIMIT`), with our scalar and aggregate
//! functions registered into it.

use std::ptr;
use std::sync::OnceLock;

use libduckdb_sys as sys;
use mallard_core::report::{Param, Query};

use super::types::{LogicalType, TypeId};
use super::value::{borrowed_string, take_string};
use super::{Connection, c_string};

/// The private instance. Never closed: it lives as long as the process.
pub struct Database {
    raw: sys::duckdb_database,
}

// SAFETY: a duckdb_database is thread-safe; connections are made per use.
unsafe impl Send for Database {}
unsafe impl Sync for Database {}

/// Resources for the private instance.
#[derive(Debug, Clone)]
pub struct Resources {
    pub threads: Option<i64>,
    pub memory_limit: Option<String>,
    pub extension_directory: Option<String>,
}

static PRIVATE: OnceLock<Result<Database, String>> = OnceLock::new();

/// The private instance, created on first use with `resources`.
pub fn private(resources: &Resources) -> Result<&'static Database, String> {
    PRIVATE.get_or_init(|| Database::open(resources)).as_ref().map_err(Clone::clone)
}

impl Database {
    fn open(resources: &Resources) -> Result<Database, String> {
        let threads = std::env::var("MALLARD_THREADS").ok().or(resources.threads.map(|t| t.max(1).to_string()));
        let memory = std::env::var("MALLARD_MEMORY_LIMIT").ok().or(resources.memory_limit.clone());
        let mut settings = vec![
            ("autoinstall_known_extensions", "false".to_string()),
            ("autoload_known_extensions", "true".to_string()),
        ];
        if let Some(t) = threads {
            settings.push(("threads", t));
        }
        if let Some(m) = memory {
            settings.push(("memory_limit", m));
        }
        if let Some(dir) = &resources.extension_directory {
            settings.push(("extension_directory", dir.clone()));
        }
        // SAFETY: config and database handles are created, used and the
        // config destroyed here; the database is kept for the process.
        unsafe {
            let mut config = ptr::null_mut();
            if sys::duckdb_create_config(&mut config) != sys::DuckDBSuccess {
                return Err("mallard: could not create a DuckDB config".into());
            }
            for (name, value) in &settings {
                if sys::duckdb_set_config(config, c_string(name).as_ptr(), c_string(value).as_ptr())
                    != sys::DuckDBSuccess
                {
                    sys::duckdb_destroy_config(&mut config);
                    return Err(format!("mallard: invalid setting {name}={value} for the private DuckDB"));
                }
            }
            let mut raw = ptr::null_mut();
            let mut error = ptr::null_mut();
            let state = sys::duckdb_open_ext(ptr::null(), &mut raw, config, &mut error);
            sys::duckdb_destroy_config(&mut config);
            if state != sys::DuckDBSuccess {
                return Err(format!("mallard: could not open its private DuckDB: {}", take_string(error)));
            }
            let db = Database { raw };
            let con = db.connect()?;
            // Timestamps in the lake are UTC; ICU (if present) must agree.
            let _ = con.execute("SET TimeZone = 'UTC'");
            crate::register_private(&con)?;
            Ok(db)
        }
    }

    pub fn connect(&self) -> Result<Connection, String> {
        let mut raw = ptr::null_mut();
        // SAFETY: the database is open for the process's lifetime.
        if unsafe { sys::duckdb_connect(self.raw, &mut raw) } != sys::DuckDBSuccess {
            return Err("mallard: could not connect to its private DuckDB".into());
        }
        Ok(Connection { raw })
    }
}

/// A prepared statement with its parameters bound.
pub struct Prepared {
    raw: sys::duckdb_prepared_statement,
    /// Result column names and types.
    pub columns: Vec<(String, LogicalType)>,
}

// SAFETY: used by one thread at a time (callers hold it behind a Mutex).
unsafe impl Send for Prepared {}

impl Drop for Prepared {
    fn drop(&mut self) {
        // SAFETY: owned and destroyed once.
        unsafe { sys::duckdb_destroy_prepare(&mut self.raw) };
    }
}

/// An owned duckdb_value, destroyed on drop.
struct OwnedValue(sys::duckdb_value);

impl Drop for OwnedValue {
    fn drop(&mut self) {
        // SAFETY: owned and destroyed once.
        unsafe { sys::duckdb_destroy_value(&mut self.0) };
    }
}

fn varchar_value(s: &str) -> OwnedValue {
    // SAFETY: DuckDB copies the bytes.
    OwnedValue(unsafe { sys::duckdb_create_varchar_length(s.as_ptr() as *const _, s.len() as u64) })
}

fn param_value(p: &Param) -> OwnedValue {
    // SAFETY: value constructors copy their inputs.
    unsafe {
        match p {
            Param::Null => OwnedValue(sys::duckdb_create_null_value()),
            Param::Varchar(s) => varchar_value(s),
            Param::BigInt(i) => OwnedValue(sys::duckdb_create_int64(*i)),
            Param::Bool(b) => OwnedValue(sys::duckdb_create_bool(*b)),
            Param::Interval(micros) => {
                OwnedValue(sys::duckdb_create_interval(sys::duckdb_interval { months: 0, days: 0, micros: *micros }))
            }
            Param::Timestamp(micros) => {
                OwnedValue(sys::duckdb_create_timestamp(sys::duckdb_timestamp { micros: *micros }))
            }
            Param::VarcharList(items) => {
                let owned: Vec<OwnedValue> = items.iter().map(|s| varchar_value(s)).collect();
                let mut raw: Vec<sys::duckdb_value> = owned.iter().map(|v| v.0).collect();
                let ty = LogicalType::new(TypeId::Varchar);
                OwnedValue(sys::duckdb_create_list_value(ty.raw, raw.as_mut_ptr(), raw.len() as u64))
            }
        }
    }
}

impl Connection {
    /// Runs a statement without results.
    pub fn execute(&self, sql: &str) -> Result<(), String> {
        // SAFETY: the result is destroyed after reading its error.
        unsafe {
            let mut result = std::mem::zeroed::<sys::duckdb_result>();
            let state = sys::duckdb_query(self.raw, c_string(sql).as_ptr(), &mut result);
            let error = (state != sys::DuckDBSuccess).then(|| borrowed_string(sys::duckdb_result_error(&mut result)));
            sys::duckdb_destroy_result(&mut result);
            error.map_or(Ok(()), Err)
        }
    }

    /// Prepares `query` and binds its parameters.
    pub fn prepare(&self, query: &Query) -> Result<Prepared, String> {
        // SAFETY: the statement is owned by `Prepared` (destroyed on drop,
        // also on the error paths below); values are bound then destroyed.
        unsafe {
            let mut raw = ptr::null_mut();
            let state = sys::duckdb_prepare(self.raw, c_string(&query.sql).as_ptr(), &mut raw);
            let mut prepared = Prepared { raw, columns: Vec::new() };
            if state != sys::DuckDBSuccess {
                return Err(borrowed_string(sys::duckdb_prepare_error(raw)));
            }
            for (name, param) in &query.params {
                let mut index = 0;
                if sys::duckdb_bind_parameter_index(raw, &mut index, c_string(name).as_ptr()) != sys::DuckDBSuccess {
                    // A parameter the SQL does not use (e.g. an unused
                    // time zone) needs no binding.
                    continue;
                }
                let value = param_value(param);
                if sys::duckdb_bind_value(raw, index, value.0) != sys::DuckDBSuccess {
                    return Err(format!(
                        "mallard: could not bind parameter ${name}: {}",
                        borrowed_string(sys::duckdb_prepare_error(raw))
                    ));
                }
            }
            let n = sys::duckdb_prepared_statement_column_count(raw);
            for i in 0..n {
                let name = borrowed_string(sys::duckdb_prepared_statement_column_name(raw, i));
                let ty = LogicalType { raw: sys::duckdb_prepared_statement_column_logical_type(raw, i) };
                prepared.columns.push((name, ty));
            }
            Ok(prepared)
        }
    }

    /// Runs `query` and returns its rows as text (small results: listings).
    pub fn query_strings(&self, query: &Query) -> Result<Vec<Vec<Option<String>>>, String> {
        let prepared = self.prepare(query)?;
        let mut stream = prepared.execute()?;
        let mut rows = Vec::new();
        while let Some(chunk) = stream.next_chunk()? {
            let columns: Vec<_> = (0..chunk.columns()).map(|c| chunk.strings(c)).collect::<Result<_, _>>()?;
            for r in 0..chunk.len() {
                rows.push(columns.iter().map(|c| c.get_str(r).map(|s| s.into_owned())).collect());
            }
        }
        Ok(rows)
    }
}

impl Prepared {
    /// Executes the statement, streaming its result.
    pub fn execute(&self) -> Result<Stream, String> {
        // SAFETY: the pending result is destroyed here; the result is owned
        // by the returned Stream.
        unsafe {
            let mut pending = ptr::null_mut();
            if sys::duckdb_pending_prepared_streaming(self.raw, &mut pending) != sys::DuckDBSuccess {
                let e = borrowed_string(sys::duckdb_pending_error(pending));
                sys::duckdb_destroy_pending(&mut pending);
                return Err(e);
            }
            let mut result = std::mem::zeroed::<sys::duckdb_result>();
            let state = sys::duckdb_execute_pending(pending, &mut result);
            sys::duckdb_destroy_pending(&mut pending);
            if state != sys::DuckDBSuccess {
                let e = borrowed_string(sys::duckdb_result_error(&mut result));
                sys::duckdb_destroy_result(&mut result);
                return Err(e);
            }
            Ok(Stream { result, current: ptr::null_mut() })
        }
    }
}

/// A streaming query result.
pub struct Stream {
    result: sys::duckdb_result,
    /// The chunk last handed out (kept alive until the next one).
    current: sys::duckdb_data_chunk,
}

// SAFETY: used by one thread at a time (behind a Mutex).
unsafe impl Send for Stream {}

impl Drop for Stream {
    fn drop(&mut self) {
        // SAFETY: owned and destroyed once.
        unsafe {
            if !self.current.is_null() {
                sys::duckdb_destroy_data_chunk(&mut self.current);
            }
            sys::duckdb_destroy_result(&mut self.result);
        }
    }
}

impl Stream {
    /// The next chunk, `None` at the end; an error if the query failed.
    pub fn next_chunk(&mut self) -> Result<Option<super::Chunk<'_>>, String> {
        // SAFETY: the previous chunk is released before fetching the next;
        // the new one lives until the next call or drop.
        unsafe {
            if !self.current.is_null() {
                sys::duckdb_destroy_data_chunk(&mut self.current);
            }
            self.current = sys::duckdb_fetch_chunk(self.result);
            if self.current.is_null() {
                let error = sys::duckdb_result_error(&mut self.result);
                if !error.is_null() {
                    return Err(borrowed_string(error));
                }
                return Ok(None);
            }
            Ok(Some(super::Chunk::from_raw(self.current)))
        }
    }

    /// Moves the next chunk into `output` (sharing its buffers); returns its
    /// row count, 0 at the end.
    pub(super) fn next_into(&mut self, output: sys::duckdb_data_chunk) -> Result<usize, String> {
        let Some(chunk) = self.next_chunk()? else { return Ok(0) };
        let n = chunk.len();
        // SAFETY: both chunks have the same column types (declared at bind
        // from the same prepared statement); the source chunk stays alive
        // until the next call, and referenced buffers are shared anyway.
        unsafe {
            let columns = sys::duckdb_data_chunk_get_column_count(output);
            for c in 0..columns {
                let to = sys::duckdb_data_chunk_get_vector(output, c);
                let from = sys::duckdb_data_chunk_get_vector(self.current, c);
                sys::duckdb_vector_reference_vector(to, from);
            }
            sys::duckdb_data_chunk_set_size(output, n as u64);
        }
        Ok(n)
    }
}
