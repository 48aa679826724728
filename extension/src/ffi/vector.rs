//! Safe views over DuckDB data chunks and vectors.
//!
//! Reads are zero-copy: a VARCHAR is handed out as the bytes DuckDB holds.
//! Typed access checks the vector's type once per call, so a mismatch is an
//! error, never a misread.

use std::borrow::Cow;
use std::marker::PhantomData;

use libduckdb_sys as sys;

/// Plain values DuckDB stores inline in a vector.
///
/// # Safety
/// `IDS` must list exactly the DuckDB types whose in-vector layout is `Self`.
pub unsafe trait Primitive: Copy + 'static {
    const IDS: &'static [sys::duckdb_type];
}

// SAFETY (all impls): layouts per DuckDB's C API documentation.
unsafe impl Primitive for bool {
    const IDS: &'static [sys::duckdb_type] = &[sys::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN];
}
unsafe impl Primitive for i32 {
    const IDS: &'static [sys::duckdb_type] = &[sys::DUCKDB_TYPE_DUCKDB_TYPE_INTEGER, sys::DUCKDB_TYPE_DUCKDB_TYPE_DATE];
}
unsafe impl Primitive for i64 {
    const IDS: &'static [sys::duckdb_type] =
        &[sys::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT, sys::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP];
}
unsafe impl Primitive for u32 {
    const IDS: &'static [sys::duckdb_type] = &[sys::DUCKDB_TYPE_DUCKDB_TYPE_UINTEGER];
}
unsafe impl Primitive for u64 {
    const IDS: &'static [sys::duckdb_type] = &[sys::DUCKDB_TYPE_DUCKDB_TYPE_UBIGINT];
}
unsafe impl Primitive for f64 {
    const IDS: &'static [sys::duckdb_type] = &[sys::DUCKDB_TYPE_DUCKDB_TYPE_DOUBLE];
}

/// DuckDB's INTERVAL.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}
unsafe impl Primitive for Interval {
    const IDS: &'static [sys::duckdb_type] = &[sys::DUCKDB_TYPE_DUCKDB_TYPE_INTERVAL];
}

fn type_id(vector: sys::duckdb_vector) -> sys::duckdb_type {
    // SAFETY: `vector` is valid for the callback; the type is destroyed after use.
    unsafe {
        let mut ty = sys::duckdb_vector_get_column_type(vector);
        let id = sys::duckdb_get_type_id(ty);
        sys::duckdb_destroy_logical_type(&mut ty);
        id
    }
}

fn check_type<T: Primitive>(vector: sys::duckdb_vector) -> Result<(), String> {
    let id = type_id(vector);
    if T::IDS.contains(&id) { Ok(()) } else { Err(format!("mallard: internal type mismatch (vector type id {id})")) }
}

/// The validity mask of a vector (`None` = all rows valid).
#[derive(Clone, Copy)]
pub struct Validity<'a> {
    mask: Option<&'a [u64]>,
}

impl Validity<'_> {
    #[inline]
    pub fn is_valid(&self, row: usize) -> bool {
        match self.mask {
            None => true,
            Some(m) => m.get(row / 64).is_none_or(|w| (w >> (row % 64)) & 1 == 1),
        }
    }
}

fn validity<'a>(vector: sys::duckdb_vector, len: usize) -> Validity<'a> {
    // SAFETY: a non-null mask holds one bit per row of the vector's capacity.
    unsafe {
        let mask = sys::duckdb_vector_get_validity(vector);
        Validity { mask: (!mask.is_null()).then(|| std::slice::from_raw_parts(mask as *const u64, len.div_ceil(64))) }
    }
}

/// An input data chunk, valid for one callback.
pub struct Chunk<'a> {
    raw: sys::duckdb_data_chunk,
    len: usize,
    _life: PhantomData<&'a ()>,
}

/// A typed read-only column of a chunk.
pub struct Column<'a, T> {
    pub values: &'a [T],
    pub validity: Validity<'a>,
}

impl<T: Copy> Column<'_, T> {
    #[inline]
    pub fn get(&self, row: usize) -> Option<T> {
        self.validity.is_valid(row).then(|| self.values[row])
    }

    /// The values when no row is NULL.
    pub fn all_valid(&self) -> Option<&[T]> {
        self.validity.mask.is_none().then_some(self.values)
    }
}

impl<'a> Chunk<'a> {
    /// # Safety
    /// `raw` must be a valid, flat data chunk for the lifetime `'a`.
    pub(super) unsafe fn from_raw(raw: sys::duckdb_data_chunk) -> Self {
        // SAFETY: per the caller's contract.
        let len = unsafe { sys::duckdb_data_chunk_get_size(raw) } as usize;
        Self { raw, len, _life: PhantomData }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of columns.
    pub fn columns(&self) -> usize {
        // SAFETY: the chunk is valid.
        unsafe { sys::duckdb_data_chunk_get_column_count(self.raw) as usize }
    }

    fn vector(&self, col: usize) -> Result<sys::duckdb_vector, String> {
        // SAFETY: the chunk is valid; the column count bounds the index.
        unsafe {
            if col as u64 >= sys::duckdb_data_chunk_get_column_count(self.raw) {
                return Err(format!("mallard: internal error: no input column {col}"));
            }
            Ok(sys::duckdb_data_chunk_get_vector(self.raw, col as u64))
        }
    }

    /// Column `col` as values of `T`.
    pub fn column<T: Primitive>(&self, col: usize) -> Result<Column<'a, T>, String> {
        let v = self.vector(col)?;
        check_type::<T>(v)?;
        // SAFETY: type checked; a flat vector holds `len` values of T.
        unsafe {
            let data = sys::duckdb_vector_get_data(v) as *const T;
            Ok(Column { values: std::slice::from_raw_parts(data, self.len), validity: validity(v, self.len) })
        }
    }

    /// Whether column `col` is a VARCHAR (overloads tell optional arguments apart by type).
    pub fn is_varchar(&self, col: usize) -> bool {
        self.vector(col).is_ok_and(|v| type_id(v) == sys::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR)
    }

    /// Column `col` as strings (VARCHAR or BLOB).
    pub fn strings(&self, col: usize) -> Result<Strings<'a>, String> {
        let v = self.vector(col)?;
        let id = type_id(v);
        if id != sys::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR && id != sys::DUCKDB_TYPE_DUCKDB_TYPE_BLOB {
            return Err(format!("mallard: internal type mismatch (expected VARCHAR, got type id {id})"));
        }
        // SAFETY: type checked; a flat vector holds `len` duckdb_string_t.
        unsafe {
            let data = sys::duckdb_vector_get_data(v) as *const sys::duckdb_string_t;
            Ok(Strings { data: std::slice::from_raw_parts(data, self.len), validity: validity(v, self.len) })
        }
    }
}

impl Chunk<'_> {
    /// The LIST of VARCHAR at row `row` of column `col` (`None` when NULL;
    /// NULL items are left out).
    pub fn text_list(&self, col: usize, row: usize) -> Result<Option<Vec<String>>, String> {
        let v = self.vector(col)?;
        if type_id(v) != sys::DUCKDB_TYPE_DUCKDB_TYPE_LIST || row >= self.len {
            return Err("mallard: internal type mismatch (expected a LIST of VARCHAR)".into());
        }
        if !validity(v, self.len).is_valid(row) {
            return Ok(None);
        }
        // SAFETY: a flat LIST vector: `len` list entries, and a child vector
        // holding the items (checked to be VARCHAR) for the callback's duration.
        unsafe {
            let entry = *(sys::duckdb_vector_get_data(v) as *const sys::duckdb_list_entry).add(row);
            let child = sys::duckdb_list_vector_get_child(v);
            if type_id(child) != sys::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR {
                return Err("mallard: internal type mismatch (expected a LIST of VARCHAR)".into());
            }
            let size = sys::duckdb_list_vector_get_size(v) as usize;
            let end = (entry.offset + entry.length) as usize;
            if end > size {
                return Err("mallard: internal error: a list entry past its child".into());
            }
            let data = sys::duckdb_vector_get_data(child) as *const sys::duckdb_string_t;
            let items = Strings { data: std::slice::from_raw_parts(data, size), validity: validity(child, size) };
            Ok(Some((entry.offset as usize..end).filter_map(|i| items.get_str(i).map(|s| s.into_owned())).collect()))
        }
    }
}

/// A VARCHAR column.
pub struct Strings<'a> {
    data: &'a [sys::duckdb_string_t],
    pub validity: Validity<'a>,
}

impl<'a> Strings<'a> {
    /// The bytes of row `row`, `None` when NULL.
    #[inline]
    pub fn get(&self, row: usize) -> Option<&'a [u8]> {
        if !self.validity.is_valid(row) {
            return None;
        }
        let s = &self.data[row];
        // SAFETY: DuckDB strings of ≤ 12 bytes are inlined, longer ones point
        // at `length` bytes owned by the vector for the callback's duration.
        unsafe {
            let len = s.value.inlined.length as usize;
            Some(if len <= 12 {
                std::slice::from_raw_parts(s.value.inlined.inlined.as_ptr() as *const u8, len)
            } else {
                std::slice::from_raw_parts(s.value.pointer.ptr as *const u8, len)
            })
        }
    }

    /// Row `row` as text; invalid UTF-8 (possible in BLOB-ish data) is
    /// replaced rather than rejected.
    #[inline]
    pub fn get_str(&self, row: usize) -> Option<Cow<'a, str>> {
        self.get(row).map(String::from_utf8_lossy)
    }
}

/// An output vector of `len` rows, valid for one callback.
pub struct VectorMut<'a> {
    raw: sys::duckdb_vector,
    len: usize,
    validity_writable: bool,
    /// Checked on the first `set_str`: short strings are then written inline.
    is_varchar: Option<bool>,
    /// The vector's type id, read once.
    type_id: Option<sys::duckdb_type>,
    _life: PhantomData<&'a mut ()>,
}

impl VectorMut<'_> {
    /// # Safety
    /// `raw` must be a valid, writable vector with capacity ≥ `len` for `'a`.
    pub(super) unsafe fn from_raw(raw: sys::duckdb_vector, len: usize) -> Self {
        Self { raw, len, validity_writable: false, is_varchar: None, type_id: None, _life: PhantomData }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Marks row `row` NULL.
    pub fn set_null(&mut self, row: usize) {
        assert!(row < self.len, "row out of range");
        // SAFETY: the vector is valid and writable; `row` is in range.
        unsafe {
            if !self.validity_writable {
                sys::duckdb_vector_ensure_validity_writable(self.raw);
                self.validity_writable = true;
            }
            sys::duckdb_validity_set_row_invalid(sys::duckdb_vector_get_validity(self.raw), row as u64);
        }
    }

    /// The vector's values as a mutable slice of `T`.
    pub fn values<T: Primitive>(&mut self) -> Result<&mut [T], String> {
        let id = *self.type_id.get_or_insert_with(|| type_id(self.raw));
        if !T::IDS.contains(&id) {
            return Err(format!("mallard: internal type mismatch (vector type id {id})"));
        }
        // SAFETY: type checked; capacity ≥ len; we hold the only handle.
        unsafe {
            let data = sys::duckdb_vector_get_data(self.raw) as *mut T;
            Ok(std::slice::from_raw_parts_mut(data, self.len))
        }
    }

    /// Writes string `s` (copied into the vector) at row `row`.
    pub fn set_str(&mut self, row: usize, s: &[u8]) {
        assert!(row < self.len, "row out of range");
        let is_varchar =
            *self.is_varchar.get_or_insert_with(|| type_id(self.raw) == sys::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR);
        if is_varchar && s.len() <= 12 {
            // DuckDB stores strings of up to 12 bytes inline in the 16-byte
            // string_t: writing that directly skips a C API call per value,
            // which dominates the cost of short results like "Chrome".
            let mut inlined = [0 as std::ffi::c_char; 12];
            for (dst, src) in inlined.iter_mut().zip(s) {
                *dst = *src as std::ffi::c_char;
            }
            let value = sys::duckdb_string_t {
                value: sys::duckdb_string_t__bindgen_ty_1 {
                    inlined: sys::duckdb_string_t__bindgen_ty_1__bindgen_ty_2 { length: s.len() as u32, inlined },
                },
            };
            // SAFETY: a VARCHAR vector's data is `len` string_t slots; `row` is in range.
            unsafe { *(sys::duckdb_vector_get_data(self.raw) as *mut sys::duckdb_string_t).add(row) = value };
            return;
        }
        // SAFETY: DuckDB copies `s` into the vector's string heap.
        unsafe {
            sys::duckdb_vector_assign_string_element_len(self.raw, row as u64, s.as_ptr() as *const _, s.len() as u64)
        };
    }

    /// Writes `Some(s)` or NULL.
    pub fn set_opt_str(&mut self, row: usize, s: Option<&str>) {
        match s {
            Some(s) => self.set_str(row, s.as_bytes()),
            None => self.set_null(row),
        }
    }

    /// Writes `items` as the LIST at row `row`, appending them to the list's
    /// child vector (rows may be written in any order).
    pub fn set_list<T: Primitive>(&mut self, row: usize, items: &[T]) -> Result<(), String> {
        let (mut child, at) = self.list_items(row, items.len())?;
        child.values::<T>()?[at..at + items.len()].copy_from_slice(items);
        Ok(())
    }

    /// Makes the LIST at row `row` hold `n` new items and returns the list's
    /// child vector with the index of the first of them (items may be
    /// STRUCTs: fill them through `struct_children`).
    pub fn list_items(&mut self, row: usize, n: usize) -> Result<(VectorMut<'_>, usize), String> {
        assert!(row < self.len, "row out of range");
        let id = *self.type_id.get_or_insert_with(|| type_id(self.raw));
        if id != sys::DUCKDB_TYPE_DUCKDB_TYPE_LIST {
            return Err(format!("mallard: internal type mismatch (vector type id {id}, expected a LIST)"));
        }
        // SAFETY: a LIST vector; after `reserve` its child has room for
        // `size + n` items, which the returned view covers.
        unsafe {
            let size = sys::duckdb_list_vector_get_size(self.raw);
            if sys::duckdb_list_vector_reserve(self.raw, size + n as u64) != sys::DuckDBSuccess {
                return Err("mallard: could not grow a list result".into());
            }
            sys::duckdb_list_vector_set_size(self.raw, size + n as u64);
            let entries = sys::duckdb_vector_get_data(self.raw) as *mut sys::duckdb_list_entry;
            *entries.add(row) = sys::duckdb_list_entry { offset: size, length: n as u64 };
            let child = sys::duckdb_list_vector_get_child(self.raw);
            Ok((VectorMut::from_raw(child, size as usize + n), size as usize))
        }
    }

    /// The first `n` children of a STRUCT vector, with the same rows.
    pub fn struct_children(&mut self, n: usize) -> Vec<VectorMut<'_>> {
        (0..n)
            .map(|k| {
                // SAFETY: as in `struct_child`; children are distinct vectors.
                unsafe {
                    let child = sys::duckdb_struct_vector_get_child(self.raw, k as u64);
                    assert!(!child.is_null(), "struct child out of range");
                    VectorMut::from_raw(child, self.len)
                }
            })
            .collect()
    }

    /// Child `k` of a STRUCT vector, with the same rows.
    pub fn struct_child(&mut self, k: usize) -> VectorMut<'_> {
        // SAFETY: the caller declared this vector's type as a STRUCT with at
        // least `k + 1` members (DuckDB returns null otherwise, checked below).
        unsafe {
            let child = sys::duckdb_struct_vector_get_child(self.raw, k as u64);
            assert!(!child.is_null(), "struct child out of range");
            VectorMut::from_raw(child, self.len)
        }
    }
}
