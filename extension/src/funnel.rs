//! `mallard_window_funnel(window INTERVAL, [mode VARCHAR,] ts TIMESTAMP,
//! cond1 BOOLEAN, …, condN BOOLEAN) → INTEGER`: ClickHouse's
//! `windowFunnel(window[, modes…])(ts, cond1, …)`, N from 1 to 32. The
//! window and mode must be the same on every row of a group; `mode` lists
//! ClickHouse's modes comma-separated. The logic is `mallard_core::funnel`.

use mallard_core::funnel::{Funnel, FunnelEvents, MAX_STEPS, Modes};

use crate::conditions::{self, Conditions, PerRow};
use crate::ffi::{Aggregate, Chunk, Column, Connection, Interval, LogicalType, TypeId, VectorMut, register_aggregate};

const NAME: &str = "mallard_window_funnel";

#[derive(Default)]
pub struct State {
    funnel: Option<Funnel>,
    events: FunnelEvents,
}

pub struct Input<'a> {
    funnels: PerRow<Funnel>,
    ts: Column<'a, i64>,
    conditions: Conditions<'a>,
}

pub struct WindowFunnel;

impl Aggregate for WindowFunnel {
    type State = State;
    type Input<'a> = Input<'a>;

    fn input<'a>(chunk: &Chunk<'a>) -> Result<Input<'a>, String> {
        let has_mode = chunk.is_varchar(1);
        let ts_col = if has_mode { 2 } else { 1 };
        let steps = chunk.columns() - ts_col - 1;
        let windows = chunk.column::<Interval>(0)?;
        let modes = if has_mode { Some(chunk.strings(1)?) } else { None };
        let funnels = PerRow::build(
            chunk.len(),
            |row| {
                let window = conditions::interval(&windows, row, NAME, "window")?;
                let mode = match &modes {
                    Some(m) => conditions::text(m, row, NAME, "mode")?,
                    None => conditions::Text(&[]),
                };
                Ok((window, mode))
            },
            |(window, mode)| {
                let micros = conditions::fixed_interval(*window, NAME, "window")?;
                let modes = Modes::parse(&String::from_utf8_lossy(mode)).map_err(|e| format!("{NAME}: {e}"))?;
                Funnel::new(micros, steps, modes).map_err(|e| format!("{NAME}: {e}"))
            },
        )?;
        Ok(Input { funnels, ts: chunk.column::<i64>(ts_col)?, conditions: Conditions::new(chunk, ts_col + 1)? })
    }

    #[inline]
    fn update(state: &mut State, input: &Input<'_>, row: usize) -> Result<(), String> {
        let funnel = *input.funnels.get(row);
        match state.funnel {
            None => state.funnel = Some(funnel),
            Some(f) => conditions::same(f, funnel, NAME, "window and mode")?,
        }
        if let (Some(ts), Some(mask)) = (input.ts.get(row), input.conditions.mask(row)) {
            state.events.add(&funnel, ts, mask as u32);
        }
        Ok(())
    }

    fn combine(source: &State, target: &mut State) -> Result<(), String> {
        match (source.funnel, target.funnel) {
            (None, _) => return Ok(()),
            (Some(s), None) => target.funnel = Some(s),
            (Some(s), Some(t)) => conditions::same(s, t, NAME, "window and mode")?,
        }
        target.events.merge(&source.events);
        Ok(())
    }

    fn finalize(state: &mut State, out: &mut VectorMut<'_>, row: usize, _args: usize) -> Result<(), String> {
        let level = match &state.funnel {
            Some(f) => state.events.level(f),
            None => 0,
        };
        out.values::<i32>()?[row] = i32::from(level);
        Ok(())
    }
}

pub fn register(con: &Connection) -> Result<(), String> {
    let t = LogicalType::new;
    let mut overloads = Vec::new();
    for n in 1..=MAX_STEPS {
        for with_mode in [false, true] {
            let mut params = vec![t(TypeId::Interval)];
            if with_mode {
                params.push(t(TypeId::Varchar));
            }
            params.push(t(TypeId::Timestamp));
            params.extend((0..n).map(|_| t(TypeId::Boolean)));
            overloads.push((params, t(TypeId::Integer)));
        }
    }
    register_aggregate::<WindowFunnel>(con, NAME, overloads)
}
