//! `mallard_sequence_next_node(direction VARCHAR, base VARCHAR, ts TIMESTAMP,
//! value VARCHAR, base_condition BOOLEAN, event1 BOOLEAN, …) → VARCHAR`:
//! ClickHouse's `sequenceNextNode(direction, base)(ts, value, base_condition,
//! event1, …)` with 0 to 64 events. Direction and base must be the same on
//! every row. The logic is `mallard_core::next_node`.

use mallard_core::next_node::{MAX_EVENTS, NextNode, Node, Nodes};

use crate::conditions::{self, Conditions, PerRow};
use crate::ffi::{Aggregate, Chunk, Column, Connection, LogicalType, Strings, TypeId, VectorMut, register_aggregate};

const NAME: &str = "mallard_sequence_next_node";

#[derive(Default)]
pub struct State {
    config: Option<NextNode>,
    nodes: Nodes,
}

pub struct Input<'a> {
    configs: PerRow<NextNode>,
    ts: Column<'a, i64>,
    value: Strings<'a>,
    /// The base condition and the events: bit 0 = base condition.
    conditions: Conditions<'a>,
}

pub struct SequenceNextNode;

impl Aggregate for SequenceNextNode {
    type State = State;
    type Input<'a> = Input<'a>;

    fn input<'a>(chunk: &Chunk<'a>) -> Result<Input<'a>, String> {
        let (direction, base) = (chunk.strings(0)?, chunk.strings(1)?);
        let events = chunk.columns() - 5;
        let configs = PerRow::build(
            chunk.len(),
            |row| {
                Ok((conditions::text(&direction, row, NAME, "direction")?, conditions::text(&base, row, NAME, "base")?))
            },
            |(d, b)| {
                NextNode::new(&String::from_utf8_lossy(d), &String::from_utf8_lossy(b), events)
                    .map_err(|e| format!("{NAME}: {e}"))
            },
        )?;
        Ok(Input {
            configs,
            ts: chunk.column::<i64>(2)?,
            value: chunk.strings(3)?,
            conditions: Conditions::new(chunk, 4)?,
        })
    }

    #[inline]
    fn update(state: &mut State, input: &Input<'_>, row: usize) -> Result<(), String> {
        let config = *input.configs.get(row);
        match state.config {
            None => state.config = Some(config),
            Some(c) => conditions::same(c, config, NAME, "direction and base")?,
        }
        let (Some(ts), Some(value), Some(mask)) = (input.ts.get(row), input.value.get(row), input.conditions.mask(row))
        else {
            return Ok(());
        };
        if state.nodes.ignores(ts, value) {
            return Ok(());
        }
        let node = Node { ts, value: value.into(), events: mask >> 1, can_be_base: mask & 1 == 1 };
        state.nodes.add(&config, node);
        Ok(())
    }

    fn combine(source: &State, target: &mut State) -> Result<(), String> {
        let Some(config) = source.config else { return Ok(()) };
        match target.config {
            None => target.config = Some(config),
            Some(c) => conditions::same(c, config, NAME, "direction and base")?,
        }
        target.nodes.merge(&config, &source.nodes);
        Ok(())
    }

    fn finalize(state: &mut State, out: &mut VectorMut<'_>, row: usize, _args: usize) -> Result<(), String> {
        match state.config.and_then(|c| state.nodes.result(&c)) {
            Some(value) => out.set_str(row, value),
            None => out.set_null(row),
        }
        Ok(())
    }
}

pub fn register(con: &Connection) -> Result<(), String> {
    let t = LogicalType::new;
    let overloads = (0..=MAX_EVENTS)
        .map(|n| {
            let mut params = vec![
                t(TypeId::Varchar),
                t(TypeId::Varchar),
                t(TypeId::Timestamp),
                t(TypeId::Varchar),
                t(TypeId::Boolean),
            ];
            params.extend((0..n).map(|_| t(TypeId::Boolean)));
            (params, t(TypeId::Varchar))
        })
        .collect();
    register_aggregate::<SequenceNextNode>(con, NAME, overloads)
}
