//! Scalar function registration and the callback trampoline.

use std::ffi::c_void;

use libduckdb_sys as sys;

use super::vector::{Chunk, VectorMut};
use super::{Connection, LogicalType, c_string, guard};

/// A vectorised scalar function body: reads `input` (one column per
/// parameter) and writes `input.len()` rows into `output`. An `Err` becomes
/// the SQL error the user sees.
pub type ScalarFn = fn(&Chunk<'_>, &mut VectorMut<'_>) -> Result<(), String>;

struct Callback {
    name: String,
    func: ScalarFn,
}

/// A scalar function about to be registered.
pub struct ScalarFunction {
    name: String,
    params: Vec<LogicalType>,
    returns: LogicalType,
    func: ScalarFn,
    volatile: bool,
}

impl ScalarFunction {
    pub fn new(name: &str, params: Vec<LogicalType>, returns: LogicalType, func: ScalarFn) -> Self {
        Self { name: name.into(), params, returns, func, volatile: false }
    }

    /// Not constant-folded: evaluated for every row even on constant input.
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    pub fn register(self, con: &Connection) -> Result<(), String> {
        let name = c_string(&self.name);
        let callback = Box::into_raw(Box::new(Callback { name: self.name.clone(), func: self.func }));
        // SAFETY: the function handle is created, configured and destroyed
        // here; DuckDB copies it on registration and owns `callback` through
        // the destroy hook from then on.
        unsafe {
            let mut f = sys::duckdb_create_scalar_function();
            sys::duckdb_scalar_function_set_name(f, name.as_ptr());
            for p in &self.params {
                sys::duckdb_scalar_function_add_parameter(f, p.raw);
            }
            sys::duckdb_scalar_function_set_return_type(f, self.returns.raw);
            // We look at every row's validity ourselves.
            sys::duckdb_scalar_function_set_special_handling(f);
            if self.volatile {
                sys::duckdb_scalar_function_set_volatile(f);
            }
            sys::duckdb_scalar_function_set_extra_info(f, callback as *mut c_void, Some(drop_callback));
            sys::duckdb_scalar_function_set_function(f, Some(trampoline));
            let state = sys::duckdb_register_scalar_function(con.raw, f);
            sys::duckdb_destroy_scalar_function(&mut f);
            if state != sys::DuckDBSuccess {
                return Err(format!("mallard: could not register {}", self.name));
            }
        }
        Ok(())
    }
}

unsafe extern "C" fn drop_callback(data: *mut c_void) {
    // SAFETY: `data` is the Box leaked in `register`, dropped once by DuckDB.
    drop(unsafe { Box::from_raw(data as *mut Callback) });
}

unsafe extern "C" fn trampoline(
    info: sys::duckdb_function_info,
    input: sys::duckdb_data_chunk,
    output: sys::duckdb_vector,
) {
    // SAFETY: DuckDB passes the extra info we registered, a flattened input
    // chunk and an output vector sized for the chunk.
    unsafe {
        let callback = &*(sys::duckdb_scalar_function_get_extra_info(info) as *const Callback);
        let chunk = Chunk::from_raw(input);
        let mut out = VectorMut::from_raw(output, chunk.len());
        if let Err(message) = guard(&callback.name, || (callback.func)(&chunk, &mut out)) {
            sys::duckdb_scalar_function_set_error(info, c_string(&message).as_ptr());
        }
    }
}
