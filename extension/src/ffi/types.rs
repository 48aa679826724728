//! Owned DuckDB logical types.

use libduckdb_sys as sys;

use super::c_string;

/// The DuckDB type ids the extension uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeId {
    Boolean,
    Integer,
    UInteger,
    BigInt,
    UBigInt,
    Double,
    Varchar,
    Timestamp,
    Date,
    Interval,
}

impl TypeId {
    fn raw(self) -> sys::duckdb_type {
        match self {
            TypeId::Boolean => sys::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN,
            TypeId::Integer => sys::DUCKDB_TYPE_DUCKDB_TYPE_INTEGER,
            TypeId::UInteger => sys::DUCKDB_TYPE_DUCKDB_TYPE_UINTEGER,
            TypeId::BigInt => sys::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT,
            TypeId::UBigInt => sys::DUCKDB_TYPE_DUCKDB_TYPE_UBIGINT,
            TypeId::Double => sys::DUCKDB_TYPE_DUCKDB_TYPE_DOUBLE,
            TypeId::Varchar => sys::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR,
            TypeId::Timestamp => sys::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP,
            TypeId::Date => sys::DUCKDB_TYPE_DUCKDB_TYPE_DATE,
            TypeId::Interval => sys::DUCKDB_TYPE_DUCKDB_TYPE_INTERVAL,
        }
    }
}

/// An owned `duckdb_logical_type`, destroyed on drop.
pub struct LogicalType {
    pub(super) raw: sys::duckdb_logical_type,
}

impl LogicalType {
    pub fn new(id: TypeId) -> Self {
        // SAFETY: creating a primitive type has no preconditions.
        Self { raw: unsafe { sys::duckdb_create_logical_type(id.raw()) } }
    }

    /// `STRUCT(name type, ...)`.
    pub fn structure(members: &[(&str, LogicalType)]) -> Self {
        let names: Vec<_> = members.iter().map(|(n, _)| c_string(n)).collect();
        let mut name_ptrs: Vec<_> = names.iter().map(|n| n.as_ptr()).collect();
        let mut types: Vec<_> = members.iter().map(|(_, t)| t.raw).collect();
        // SAFETY: both arrays hold `members.len()` valid entries; DuckDB copies them.
        Self {
            raw: unsafe {
                sys::duckdb_create_struct_type(types.as_mut_ptr(), name_ptrs.as_mut_ptr(), members.len() as u64)
            },
        }
    }

    /// `child[]`.
    pub fn list(child: &LogicalType) -> Self {
        // SAFETY: `child` is a valid type; DuckDB copies it.
        Self { raw: unsafe { sys::duckdb_create_list_type(child.raw) } }
    }
}

impl Drop for LogicalType {
    fn drop(&mut self) {
        // SAFETY: `raw` is owned and destroyed once.
        unsafe { sys::duckdb_destroy_logical_type(&mut self.raw) };
    }
}
