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
use mallard_core::report::Granularity;
use mallard_core::step::{self, Steps};
use mallard_core::tally::{Tally, period_number};
use mallard_core::walk::Walk;

use crate::conditions;
use crate::ffi::{
    Aggregate, Chunk, Column, Connection, Interval, LogicalType, Strings, TypeId, VectorMut, register_aggregate,
};

/// What a walk counts, from its constant arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    Funnel {
        funnel: Funnel,
        steps: Vec<String>,
    },
    /// Period, periods.
    Retention(Granularity, usize),
    Sequences {
        pattern: String,
        steps: Vec<String>,
    },
    Flow {
        forward: bool,
        depth: usize,
        page: String,
    },
}

impl Spec {
    fn tally(&self) -> Result<Tally, String> {
        match self {
            Spec::Funnel { funnel, .. } => Ok(Tally::funnel(*funnel)),
            Spec::Retention(_, periods) => Tally::retention(*periods),
            Spec::Sequences { pattern, steps } => Tally::sequences(pattern, steps.len()),
            Spec::Flow { forward, depth, .. } => Tally::flow(*forward, *depth),
        }
    }

    /// The steps rows are matched against (the flow's page is its one step).
    fn steps(&self) -> Result<Option<Steps>, String> {
        let texts = match self {
            Spec::Funnel { steps, .. } | Spec::Sequences { steps, .. } => steps.clone(),
            Spec::Flow { page, .. } => vec![page.clone()],
            Spec::Retention(..) => return Ok(None),
        };
        Ok(Some(Steps::new(&step::parse_all(&texts, MAX_STEPS)?)))
    }
}

#[derive(Default)]
pub struct State {
    spec: Option<Spec>,
    steps: Option<Steps>,
    walk: Walk,
}

impl State {
    /// Takes `spec` on first use (compiling its steps), else checks it is the same.
    fn configure<K: Kind>(&mut self, spec: &Spec) -> Result<(), String> {
        match &self.spec {
            None => {
                self.steps = spec.steps().map_err(|e| format!("{}: {e}", K::NAME))?;
                self.walk = spec.tally().map_err(|e| format!("{}: {e}", K::NAME))?.walk();
                self.spec = Some(spec.clone());
                Ok(())
            }
            Some(s) => conditions::same(s, spec, K::NAME, "the constant arguments"),
        }
    }
}

/// What each row brings beyond its place.
pub enum Rows<'a> {
    /// An event's step codes (see `mallard_core::step::Steps`).
    Steps(Codes<'a>),
    /// The local time whose period counts.
    Period(Column<'a, i64>),
    /// A page view's visit, page and step codes.
    Flow { visit: Column<'a, u64>, path: Strings<'a>, codes: Codes<'a> },
}

/// A row's name code, page code and pattern bits.
pub struct Codes<'a> {
    name: Column<'a, i32>,
    page: Column<'a, i32>,
    patterns: Column<'a, u32>,
}

impl<'a> Codes<'a> {
    fn read(chunk: &Chunk<'a>, first: usize) -> Result<Codes<'a>, String> {
        Ok(Codes { name: chunk.column(first)?, page: chunk.column(first + 1)?, patterns: chunk.column(first + 2)? })
    }

    #[inline]
    fn mask(&self, steps: Option<&Steps>, row: usize) -> u32 {
        let code = |c: &Column<'_, i32>| c.get(row).map_or(0, |v| usize::try_from(v).unwrap_or(0));
        steps.map_or(0, |s| s.mask(code(&self.name), code(&self.page), self.patterns.get(row).unwrap_or(0)))
    }
}

pub struct Input<'a> {
    spec: Option<Spec>,
    file: Column<'a, u64>,
    row: Column<'a, i64>,
    visitor: Column<'a, u64>,
    ts: Column<'a, i64>,
    rows: Rows<'a>,
}

/// One walk aggregate: its name, constant arguments and result.
pub trait Kind: 'static {
    const NAME: &'static str;
    /// How many constant arguments come first.
    const CONSTANTS: usize;
    /// The constant arguments' types, then the place's, then the rows'.
    fn parameters() -> Vec<LogicalType>;
    fn returns() -> LogicalType;
    /// The spec on row 0 of a chunk.
    fn spec(chunk: &Chunk<'_>) -> Result<Spec, String>;
    /// The columns after the place, from column `first`.
    fn rows<'a>(chunk: &Chunk<'a>, first: usize) -> Result<Rows<'a>, String>;
    /// Writes the counts (`None`: no rows) at `row`.
    fn output(tally: Option<&Tally>, out: &mut VectorMut<'_>, row: usize) -> Result<(), String>;
}

pub struct Walked<K>(std::marker::PhantomData<K>);

impl<K: Kind> Aggregate for Walked<K> {
    type State = State;
    type Input<'a> = Input<'a>;

    fn input<'a>(chunk: &Chunk<'a>) -> Result<Input<'a>, String> {
        let c = K::CONSTANTS;
        Ok(Input {
            spec: if chunk.is_empty() { None } else { Some(K::spec(chunk)?) },
            file: chunk.column(c)?,
            row: chunk.column(c + 1)?,
            visitor: chunk.column(c + 2)?,
            ts: chunk.column(c + 3)?,
            rows: K::rows(chunk, c + 4)?,
        })
    }

    #[inline]
    fn update(state: &mut State, input: &Input<'_>, row: usize) -> Result<(), String> {
        if let Some(spec) = &input.spec
            && (state.spec.is_none() || row == 0)
        {
            state.configure::<K>(spec)?;
        }
        // Rows without a place, a visitor or a time belong to no walk.
        let (Some(file), Some(number), Some(visitor), Some(ts)) =
            (input.file.get(row), input.row.get(row), input.visitor.get(row), input.ts.get(row))
        else {
            return Ok(());
        };
        let steps = state.steps.as_ref();
        let (key, visit, text) = match &input.rows {
            Rows::Steps(codes) => (codes.mask(steps, row), 0, &[][..]),
            Rows::Period(local) => {
                let (Some(local), Some(Spec::Retention(period, _))) = (local.get(row), &state.spec) else {
                    return Ok(());
                };
                (period_number(*period, local) as u32, 0, &[][..])
            }
            Rows::Flow { visit, path, codes } => {
                // A page view without a page is no step of a path.
                let Some(p) = path.get(row) else { return Ok(()) };
                (codes.mask(steps, row), visit.get(row).unwrap_or(0), p)
            }
        };
        state.walk.push(file, number, visitor, ts, key, visit, text);
        Ok(())
    }

    fn update_all(state: &mut State, input: &Input<'_>, rows: usize) -> Result<(), String> {
        let Some(spec) = &input.spec else { return Ok(()) };
        state.configure::<K>(spec)?;
        // Without NULLs, the rows of a walk over steps take a tight loop.
        let place = (input.file.all_valid(), input.row.all_valid(), input.visitor.all_valid(), input.ts.all_valid());
        if let ((Some(file), Some(number), Some(visitor), Some(ts)), Rows::Steps(codes), Some(steps)) =
            (place, &input.rows, state.steps.as_ref())
            && let (Some(name), Some(page), Some(patterns)) =
                (codes.name.all_valid(), codes.page.all_valid(), codes.patterns.all_valid())
        {
            for r in 0..rows {
                let key = steps.mask(name[r].max(0) as usize, page[r].max(0) as usize, patterns[r]);
                state.walk.push(file[r], number[r], visitor[r], ts[r], key, 0, &[]);
            }
            return Ok(());
        }
        if let ((Some(file), Some(number), Some(visitor), Some(ts)), Rows::Flow { visit, path, codes }, Some(steps)) =
            (place, &input.rows, state.steps.as_ref())
            && let (Some(visit), Some(name), Some(page), Some(patterns)) =
                (visit.all_valid(), codes.name.all_valid(), codes.page.all_valid(), codes.patterns.all_valid())
        {
            for r in 0..rows {
                // A page view without a page is no step of a path.
                let Some(p) = path.get(r) else { continue };
                let key = steps.mask(name[r].max(0) as usize, page[r].max(0) as usize, patterns[r]);
                state.walk.push(file[r], number[r], visitor[r], ts[r], key, visit[r], p);
            }
            return Ok(());
        }
        (0..rows).try_for_each(|row| Self::update(state, input, row))
    }

    fn combine(source: &State, target: &mut State) -> Result<(), String> {
        let Some(spec) = &source.spec else { return Ok(()) };
        target.configure::<K>(spec)?;
        target.walk.append(&source.walk);
        Ok(())
    }

    fn finalize(state: &mut State, out: &mut VectorMut<'_>, row: usize, _args: usize) -> Result<(), String> {
        let Some(spec) = &state.spec else { return K::output(None, out, row) };
        let walk = std::mem::take(&mut state.walk);
        // The merge splits the visitors over the machine's cores (the scan
        // that filled the walk is over, so they are idle).
        let parts =
            if walk.len() < 1 << 16 { 1 } else { std::thread::available_parallelism().map_or(1, |n| n.get().min(8)) };
        let tallies =
            (0..parts).map(|_| spec.tally()).collect::<Result<Vec<_>, _>>().map_err(|e| format!("{}: {e}", K::NAME))?;
        let mut tallies = walk
            .merge_parts(tallies, |tally, visitor| tally.add(visitor, walk.texts()))
            .map_err(|e| format!("{}: {e}", K::NAME))?
            .into_iter();
        let mut tally = tallies.next().ok_or_else(|| format!("{}: internal error: no tally", K::NAME))?;
        tallies.for_each(|t| tally.merge(t));
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
    Ok(String::from_utf8_lossy(&conditions::text(&strings, 0, name, what)?).into_owned())
}

/// A row's step codes: name code, page code, pattern bits.
fn codes() -> [LogicalType; 3] {
    [t(TypeId::Integer), t(TypeId::Integer), t(TypeId::UInteger)]
}

fn texts() -> LogicalType {
    LogicalType::list(&t(TypeId::Varchar))
}

fn constant_texts(chunk: &Chunk<'_>, col: usize, name: &str, what: &str) -> Result<Vec<String>, String> {
    chunk.text_list(col, 0)?.ok_or_else(|| format!("{name}: {what} must not be NULL"))
}

fn constant_int(chunk: &Chunk<'_>, col: usize, name: &str, what: &str) -> Result<usize, String> {
    let n = chunk.column::<i32>(col)?.get(0).ok_or_else(|| format!("{name}: {what} must not be NULL"))?;
    usize::try_from(n).map_err(|_| format!("{name}: {what} must not be negative, got {n}"))
}

/// `mallard_walk_funnel(window, mode, steps, file, file_row, visitor_id, ts, name_code, page_code, pattern_bits)`
/// → visitors by the deepest step reached (`[level 0, level 1, …]`).
pub struct FunnelKind;

impl Kind for FunnelKind {
    const NAME: &'static str = "mallard_walk_funnel";
    const CONSTANTS: usize = 3;

    fn parameters() -> Vec<LogicalType> {
        let mut p = vec![t(TypeId::Interval), t(TypeId::Varchar), texts()];
        p.extend(place());
        p.extend(codes());
        p
    }

    fn returns() -> LogicalType {
        LogicalType::list(&t(TypeId::BigInt))
    }

    fn spec(chunk: &Chunk<'_>) -> Result<Spec, String> {
        let window = conditions::interval(&chunk.column::<Interval>(0)?, 0, Self::NAME, "window")?;
        let window = conditions::fixed_interval(window, Self::NAME, "window")?;
        let mode = constant_text(chunk, 1, Self::NAME, "mode")?;
        let steps = constant_texts(chunk, 2, Self::NAME, "steps")?;
        let modes = Modes::parse(&mode).map_err(|e| format!("{}: {e}", Self::NAME))?;
        step::parse_all(&steps, MAX_STEPS).map_err(|e| format!("{}: {e}", Self::NAME))?;
        let funnel = Funnel::new(window, steps.len(), modes).map_err(|e| format!("{}: {e}", Self::NAME))?;
        Ok(Spec::Funnel { funnel, steps })
    }

    fn rows<'a>(chunk: &Chunk<'a>, first: usize) -> Result<Rows<'a>, String> {
        Ok(Rows::Steps(Codes::read(chunk, first)?))
    }

    fn output(tally: Option<&Tally>, out: &mut VectorMut<'_>, row: usize) -> Result<(), String> {
        match tally {
            Some(Tally::Funnel { levels, .. }) => out.set_list::<i64>(row, levels),
            _ => out.set_list::<i64>(row, &[]),
        }
    }
}

/// `mallard_walk_retention(period, periods, file, file_row, visitor_id, ts, local_ts)`
/// → per cohort (the number of the first `period` a visitor was active in,
/// by `local_ts`; see `mallard_core::tally::period_number`) and period after
/// it, the cohort's size and its visitors active then.
pub struct RetentionKind;

impl Kind for RetentionKind {
    const NAME: &'static str = "mallard_walk_retention";
    const CONSTANTS: usize = 2;

    fn parameters() -> Vec<LogicalType> {
        let mut p = vec![t(TypeId::Varchar), t(TypeId::Integer)];
        p.extend(place());
        p.push(t(TypeId::Timestamp));
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
        let period = match Granularity::parse(&constant_text(chunk, 0, Self::NAME, "period")?) {
            Ok(Granularity::Hour) | Err(_) => return Err(format!("{}: period must be day, week or month", Self::NAME)),
            Ok(p) => p,
        };
        Ok(Spec::Retention(period, constant_int(chunk, 1, Self::NAME, "periods")?))
    }

    fn rows<'a>(chunk: &Chunk<'a>, first: usize) -> Result<Rows<'a>, String> {
        Ok(Rows::Period(chunk.column(first)?))
    }

    fn output(tally: Option<&Tally>, out: &mut VectorMut<'_>, row: usize) -> Result<(), String> {
        let Some(Tally::Retention { periods, cohorts, .. }) = tally else { return out.list_items(row, 0).map(|_| ()) };
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

/// `mallard_walk_sequences(pattern, steps, file, file_row, visitor_id, ts, name_code, page_code, pattern_bits)`
/// → `[visitors matching, all visitors]`.
pub struct SequencesKind;

impl Kind for SequencesKind {
    const NAME: &'static str = "mallard_walk_sequences";
    const CONSTANTS: usize = 2;

    fn parameters() -> Vec<LogicalType> {
        let mut p = vec![t(TypeId::Varchar), texts()];
        p.extend(place());
        p.extend(codes());
        p
    }

    fn returns() -> LogicalType {
        LogicalType::list(&t(TypeId::BigInt))
    }

    fn spec(chunk: &Chunk<'_>) -> Result<Spec, String> {
        let pattern = constant_text(chunk, 0, Self::NAME, "pattern")?;
        let steps = constant_texts(chunk, 1, Self::NAME, "steps")?;
        step::parse_all(&steps, mallard_core::sequence::MAX_CONDITIONS).map_err(|e| format!("{}: {e}", Self::NAME))?;
        mallard_core::pattern::parse(&pattern, steps.len()).map_err(|e| format!("{}: {e}", Self::NAME))?;
        Ok(Spec::Sequences { pattern, steps })
    }

    fn rows<'a>(chunk: &Chunk<'a>, first: usize) -> Result<Rows<'a>, String> {
        Ok(Rows::Steps(Codes::read(chunk, first)?))
    }

    fn output(tally: Option<&Tally>, out: &mut VectorMut<'_>, row: usize) -> Result<(), String> {
        match tally {
            Some(Tally::Sequences { matching, total, .. }) => out.set_list::<i64>(row, &[*matching, *total]),
            _ => out.set_list::<i64>(row, &[0, 0]),
        }
    }
}

/// `mallard_walk_flow(direction, depth, page, file, file_row, visitor_id, ts, visit_id, pathname, name_code, page_code, pattern_bits)`
/// over page views → the edges `(step, from_page, to_page, visitors)`; `page`
/// is a step like `'page:/pricing'`.
pub struct FlowKind;

impl Kind for FlowKind {
    const NAME: &'static str = "mallard_walk_flow";
    const CONSTANTS: usize = 3;

    fn parameters() -> Vec<LogicalType> {
        let mut p = vec![t(TypeId::Varchar), t(TypeId::Integer), t(TypeId::Varchar)];
        p.extend(place());
        p.extend([t(TypeId::UBigInt), t(TypeId::Varchar)]);
        p.extend(codes());
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
        let depth = constant_int(chunk, 1, Self::NAME, "depth")?;
        let page = constant_text(chunk, 2, Self::NAME, "page")?;
        step::parse(&page).map_err(|e| format!("{}: {e}", Self::NAME))?;
        Ok(Spec::Flow { forward, depth, page })
    }

    fn rows<'a>(chunk: &Chunk<'a>, first: usize) -> Result<Rows<'a>, String> {
        Ok(Rows::Flow {
            visit: chunk.column(first)?,
            path: chunk.strings(first + 1)?,
            codes: Codes::read(chunk, first + 2)?,
        })
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
