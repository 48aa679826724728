//! The collector's DuckDB: an in-memory instance linked from libduckdb, used
//! for compaction and start-up reads of the lake.

use duckdb::{Config, Connection};

/// Opens the instance with bounded resources: the collector shares its box
/// with ingestion, so DuckDB gets a memory cap instead of 80 % of RAM.
pub fn open(memory_limit: &str, threads: usize) -> duckdb::Result<Connection> {
    let config =
        Config::default().allow_unsigned_extensions()?.with("memory_limit", memory_limit)?.threads(threads as i64)?;
    Connection::open_in_memory_with_flags(config)
}

/// A SQL string literal (for file paths in `read_parquet`/`COPY`, which do
/// not take bound parameters in every position).
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
