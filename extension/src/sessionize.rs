//! `mallard_sessionize(ts TIMESTAMP, gap INTERVAL) → BIGINT`: as a window
//! function `OVER (PARTITION BY visitor_id ORDER BY ts)`, the current row's
//! session number (from 1; a new session when the gap to the previous row is
//! strictly greater than `gap`); as a plain aggregate, the number of
//! sessions. The gap must be the same on every row. The logic is
//! `mallard_core::sessionize`.

use mallard_core::sessionize::Sessions;

use crate::conditions::{self, PerRow};
use crate::ffi::{Aggregate, Chunk, Column, Connection, Interval, LogicalType, TypeId, VectorMut, register_aggregate};

const NAME: &str = "mallard_sessionize";

#[derive(Default)]
pub struct State {
    gap: Option<i64>,
    sessions: Sessions,
}

pub struct Input<'a> {
    ts: Column<'a, i64>,
    gaps: PerRow<i64>,
}

pub struct Sessionize;

impl Aggregate for Sessionize {
    type State = State;
    type Input<'a> = Input<'a>;

    fn input<'a>(chunk: &Chunk<'a>) -> Result<Input<'a>, String> {
        let gaps = chunk.column::<Interval>(1)?;
        let gaps = PerRow::build(
            chunk.len(),
            |row| conditions::interval(&gaps, row, NAME, "gap"),
            |i| {
                let micros = conditions::fixed_interval(*i, NAME, "gap")?;
                if micros < 0 {
                    return Err(format!("{NAME}: the gap must not be negative"));
                }
                Ok(micros)
            },
        )?;
        Ok(Input { ts: chunk.column::<i64>(0)?, gaps })
    }

    #[inline]
    fn update(state: &mut State, input: &Input<'_>, row: usize) -> Result<(), String> {
        let gap = *input.gaps.get(row);
        match state.gap {
            None => state.gap = Some(gap),
            Some(g) => conditions::same(g, gap, NAME, "gap")?,
        }
        if let Some(ts) = input.ts.get(row) {
            state.sessions.add(ts, gap);
        }
        Ok(())
    }

    fn combine(source: &State, target: &mut State) -> Result<(), String> {
        let Some(gap) = source.gap else { return Ok(()) };
        match target.gap {
            None => target.gap = Some(gap),
            Some(g) => conditions::same(g, gap, NAME, "gap")?,
        }
        target.sessions.merge(&source.sessions, gap);
        Ok(())
    }

    fn finalize(state: &mut State, out: &mut VectorMut<'_>, row: usize, _args: usize) -> Result<(), String> {
        match state.sessions.result().map_err(|e| format!("{NAME}: {e}"))? {
            Some(n) => out.values::<i64>()?[row] = n as i64,
            None => out.set_null(row),
        }
        Ok(())
    }
}

pub fn register(con: &Connection) -> Result<(), String> {
    let t = LogicalType::new;
    register_aggregate::<Sessionize>(
        con,
        NAME,
        vec![(vec![t(TypeId::Timestamp), t(TypeId::Interval)], t(TypeId::BigInt))],
    )
}
