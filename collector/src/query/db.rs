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
/// The collector's own instance (compaction, rollups, erase rewrites): a
/// small memory limit, spilling to `<data>/.duckdb-tmp`, and DuckDB's
/// allocator giving memory back between jobs, so a merge of many files does
/// not leave the collector holding hundreds of MB (ARCHITECTURE.md, write path).
pub fn open_for_writes(data_dir: &std::path::Path) -> duckdb::Result<Connection> {
    let con = open(WRITE_MEMORY, 1)?;
    let tmp = data_dir.join(".duckdb-tmp");
    con.execute_batch(&format!(
        "SET temp_directory = {}; SET allocator_background_threads = true; SET allocator_flush_threshold = '16MB';",
        quote(&tmp.to_string_lossy())
    ))?;
    Ok(con)
}

/// The memory limit of [`open_for_writes`].
pub const WRITE_MEMORY: &str = "256MB";

pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
