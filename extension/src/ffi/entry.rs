//! The entry point DuckDB calls on `LOAD mallard`.

use std::ptr;

use libduckdb_sys as sys;

use super::{Connection, c_string, guard};

/// The C API version the extension asks for. With ABI `C_STRUCT` DuckDB
/// accepts every host whose C API is at least this version; the metadata
/// footer carries the same string. DuckDB 1.5.5 still calls its C API
/// `v1.2.0` (1.5.6 calls it `v1.5.6`), so this is what both accept.
pub const DUCKDB_C_API_VERSION: &str = "v1.2.0";

/// The oldest DuckDB whose function table holds every function we call:
/// hosts from 1.2.0 accept the API version above but hand out a shorter
/// table, so they are refused by name instead of failing on first use.
pub const OLDEST_DUCKDB: (u32, u32, u32) = (1, 5, 5);

/// `v1.5.5` (or `1.5.5-dev12`) as numbers.
fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let mut parts = v.trim_start_matches('v').split(['.', '-']);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// The symbol DuckDB looks up: `<file basename>_init_c_api`.
///
/// # Safety
/// Called by DuckDB with a valid `info` and `access`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mallard_init_c_api(
    info: sys::duckdb_extension_info,
    access: *const sys::duckdb_extension_access,
) -> bool {
    let result = guard("LOAD", || {
        // SAFETY: DuckDB hands us valid pointers for the duration of the call.
        unsafe { init(info, access) }
    });
    match result {
        Ok(loaded) => loaded,
        Err(message) => {
            // SAFETY: as above; `set_error` copies the message.
            unsafe {
                if let Some(set_error) = (*access).set_error {
                    set_error(info, c_string(&message).as_ptr());
                }
            }
            false
        }
    }
}

unsafe fn init(info: sys::duckdb_extension_info, access: *const sys::duckdb_extension_access) -> Result<bool, String> {
    // SAFETY: per the C extension API contract for the entry point.
    unsafe {
        if !sys::duckdb_rs_extension_api_init(info, access, DUCKDB_C_API_VERSION)? {
            // The host refused our API version and has already said why.
            return Ok(false);
        }
        let host = std::ffi::CStr::from_ptr(sys::duckdb_library_version()).to_string_lossy().into_owned();
        if parse_version(&host).is_some_and(|v| v < OLDEST_DUCKDB) {
            let (a, b, c) = OLDEST_DUCKDB;
            return Err(format!("mallard needs DuckDB {a}.{b}.{c} or newer; this is DuckDB {host}"));
        }
        let get_database = (*access).get_database.ok_or("DuckDB gave no get_database")?;
        let db = get_database(info);
        if db.is_null() {
            return Ok(false);
        }
        let mut raw = ptr::null_mut();
        if sys::duckdb_connect(*db, &mut raw) != sys::DuckDBSuccess {
            return Err("mallard: could not connect to the database being loaded into".into());
        }
        let connection = Connection { raw };
        crate::register_all(&connection)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        assert_eq!(parse_version("v1.5.5"), Some((1, 5, 5)));
        assert_eq!(parse_version("v1.4.3-dev12"), Some((1, 4, 3)));
        assert!(parse_version("v1.4.3").unwrap() < OLDEST_DUCKDB);
        assert!(parse_version("v2.0.1").unwrap() >= OLDEST_DUCKDB);
        assert_eq!(parse_version("main"), None);
    }
}
