//! `mallard_retention(cond1 BOOLEAN, …, condN BOOLEAN) → BOOLEAN[]`:
//! ClickHouse's `retention`, N from 1 to 32 (N falses on an empty group).
//! The logic is `mallard_core::retention`.

use mallard_core::retention::{MAX_CONDITIONS, Retention};

use crate::conditions::Conditions;
use crate::ffi::{Aggregate, Chunk, Connection, LogicalType, TypeId, VectorMut, register_aggregate};

pub struct RetentionAggregate;

impl Aggregate for RetentionAggregate {
    type State = Retention;
    type Input<'a> = Conditions<'a>;

    fn input<'a>(chunk: &Chunk<'a>) -> Result<Conditions<'a>, String> {
        Conditions::new(chunk, 0)
    }

    #[inline]
    fn update(state: &mut Retention, input: &Conditions<'_>, row: usize) -> Result<(), String> {
        if let Some(mask) = input.mask(row) {
            state.add(mask as u32);
        }
        Ok(())
    }

    fn combine(source: &Retention, target: &mut Retention) -> Result<(), String> {
        target.merge(source);
        Ok(())
    }

    fn finalize(state: &mut Retention, out: &mut VectorMut<'_>, row: usize, args: usize) -> Result<(), String> {
        out.set_list::<bool>(row, &state.result(args))
    }
}

pub fn register(con: &Connection) -> Result<(), String> {
    let t = LogicalType::new;
    let overloads = (1..=MAX_CONDITIONS)
        .map(|n| ((0..n).map(|_| t(TypeId::Boolean)).collect(), LogicalType::list(&t(TypeId::Boolean))))
        .collect();
    register_aggregate::<RetentionAggregate>(con, "mallard_retention", overloads)
}
