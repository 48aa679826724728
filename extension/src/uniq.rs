//! `mallard_uniq_exact(id UBIGINT) → BIGINT`: the exact number of distinct
//! ids, like ClickHouse's `uniqExact`; NULLs are not counted.
//!
//! DuckDB's `count(DISTINCT …)` is exact too, but generic: it hashes and
//! materialises any type. Visitor and visit ids are 64-bit integers, so a
//! plain integer hash set counts them several times faster, and every
//! visitor count in the reports goes through it.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use crate::ffi::{Aggregate, Chunk, Connection, LogicalType, TypeId, VectorMut, register_aggregate};

/// A hasher for u64 keys: one multiply-and-fold (ids may be sequential in
/// user data, so some mixing is needed; no DoS exposure: no attacker picks
/// the keys of a query's working set cheaply, and worst case is only slow).
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, x: u64) {
        let m = u128::from(x ^ 0x2545_F491_4F6C_DD1D) * 0x9E37_79B9_7F4A_7C15_u128;
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }
}

pub type IdSet = HashSet<u64, BuildHasherDefault<IdHasher>>;

pub struct UniqExact;

impl Aggregate for UniqExact {
    type State = IdSet;
    type Input<'a> = crate::ffi::Column<'a, u64>;

    fn input<'a>(chunk: &Chunk<'a>) -> Result<Self::Input<'a>, String> {
        chunk.column::<u64>(0)
    }

    fn update(state: &mut IdSet, input: &Self::Input<'_>, row: usize) -> Result<(), String> {
        if let Some(id) = input.get(row) {
            state.insert(id);
        }
        Ok(())
    }

    fn combine(source: &IdSet, target: &mut IdSet) -> Result<(), String> {
        target.reserve(source.len());
        target.extend(source.iter().copied());
        Ok(())
    }

    fn finalize(state: &mut IdSet, out: &mut VectorMut<'_>, row: usize, _args: usize) -> Result<(), String> {
        out.values::<i64>()?[row] = state.len() as i64;
        Ok(())
    }
}

pub fn register(con: &Connection) -> Result<(), String> {
    register_aggregate::<UniqExact>(
        con,
        "mallard_uniq_exact",
        vec![(vec![LogicalType::new(TypeId::UBigInt)], LogicalType::new(TypeId::BigInt))],
    )
}
