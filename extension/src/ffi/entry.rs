//! The entry point DuckDB calls on `LOAD mallard`.

use std::ptr;

use libduckdb_sys as sys;

use super::{Connection, c_string, guard};

/// The C API version the extension asks for. With ABI `C_STRUCT` DuckDB
/// accepts every host whose C API is at least this version; the metadata
/// footer carries the same string.
pub const DUCKDB_C_API_VERSION: &str = "v1.5.6";

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
