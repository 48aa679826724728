//! The walk aggregates behind the behavioural reports:
//! `mallard_walk_funnel`, `mallard_walk_retention`, `mallard_walk_sequences`
//! and `mallard_walk_flow`. Each takes its constant arguments, then each
//! row's `file` (its file's index), `file_row` (its row number in the file),
//! `visitor_id`, `ts` and what the report needs of it; it gathers the rows
//! as the scan hands them over (`mallard_core::walk`) and, at the end,
//! merges the lake's sorted files visitor by visitor and counts
//! (`mallard_core::tally`). No hash table: the files' own order does the
//! grouping. The report SQL in `sql/` calls them; users may too.

use mallard_core::funnel::{Funnel, MAX_STEPS, Modes};
use mallard_core::tally::Tally;
use mallard_core::walk::{Keep, Walk};

use crate::conditions;
use crate::ffi::{
    Aggregate, Chunk, Column, Connection, Interval, LogicalType, Strings, TypeId, VectorMut, register_aggregate,
};

/// What a walk counts, from its constant arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    Funnel(Funnel),
    Retention(usize),
    /// Pattern and number of conditions.
    Sequences(String, usize),
    /// Forward, depth.
    Flow(bool, usize),
}

impl Spec {
    fn tally(&self) -> Result<Tally, String> {
        match self {
            Spec::Funnel(f) => Ok(Tally::funnel(*f)),
            Spec::Retention(periods) => Tally::retention(*periods),
            Spec::Sequences(pattern, n) => Tally::sequences(pattern, *n),
            Spec::Flow(forward, depth) => Tally::flow(*forward, *depth),
        }
    }

    fn walk(&self) -> Walk {
        match self {
            Spec::Funnel(_) => Walk::new(Keep::All, false),
            Spec::Retention(_) => Walk::new(Keep::NewKeys, false),
            Spec::Sequences(..) => Walk::new(Keep::Keyed, false),
            Spec::Flow(..) => Walk::new(Keep::All, true),
        }
    }
}

#[derive(Default)]
pub struct State {
    spec: Option<Spec>,
    walk: Walk,
}

/// Each row's key: step bits, a period number or whether it is the flow's page.
enum Key<'a> {
    Bits(Column<'a, u32>),
    Number(Column<'a, i32>),
    Flag(Column<'a, bool>),
}

pub struct Input<'a> {
    spec: Option<Spec>,
    file: Column<'a, u64>,
    row: Column<'a, i64>,
    visitor: Column<'a, u64>,
    ts: Column<'a, i64>,
    key: Key<'a>,
    visit: Option<Column<'a, u64>>,
    page: Option<Strings<'a>>,
}

/// One walk aggregate: its name, constant arguments and result.
pub trait Kind: 'static {
    const NAME: &'static str;
    /// How many constant arguments come first.
    const CONSTANTS: usize;
    /// The constant arguments' types, the key's and the extra columns'.
    fn parameters() -> Vec<LogicalType>;
    fn returns() -> LogicalType;
    /// The spec on row 0 of a chunk.
    fn spec(chunk: &Chunk<'_>) -> Result<Spec, String>;
    /// Writes the counts (`None`: no rows) at `row`.
    fn output(tally: Option<&Tally>, out: &mut VectorMut<'_>, row: usize) -> Result<(), String>;
}

pub struct Walked<K>(std::marker::PhantomData<K>);

impl<K: Kind> Aggregate for Walked<K> {
    type State = State;
    type Input<'a> = Input<'a>;

    fn input<'a>(chunk: &Chunk<'a>) -> Result<Input<'a>, String> {
        let c = K::CONSTANTS;
        let key = match chunk.column::<u32>(c + 4) {
            Ok(bits) => Key::Bits(bits),
            Err(_) => match chunk.column::<i32>(c + 4) {
                Ok(n) => Key::Number(n),
                Err(_) => Key::Flag(chunk.column::<bool>(c + 4)?),
            },
        };
        let flow = chunk.columns() > c + 5;
        Ok(Input {
            spec: if chunk.is_empty() { None } else { Some(K::spec(chunk)?) },
            file: chunk.column(c)?,
            row: chunk.column(c + 1)?,
            visitor: chunk.column(c + 2)?,
            ts: chunk.column(c + 3)?,
            key,
            visit: if flow { Some(chunk.column(c + 5)?) } else { None },
            page: if flow { Some(chunk.strings(c + 6)?) } else { None },
        })
    }

    #[inline]
    fn update(state: &mut State, input: &Input<'_>, row: usize) -> Result<(), String> {
        match (&state.spec, &input.spec) {
            (None, Some(spec)) => {
                state.walk = spec.walk();
                state.spec = Some(spec.clone());
            }
            (Some(s), Some(i)) if row == 0 => conditions::same(s, i, K::NAME, "the constant arguments")?,
            _ => {}
        }
        // Rows without a place, a visitor or a time belong to no walk.
        let (Some(file), Some(number), Some(visitor), Some(ts)) =
            (input.file.get(row), input.row.get(row), input.visitor.get(row), input.ts.get(row))
        else {
            return Ok(());
        };
        let key = match &input.key {
            Key::Bits(c) => c.get(row).unwrap_or(0),
            Key::Number(c) => c.get(row).unwrap_or(0) as u32,
            Key::Flag(c) => u32::from(c.get(row).unwrap_or(false)),
        };
        let visit = input.visit.as_ref().and_then(|c| c.get(row)).unwrap_or(0);
        let page = input.page.as_ref().and_then(|c| c.get(row));
        if input.page.is_some() && page.is_none() {
            // A page view without a page is no step of a path.
            return Ok(());
        }
        state.walk.push(file, number, visitor, ts, key, visit, page.unwrap_or_default());
        Ok(())
    }

    fn combine(source: &State, target: &mut State) -> Result<(), String> {
        let Some(spec) = &source.spec else { return Ok(()) };
        match &target.spec {
            None => {
                target.walk = spec.walk();
                target.spec = Some(spec.clone());
            }
            Some(t) => conditions::same(spec, t, K::NAME, "the constant arguments")?,
        }
        target.walk.append(&source.walk);
        Ok(())
    }

    fn finalize(state: &mut State, out: &mut VectorMut<'_>, row: usize, _args: usize) -> Result<(), String> {
        let Some(spec) = &state.spec else { return K::output(None, out, row) };
        let mut tally = spec.tally().map_err(|e| format!("{}: {e}", K::NAME))?;
        let walk = std::mem::take(&mut state.walk);
        walk.merge(|visitor| tally.add(visitor, walk.texts())).map_err(|e| format!("{}: {e}", K::NAME))?;
        K::output(Some(&tally), out, row)
    }
}

fn t(id: TypeId) -> LogicalType {
    LogicalType::new(id)
}

/// The columns every walk takes after its constants.
fn place() -> Vec<LogicalType> {
    vec![t(TypeId::UBigInt), t(TypeId::BigInt), t(TypeId::UBigInt), t(TypeId::Timestamp)]
}

fn constant_text<'a>(chunk: &Chunk<'a>, col: usize, name: &str, what: &str) -> Result<String, String> {
    let strings = chunk.strings(col)?;
    Ok(String::from_utf8_lossy(conditions::text(&strings, 0, name, what)?).into_owned())
}

fn constant_int(chunk: &Chunk<'_>, col: usize, name: &str, what: &str) -> Result<usize, String> {
    let n = chunk.column::<i32>(col)?.get(0).ok_or_else(|| format!("{name}: {what} must not be NULL"))?;
    usize::try_from(n).map_err(|_| format!("{name}: {what} must not be negative, got {n}"))
}

/// `mallard_walk_funnel(window, mode, steps, file, file_row, visitor_id, ts, step_bits)`
/// → visitors by the deepest step reached (`[level 0, level 1, …]`).
pub struct FunnelKind;

impl Kind for FunnelKind {
    const NAME: &'static str = "mallard_walk_funnel";
    const CONSTANTS: usize = 3;

    fn parameters() -> Vec<LogicalType> {
        let mut p = vec![t(TypeId::Interval), t(TypeId::Varchar), t(TypeId::Integer)];
        p.extend(place());
        p.push(t(TypeId::UInteger));
        p
    }

    fn returns() -> LogicalType {
        LogicalType::list(&t(TypeId::BigInt))
    }

    fn spec(chunk: &Chunk<'_>) -> Result<Spec, String> {
        let window = conditions::interval(&chunk.column::<Interval>(0)?, 0, Self::NAME, "window")?;
        let window = conditions::fixed_interval(window, Self::NAME, "window")?;
        let mode = constant_text(chunk, 1, Self::NAME, "mode")?;
        let steps = constant_int(chunk, 2, Self::NAME, "steps")?;
        let modes = Modes::parse(&mode).map_err(|e| format!("{}: {e}", Self::NAME))?;
        if !(1..=MAX_STEPS).contains(&steps) {
            return Err(format!("{}: steps must be 1 to {MAX_STEPS}, got {steps}", Self::NAME));
        }
        Ok(Spec::Funnel(Funnel::new(window, steps, modes).map_err(|e| format!("{}: {e}", Self::NAME))?))
    }

    fn output(tally: Option<&Tally>, out: &mut VectorMut<'_>, row: usize) -> Result<(), String> {
        match tally {
            Some(Tally::Funnel { levels, .. }) => out.set_list::<i64>(row, levels),
            _ => out.set_list::<i64>(row, &[]),
        }
    }
}

/// `mallard_walk_retention(periods, file, file_row, visitor_id, ts, period)`
/// → per cohort (the first period number) and period after it, the cohort's
/// size and its visitors active then.
pub struct RetentionKind;

impl Kind for RetentionKind {
    const NAME: &'static str = "mallard_walk_retention";
    const CONSTANTS: usize = 1;

    fn parameters() -> Vec<LogicalType> {
        let mut p = vec![t(TypeId::Integer)];
        p.extend(place());
        p.push(t(TypeId::Integer));
        p
    }

    fn returns() -> LogicalType {
        LogicalType::list(&LogicalType::structure(&[
            ("cohort", t(TypeId::Integer)),
            ("cohort_size", t(TypeId::BigInt)),
            ("period_number", t(TypeId::Integer)),
            ("visitors", t(TypeId::BigInt)),
        ]))
    }

    fn spec(chunk: &Chunk<'_>) -> Result<Spec, String> {
        Ok(Spec::Retention(constant_int(chunk, 0, Self::NAME, "periods")?))
    }

    fn output(tally: Option<&Tally>, out: &mut VectorMut<'_>, row: usize) -> Result<(), String> {
        let Some(Tally::Retention { periods, cohorts }) = tally else { return out.list_items(row, 0).map(|_| ()) };
        let (mut items, at) = out.list_items(row, cohorts.len() * periods)?;
        let mut fields = items.struct_children(4);
        let [cohort, size, number, visitors] = &mut fields[..] else { unreachable!("four fields") };
        let mut i = at;
        for (c, (n, returned)) in cohorts {
            for (k, r) in returned.iter().enumerate() {
                cohort.values::<i32>()?[i] = *c;
                size.values::<i64>()?[i] = *n;
                number.values::<i32>()?[i] = k as i32;
                visitors.values::<i64>()?[i] = *r;
                i += 1;
            }
        }
        Ok(())
    }
}

/// `mallard_walk_sequences(pattern, conditions, file, file_row, visitor_id, ts, step_bits)`
/// → `[visitors matching, all visitors]`.
pub struct SequencesKind;

impl Kind for SequencesKind {
    const NAME: &'static str = "mallard_walk_sequences";
    const CONSTANTS: usize = 2;

    fn parameters() -> Vec<LogicalType> {
        let mut p = vec![t(TypeId::Varchar), t(TypeId::Integer)];
        p.extend(place());
        p.push(t(TypeId::UInteger));
        p
    }

    fn returns() -> LogicalType {
        LogicalType::list(&t(TypeId::BigInt))
    }

    fn spec(chunk: &Chunk<'_>) -> Result<Spec, String> {
        let pattern = constant_text(chunk, 0, Self::NAME, "pattern")?;
        let n = constant_int(chunk, 1, Self::NAME, "conditions")?;
        mallard_core::pattern::parse(&pattern, n).map_err(|e| format!("{}: {e}", Self::NAME))?;
        Ok(Spec::Sequences(pattern, n))
    }

    fn output(tally: Option<&Tally>, out: &mut VectorMut<'_>, row: usize) -> Result<(), String> {
        match tally {
            Some(Tally::Sequences { matching, total, .. }) => out.set_list::<i64>(row, &[*matching, *total]),
            _ => out.set_list::<i64>(row, &[0, 0]),
        }
    }
}

/// `mallard_walk_flow(direction, depth, file, file_row, visitor_id, ts, is_page, visit_id, pathname)`
/// → the edges `(step, from_page, to_page, visitors)`.
pub struct FlowKind;

impl Kind for FlowKind {
    const NAME: &'static str = "mallard_walk_flow";
    const CONSTANTS: usize = 2;

    fn parameters() -> Vec<LogicalType> {
        let mut p = vec![t(TypeId::Varchar), t(TypeId::Integer)];
        p.extend(place());
        p.extend([t(TypeId::Boolean), t(TypeId::UBigInt), t(TypeId::Varchar)]);
        p
    }

    fn returns() -> LogicalType {
        LogicalType::list(&LogicalType::structure(&[
            ("step", t(TypeId::Integer)),
            ("from_page", t(TypeId::Varchar)),
            ("to_page", t(TypeId::Varchar)),
            ("visitors", t(TypeId::BigInt)),
        ]))
    }

    fn spec(chunk: &Chunk<'_>) -> Result<Spec, String> {
        let forward = match constant_text(chunk, 0, Self::NAME, "direction")?.as_str() {
            "forward" => true,
            "backward" => false,
            other => {
                return Err(format!(
                    "{}: unknown direction {}; use 'forward' or 'backward'",
                    Self::NAME,
                    mallard_core::quote::quoted(other)
                ));
            }
        };
        Ok(Spec::Flow(forward, constant_int(chunk, 1, Self::NAME, "depth")?))
    }

    fn output(tally: Option<&Tally>, out: &mut VectorMut<'_>, row: usize) -> Result<(), String> {
        let Some(Tally::Flow { edges, pages, .. }) = tally else { return out.list_items(row, 0).map(|_| ()) };
        let (mut items, at) = out.list_items(row, edges.len())?;
        let mut fields = items.struct_children(4);
        let [step, from, to, visitors] = &mut fields[..] else { unreachable!("four fields") };
        for (i, ((k, f, t), n)) in edges.iter().enumerate() {
            step.values::<i32>()?[at + i] = i32::from(*k);
            from.set_str(at + i, &pages.texts[*f as usize]);
            to.set_str(at + i, &pages.texts[*t as usize]);
            visitors.values::<i64>()?[at + i] = *n;
        }
        Ok(())
    }
}

fn register_kind<K: Kind>(con: &Connection) -> Result<(), String> {
    register_aggregate::<Walked<K>>(con, K::NAME, vec![(K::parameters(), K::returns())])
}

pub fn register(con: &Connection) -> Result<(), String> {
    register_kind::<FunnelKind>(con)?;
    register_kind::<RetentionKind>(con)?;
    register_kind::<SequencesKind>(con)?;
    register_kind::<FlowKind>(con)
}
