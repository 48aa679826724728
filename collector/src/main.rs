//! `mallard-collector`: arrives with the collector issue. For now the binary
//! proves the build links DuckDB and says what is not there yet.

fn main() {
    let duckdb = duckdb::Connection::open_in_memory()
        .and_then(|c| c.query_row("SELECT version()", [], |r| r.get::<_, String>(0)))
        .unwrap_or_else(|e| format!("unavailable ({e})"));
    eprintln!(
        "mallard-collector {} (DuckDB {duckdb}): the collector is not built yet; \
         the mallard extension is: `make extension`, then LOAD 'build/mallard.duckdb_extension'",
        mallard_core::VERSION
    );
}
