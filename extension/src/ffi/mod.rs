//! The one module of the extension that touches DuckDB's C API, and so the
//! only one with `unsafe`. Everything else sees safe wrappers: typed vector
//! views, function builders, and callbacks that return `Result` — a Rust
//! error or panic in a callback becomes a SQL error here and never unwinds
//! into DuckDB.

mod entry;
mod scalar;
mod types;
mod vector;

pub use entry::DUCKDB_C_API_VERSION;
pub use scalar::{ScalarFn, ScalarFunction};
pub use types::{LogicalType, TypeId};
pub use vector::{Chunk, Interval, Strings, VectorMut};

use libduckdb_sys as sys;

/// A connection to the database the extension is being loaded into; lives
/// only during `LOAD` (the host's handles must not be kept past it).
pub struct Connection {
    raw: sys::duckdb_connection,
}

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
