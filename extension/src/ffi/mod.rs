//! The one module of the extension that touches DuckDB's C API, and so the
//! only one with `unsafe`. Everything else sees safe wrappers: typed vector
//! views, function builders, and callbacks that return `Result` — a Rust
//! error or panic in a callback becomes a SQL error here and never unwinds
//! into DuckDB.

mod aggregate;
mod database;
mod entry;
mod scalar;
mod table;
mod types;
mod value;
mod vector;

pub use aggregate::{Aggregate, register_aggregate};
pub use entry::DUCKDB_C_API_VERSION;
pub use scalar::{ScalarFn, ScalarFunction};
pub use table::{Args, BindFn, TableFunction};
pub use types::{LogicalType, TypeId};
pub use value::Value;
pub use vector::{Chunk, Column, Interval, Strings, VectorMut};

use libduckdb_sys as sys;

/// A DuckDB connection: to the host database during `LOAD` only (the host's
/// handles must not be kept past it), or to the private instance.
pub struct Connection {
    raw: sys::duckdb_connection,
}

// SAFETY: a DuckDB connection may move between threads (used by one at a time).
unsafe impl Send for Connection {}

impl Drop for Connection {
    fn drop(&mut self) {
        // SAFETY: `raw` came from duckdb_connect and is disconnected once.
        unsafe { sys::duckdb_disconnect(&mut self.raw) };
    }
}

/// Runs `f`, turning a panic into an error message, so no panic crosses FFI.
pub(crate) fn guard<T>(what: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(format!("mallard: internal error in {what}: {msg}"))
        }
    }
}

/// A NUL-terminated copy of `s` for the C API (interior NULs are replaced,
/// never a reason to fail).
pub(crate) fn c_string(s: &str) -> std::ffi::CString {
    std::ffi::CString::new(s.replace('\0', "\u{FFFD}")).expect("NULs were replaced")
}
