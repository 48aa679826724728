//! DuckDB values (function arguments) as plain Rust values.

use std::ffi::CStr;

use libduckdb_sys as sys;

/// An argument value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Varchar(String),
    /// Days since the epoch.
    Date(i32),
    List(Vec<Value>),
    Interval(super::Interval),
    /// A type we do not read; the name of the type.
    Other(String),
}

impl Value {
    /// Reads a DuckDB value; the caller keeps ownership of `raw`.
    ///
    /// # Safety
    /// `raw` must be a valid value (or null).
    pub(super) unsafe fn from_raw(raw: sys::duckdb_value) -> Value {
        if raw.is_null() {
            return Value::Null;
        }
        // SAFETY: `raw` is valid; the value's type is borrowed from it.
        unsafe {
            if sys::duckdb_is_null_value(raw) {
                return Value::Null;
            }
            let ty = sys::duckdb_get_value_type(raw);
            match sys::duckdb_get_type_id(ty) {
                sys::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN => Value::Bool(sys::duckdb_get_bool(raw)),
                sys::DUCKDB_TYPE_DUCKDB_TYPE_TINYINT
                | sys::DUCKDB_TYPE_DUCKDB_TYPE_SMALLINT
                | sys::DUCKDB_TYPE_DUCKDB_TYPE_INTEGER
                | sys::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT
                | sys::DUCKDB_TYPE_DUCKDB_TYPE_UTINYINT
                | sys::DUCKDB_TYPE_DUCKDB_TYPE_USMALLINT
                | sys::DUCKDB_TYPE_DUCKDB_TYPE_UINTEGER => Value::Int(sys::duckdb_get_int64(raw)),
                sys::DUCKDB_TYPE_DUCKDB_TYPE_DATE => Value::Date(sys::duckdb_get_date(raw).days),
                sys::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR => Value::Varchar(take_string(sys::duckdb_get_varchar(raw))),
                sys::DUCKDB_TYPE_DUCKDB_TYPE_INTERVAL => {
                    let i = sys::duckdb_get_interval(raw);
                    Value::Interval(super::Interval { months: i.months, days: i.days, micros: i.micros })
                }
                sys::DUCKDB_TYPE_DUCKDB_TYPE_LIST => {
                    let n = sys::duckdb_get_list_size(raw);
                    let mut items = Vec::with_capacity(n as usize);
                    for i in 0..n {
                        let mut child = sys::duckdb_get_list_child(raw, i);
                        items.push(Value::from_raw(child));
                        sys::duckdb_destroy_value(&mut child);
                    }
                    Value::List(items)
                }
                other => Value::Other(format!("type id {other}")),
            }
        }
    }
}

/// Copies and frees a string DuckDB allocated.
///
/// # Safety
/// `ptr` is null or a NUL-terminated string from DuckDB's allocator.
pub(super) unsafe fn take_string(ptr: *mut std::ffi::c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: per the contract; freed once with DuckDB's allocator.
    unsafe {
        let s = CStr::from_ptr(ptr).to_string_lossy().into_owned();
        sys::duckdb_free(ptr as *mut std::ffi::c_void);
        s
    }
}

/// Copies a string DuckDB owns.
///
/// # Safety
/// `ptr` is null or a valid NUL-terminated string.
pub(super) unsafe fn borrowed_string(ptr: *const std::ffi::c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: per the contract.
    unsafe { CStr::from_ptr(ptr).to_string_lossy().into_owned() }
}
