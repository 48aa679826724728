//! Aggregate functions through DuckDB's C API (the `duckdb` crate has no
//! aggregate API). One function set per name with one overload per arity
//! (aggregates take no varargs); the name is set on every overload, or the
//! set silently fails to register.
//!
//! DuckDB allocates each state as `state_size` bytes; ours hold the Rust
//! state itself (an `Option`, so that a state is dropped once), written by
//! `init` and dropped by the destructor: no allocation per group, which perf
//! showed at 17% of a grouped window funnel when states were boxed. `combine` may receive freshly initialised targets (window
//! segment trees) and must leave its sources untouched, so it merges by
//! reference. Rows with NULLs reach `update` (special NULL handling): each
//! aggregate decides what a NULL means. Every callback runs under `guard`.

use std::ffi::c_void;
use std::ptr;

use libduckdb_sys as sys;

use super::vector::{Chunk, VectorMut};
use super::{Connection, LogicalType, c_string, guard};

/// An aggregate's logic; the FFI below does the rest.
pub trait Aggregate: 'static {
    type State: Default + Send + 'static;
    /// The typed input columns of a chunk.
    type Input<'a>;
    fn input<'a>(chunk: &Chunk<'a>) -> Result<Self::Input<'a>, String>;
    /// Adds row `row` of `input` to `state`.
    fn update(state: &mut Self::State, input: &Self::Input<'_>, row: usize) -> Result<(), String>;
    /// Adds rows `0..rows` of `input`, all of one group, to `state` (an
    /// aggregate without `GROUP BY` gets whole chunks this way).
    fn update_all(state: &mut Self::State, input: &Self::Input<'_>, rows: usize) -> Result<(), String> {
        (0..rows).try_for_each(|row| Self::update(state, input, row))
    }
    /// Merges `source` into `target` (which may be fresh).
    fn combine(source: &Self::State, target: &mut Self::State) -> Result<(), String>;
    /// Writes the result of `state` at `row` of `out`; `args` is the number
    /// of arguments of the overload (an empty state knows nothing else).
    fn finalize(state: &mut Self::State, out: &mut VectorMut<'_>, row: usize, args: usize) -> Result<(), String>;
}

struct Info {
    name: String,
    args: usize,
}

/// Registers aggregate `A` as `name` with the given `(parameters, return
/// type)` overloads.
pub fn register_aggregate<A: Aggregate>(
    con: &Connection,
    name: &str,
    overloads: Vec<(Vec<LogicalType>, LogicalType)>,
) -> Result<(), String> {
    let c_name = c_string(name);
    // SAFETY: handles are created, configured, registered and destroyed
    // here; DuckDB copies the functions and owns each `Info` through the
    // destroy hook.
    unsafe {
        let mut set = sys::duckdb_create_aggregate_function_set(c_name.as_ptr());
        for (params, returns) in &overloads {
            let mut f = sys::duckdb_create_aggregate_function();
            sys::duckdb_aggregate_function_set_name(f, c_name.as_ptr());
            for p in params {
                sys::duckdb_aggregate_function_add_parameter(f, p.raw);
            }
            sys::duckdb_aggregate_function_set_return_type(f, returns.raw);
            sys::duckdb_aggregate_function_set_functions(
                f,
                Some(state_size::<A>),
                Some(init::<A>),
                Some(update::<A>),
                Some(combine::<A>),
                Some(finalize::<A>),
            );
            sys::duckdb_aggregate_function_set_destructor(f, Some(destroy::<A>));
            sys::duckdb_aggregate_function_set_special_handling(f);
            let info = Box::into_raw(Box::new(Info { name: name.to_string(), args: params.len() }));
            sys::duckdb_aggregate_function_set_extra_info(f, info as *mut c_void, Some(drop_info));
            let state = sys::duckdb_add_aggregate_function_to_set(set, f);
            sys::duckdb_destroy_aggregate_function(&mut f);
            if state != sys::DuckDBSuccess {
                sys::duckdb_destroy_aggregate_function_set(&mut set);
                return Err(format!("mallard: could not add an overload of {name}"));
            }
        }
        let state = sys::duckdb_register_aggregate_function_set(con.raw, set);
        sys::duckdb_destroy_aggregate_function_set(&mut set);
        if state != sys::DuckDBSuccess {
            return Err(format!("mallard: could not register {name}"));
        }
    }
    Ok(())
}

unsafe extern "C" fn drop_info(data: *mut c_void) {
    // SAFETY: the Box leaked in `register_aggregate`, dropped once.
    drop(unsafe { Box::from_raw(data as *mut Info) });
}

/// Each state slot holds an `Option<A::State>` in place.
unsafe extern "C" fn state_size<A: Aggregate>(_info: sys::duckdb_function_info) -> sys::idx_t {
    const {
        // DuckDB aligns states to 8 bytes.
        assert!(std::mem::align_of::<Option<A::State>>() <= 8, "aggregate states must align to 8 bytes or less");
    }
    std::mem::size_of::<Option<A::State>>() as sys::idx_t
}

unsafe extern "C" fn init<A: Aggregate>(_info: sys::duckdb_function_info, state: sys::duckdb_aggregate_state) {
    // SAFETY: `state` points at `state_size` writable bytes, aligned to 8.
    unsafe { ptr::write(state as *mut Option<A::State>, Some(A::State::default())) };
}

/// The state in a slot.
///
/// # Safety
/// `slot` is a state slot initialised by `init` and not yet destroyed.
unsafe fn state_mut<'a, S: Default>(slot: sys::duckdb_aggregate_state) -> &'a mut S {
    // SAFETY: per the contract.
    unsafe { (*(slot as *mut Option<S>)).get_or_insert_with(S::default) }
}

fn report(info: sys::duckdb_function_info, result: Result<(), String>) {
    if let Err(e) = result {
        // SAFETY: `info` is the callback's function info.
        unsafe { sys::duckdb_aggregate_function_set_error(info, c_string(&e).as_ptr()) };
    }
}

/// # Safety
/// `info` is the callback's function info.
unsafe fn info_of<'a>(info: sys::duckdb_function_info) -> &'a Info {
    // SAFETY: the extra info is the `Info` we registered; it outlives callbacks.
    unsafe { &*(sys::duckdb_aggregate_function_get_extra_info(info) as *const Info) }
}

/// # Safety
/// `info` is the callback's function info.
unsafe fn name(info: sys::duckdb_function_info) -> String {
    // SAFETY: per the contract.
    unsafe { info_of(info).name.clone() }
}

unsafe extern "C" fn update<A: Aggregate>(
    info: sys::duckdb_function_info,
    input: sys::duckdb_data_chunk,
    states: *mut sys::duckdb_aggregate_state,
) {
    // SAFETY: DuckDB passes a flat input chunk and one state slot per row;
    // rows of one group share a slot, so each state is borrowed for one row
    // at a time only.
    unsafe {
        let chunk = Chunk::from_raw(input);
        let result = guard(&name(info), || {
            let cols = A::input(&chunk)?;
            let n = chunk.len();
            if n > 0 && (1..n).all(|row| *states.add(row) == *states) {
                return A::update_all(state_mut::<A::State>(*states), &cols, n);
            }
            for row in 0..n {
                let state = state_mut::<A::State>(*states.add(row));
                A::update(state, &cols, row)?;
            }
            Ok(())
        });
        report(info, result);
    }
}

unsafe extern "C" fn combine<A: Aggregate>(
    info: sys::duckdb_function_info,
    source: *mut sys::duckdb_aggregate_state,
    target: *mut sys::duckdb_aggregate_state,
    count: sys::idx_t,
) {
    // SAFETY: `count` source and target slots; sources are only read.
    unsafe {
        let result = guard(&name(info), || {
            for i in 0..count as usize {
                let (src, dst) = (*source.add(i), *target.add(i));
                if ptr::eq(src, dst) {
                    continue;
                }
                let Some(src) = &*(src as *const Option<A::State>) else { continue };
                A::combine(src, state_mut::<A::State>(dst))?;
            }
            Ok(())
        });
        report(info, result);
    }
}

unsafe extern "C" fn finalize<A: Aggregate>(
    info: sys::duckdb_function_info,
    source: *mut sys::duckdb_aggregate_state,
    result: sys::duckdb_vector,
    count: sys::idx_t,
    offset: sys::idx_t,
) {
    // SAFETY: `count` slots; results go to rows `offset..offset+count` of
    // `result`, whose capacity covers them.
    unsafe {
        let mut out = VectorMut::from_raw(result, (offset + count) as usize);
        let args = info_of(info).args;
        let outcome = guard(&name(info), || {
            for i in 0..count as usize {
                let state = state_mut::<A::State>(*source.add(i));
                A::finalize(state, &mut out, offset as usize + i, args)?;
            }
            Ok(())
        });
        report(info, outcome);
    }
}

unsafe extern "C" fn destroy<A: Aggregate>(states: *mut sys::duckdb_aggregate_state, count: sys::idx_t) {
    // SAFETY: each slot holds an initialised Option; taking it drops the
    // state once, even if DuckDB destroyed a slot twice.
    unsafe {
        for i in 0..count as usize {
            drop((*(*states.add(i) as *mut Option<A::State>)).take());
        }
    }
}
