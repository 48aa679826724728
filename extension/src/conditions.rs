//! What the behavioural aggregates share: boolean condition columns read as
//! one bit mask per row, and configuration arguments (window, mode, pattern…)
//! that DuckDB passes on every row but that must be the same on all of them.
//!
//! A row with NULL in any per-row argument is skipped, as ClickHouse's Null
//! combinator does for these functions.

use crate::ffi::{Chunk, Column, Interval, Strings};
use mallard_core::time::MICROS_PER_DAY;

/// Boolean condition columns `first..` of a chunk.
pub struct Conditions<'a> {
    columns: Vec<Column<'a, bool>>,
}

impl<'a> Conditions<'a> {
    pub fn new(chunk: &Chunk<'a>, first: usize) -> Result<Self, String> {
        Ok(Conditions { columns: (first..chunk.columns()).map(|c| chunk.column::<bool>(c)).collect::<Result<_, _>>()? })
    }

    /// Bit k set = condition k+1 holds; `None` when any condition is NULL.
    #[inline]
    pub fn mask(&self, row: usize) -> Option<u64> {
        let mut mask = 0u64;
        for (k, c) in self.columns.iter().enumerate() {
            if !c.validity.is_valid(row) {
                return None;
            }
            mask |= u64::from(c.values[row]) << k;
        }
        Some(mask)
    }
}

/// Configurations (window, mode, pattern…) per row of a chunk. DuckDB
/// passes them on every row; they must be constant within a group, but
/// groups may differ, so each row has its own — parsed once per run of
/// equal values, which in practice is once per chunk.
pub struct PerRow<T> {
    values: Vec<T>,
    index: Vec<u32>,
}

impl<T> PerRow<T> {
    /// `key(row)` reads a row's raw configuration (an error when NULL);
    /// `parse` turns a raw configuration into `T`.
    pub fn build<K: PartialEq>(
        rows: usize,
        key: impl Fn(usize) -> Result<K, String>,
        parse: impl Fn(&K) -> Result<T, String>,
    ) -> Result<PerRow<T>, String> {
        let mut values = Vec::new();
        // Filled only once a second value appears (usually none does: one
        // configuration per query).
        let mut index: Vec<u32> = Vec::new();
        let mut last: Option<K> = None;
        for row in 0..rows {
            let k = key(row)?;
            if last.as_ref() != Some(&k) {
                values.push(parse(&k)?);
                last = Some(k);
                if values.len() == 2 {
                    index.resize(row, 0);
                }
            }
            if values.len() > 1 {
                index.push((values.len() - 1) as u32);
            }
        }
        Ok(PerRow { values, index })
    }

    /// The configuration of row `row`.
    #[inline]
    pub fn get(&self, row: usize) -> &T {
        if self.index.is_empty() {
            return &self.values[0];
        }
        &self.values[self.index[row] as usize]
    }
}

/// The text of a configuration argument on row `row` (an error when NULL).
pub fn text<'a>(strings: &Strings<'a>, row: usize, function: &str, what: &str) -> Result<Text<'a>, String> {
    strings.get(row).map(Text).ok_or_else(|| format!("{function}: {what} must not be NULL"))
}

/// A configuration text (a mode, a pattern). `PerRow` compares it with the
/// previous row's on every row: as a slice that is a libc `memcmp` call
/// per row, which perf showed at 31% of a window funnel's time; these
/// texts are short, so they are compared as 16-byte words.
#[derive(Debug, Clone, Copy)]
pub struct Text<'a>(pub &'a [u8]);

impl PartialEq for Text<'_> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.0, other.0);
        if a.len() != b.len() {
            return false;
        }
        if a.len() > 16 {
            return a == b;
        }
        let word = |s: &[u8]| {
            let mut w = [0u8; 16];
            w[..s.len()].copy_from_slice(s);
            u128::from_ne_bytes(w)
        };
        word(a) == word(b)
    }
}

impl std::ops::Deref for Text<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.0
    }
}

/// Checks that a group's rows share one configuration.
#[inline]
pub fn same<T: PartialEq>(got: T, expected: T, function: &str, what: &str) -> Result<(), String> {
    if got == expected { Ok(()) } else { Err(format!("{function}: {what} must be the same on every row of a group")) }
}

/// A fixed-length INTERVAL in microseconds (months have no fixed length).
pub fn fixed_interval(i: Interval, function: &str, what: &str) -> Result<i64, String> {
    if i.months != 0 {
        return Err(format!(
            "{function}: the {what} must have a fixed length, and months do not (28 to 31 days); \
             use days or smaller units, e.g. INTERVAL 30 DAY"
        ));
    }
    i64::from(i.days)
        .checked_mul(MICROS_PER_DAY)
        .and_then(|d| d.checked_add(i.micros))
        .ok_or_else(|| format!("{function}: the {what} is too long"))
}

/// A configuration INTERVAL on row `row` (an error when NULL).
pub fn interval(column: &Column<'_, Interval>, row: usize, function: &str, what: &str) -> Result<Interval, String> {
    column.get(row).ok_or_else(|| format!("{function}: the {what} must not be NULL"))
}
