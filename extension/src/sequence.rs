//! `mallard_sequence_match(pattern, ts, cond1, …) → BOOLEAN`,
//! `mallard_sequence_count(…) → BIGINT` and
//! `mallard_sequence_match_events(…) → TIMESTAMP[]`: ClickHouse's
//! `sequenceMatch`, `sequenceCount` and `sequenceMatchEvents`, with 2 to 32
//! conditions (ClickHouse's range). The pattern must be the same on every
//! row. The logic is `mallard_core::pattern` and `mallard_core::sequence`.

use std::marker::PhantomData;
use std::sync::Arc;

use mallard_core::pattern::{self, Pattern};
use mallard_core::sequence::{MAX_CONDITIONS, SequenceEvents};

use crate::conditions::{self, Conditions, PerRow};
use crate::ffi::{Aggregate, Chunk, Column, Connection, LogicalType, TypeId, VectorMut, register_aggregate};

#[derive(Default)]
pub struct State {
    pattern: Option<Arc<Pattern>>,
    events: SequenceEvents,
}

pub struct Input<'a> {
    patterns: PerRow<Arc<Pattern>>,
    ts: Column<'a, i64>,
    conditions: Conditions<'a>,
}

/// What a function makes of a group's rows.
pub trait Output: 'static {
    const NAME: &'static str;
    fn returns() -> LogicalType;
    fn write(events: &mut SequenceEvents, pattern: &Pattern, out: &mut VectorMut<'_>, row: usize)
    -> Result<(), String>;
    /// The result of an empty group (no pattern seen).
    fn empty(out: &mut VectorMut<'_>, row: usize) -> Result<(), String>;
}

pub struct Match;
pub struct Count;
pub struct MatchEvents;

impl Output for Match {
    const NAME: &'static str = "mallard_sequence_match";
    fn returns() -> LogicalType {
        LogicalType::new(TypeId::Boolean)
    }
    fn write(e: &mut SequenceEvents, p: &Pattern, out: &mut VectorMut<'_>, row: usize) -> Result<(), String> {
        out.values::<bool>()?[row] = e.matches(p)?;
        Ok(())
    }
    fn empty(out: &mut VectorMut<'_>, row: usize) -> Result<(), String> {
        out.values::<bool>()?[row] = false;
        Ok(())
    }
}

impl Output for Count {
    const NAME: &'static str = "mallard_sequence_count";
    fn returns() -> LogicalType {
        LogicalType::new(TypeId::BigInt)
    }
    fn write(e: &mut SequenceEvents, p: &Pattern, out: &mut VectorMut<'_>, row: usize) -> Result<(), String> {
        out.values::<i64>()?[row] = e.count(p)? as i64;
        Ok(())
    }
    fn empty(out: &mut VectorMut<'_>, row: usize) -> Result<(), String> {
        out.values::<i64>()?[row] = 0;
        Ok(())
    }
}

impl Output for MatchEvents {
    const NAME: &'static str = "mallard_sequence_match_events";
    fn returns() -> LogicalType {
        LogicalType::list(&LogicalType::new(TypeId::Timestamp))
    }
    fn write(e: &mut SequenceEvents, p: &Pattern, out: &mut VectorMut<'_>, row: usize) -> Result<(), String> {
        out.set_list::<i64>(row, &e.match_events(p)?)
    }
    fn empty(out: &mut VectorMut<'_>, row: usize) -> Result<(), String> {
        out.set_list::<i64>(row, &[])
    }
}

pub struct Sequence<O>(PhantomData<O>);

impl<O: Output> Aggregate for Sequence<O> {
    type State = State;
    type Input<'a> = Input<'a>;

    fn input<'a>(chunk: &Chunk<'a>) -> Result<Input<'a>, String> {
        let texts = chunk.strings(0)?;
        let conditions = chunk.columns() - 2;
        let patterns = PerRow::build(
            chunk.len(),
            |row| conditions::text(&texts, row, O::NAME, "pattern"),
            |text| {
                let parsed = pattern::parse(&String::from_utf8_lossy(text), conditions);
                parsed.map(Arc::new).map_err(|e| format!("{}: {e}", O::NAME))
            },
        )?;
        Ok(Input { patterns, ts: chunk.column::<i64>(1)?, conditions: Conditions::new(chunk, 2)? })
    }

    #[inline]
    fn update(state: &mut State, input: &Input<'_>, row: usize) -> Result<(), String> {
        let parsed = input.patterns.get(row);
        match &state.pattern {
            None => state.pattern = Some(Arc::clone(parsed)),
            Some(p) => {
                if !Arc::ptr_eq(p, parsed) {
                    conditions::same(p.text.as_str(), parsed.text.as_str(), O::NAME, "pattern")?;
                }
            }
        }
        if let (Some(ts), Some(mask)) = (input.ts.get(row), input.conditions.mask(row)) {
            state.events.add(ts, mask as u32);
        }
        Ok(())
    }

    fn combine(source: &State, target: &mut State) -> Result<(), String> {
        let Some(p) = &source.pattern else { return Ok(()) };
        match &target.pattern {
            None => target.pattern = Some(Arc::clone(p)),
            Some(t) => conditions::same(t.text.as_str(), p.text.as_str(), O::NAME, "pattern")?,
        }
        target.events.merge(&source.events);
        Ok(())
    }

    fn finalize(state: &mut State, out: &mut VectorMut<'_>, row: usize, _args: usize) -> Result<(), String> {
        match &state.pattern {
            Some(p) => O::write(&mut state.events, p, out, row).map_err(|e| format!("{}: {e}", O::NAME)),
            None => O::empty(out, row),
        }
    }
}

fn register_one<O: Output>(con: &Connection) -> Result<(), String> {
    let t = LogicalType::new;
    let overloads = (2..=MAX_CONDITIONS)
        .map(|n| {
            let mut params = vec![t(TypeId::Varchar), t(TypeId::Timestamp)];
            params.extend((0..n).map(|_| t(TypeId::Boolean)));
            (params, O::returns())
        })
        .collect();
    register_aggregate::<Sequence<O>>(con, O::NAME, overloads)
}

pub fn register(con: &Connection) -> Result<(), String> {
    register_one::<Match>(con)?;
    register_one::<Count>(con)?;
    register_one::<MatchEvents>(con)
}
